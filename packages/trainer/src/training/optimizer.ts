/** Configuration of an optimizer; a discriminated union on `kind`. */
export type OptimizerConfig = SgdConfig | AdamConfig;

/** Stochastic gradient descent, as `torch.optim.SGD`. */
export interface SgdConfig {
  readonly kind: "sgd";
  /** Learning rate, > 0. */
  readonly lr: number;
  /** Momentum factor in [0, 1); default 0 (plain SGD). */
  readonly momentum?: number;
  /** Dampening for momentum in [0, 1]; default 0. */
  readonly dampening?: number;
  /** L2 penalty added to the gradient (coupled), >= 0; default 0. */
  readonly weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0); default false. */
  readonly nesterov?: boolean;
}

/** Adam (`torch.optim.Adam`, coupled L2 weight decay) or AdamW (`torch.optim.AdamW`, decoupled). */
export interface AdamConfig {
  readonly kind: "adam" | "adamw";
  /** Learning rate, > 0. */
  readonly lr: number;
  /** Coefficients of the running averages, each in [0, 1); default [0.9, 0.999]. */
  readonly betas?: readonly [number, number];
  /** Added to the denominator for stability, > 0; default 1e-8. */
  readonly eps?: number;
  /** Weight decay >= 0; default 0 for adam, 0.01 for adamw (PyTorch's defaults). */
  readonly weightDecay?: number;
}

/**
 * Updates parameters in place from their gradients. Holds per-parameter state (momentum
 * buffers, moment estimates), so one optimizer serves one fixed list of parameters.
 */
export interface Optimizer {
  /** The resolved configuration (defaults filled in). */
  readonly config: Readonly<Required<SgdConfig>> | Readonly<Required<AdamConfig>>;
  /** Number of steps taken. */
  readonly steps: number;
  /** One step: `params[i] -= update(grads[i])`, in place. `grads` is not modified. */
  step(params: readonly Float32Array[], grads: readonly Float32Array[]): void;
}

/**
 * Creates an optimizer with PyTorch's exact update formulas (torch/optim/sgd.py, adam.py,
 * adamw.py, single-tensor path), computed in float64 per element and stored as float32.
 * Throws RangeError naming the option and its range.
 */
export function createOptimizer(config: OptimizerConfig): Optimizer {
  return config.kind === "sgd" ? new Sgd(resolveSgd(config)) : new Adam(resolveAdam(config));
}

function checkRange(name: string, value: number, ok: boolean, range: string): void {
  if (!ok || !Number.isFinite(value)) throw new RangeError(`${name} must be ${range}, got ${value}`);
}

function resolveSgd(c: SgdConfig): Required<SgdConfig> {
  const r: Required<SgdConfig> = {
    kind: "sgd",
    lr: c.lr,
    momentum: c.momentum ?? 0,
    dampening: c.dampening ?? 0,
    weightDecay: c.weightDecay ?? 0,
    nesterov: c.nesterov ?? false,
  };
  checkRange("lr", r.lr, r.lr > 0, "> 0");
  checkRange("momentum", r.momentum, r.momentum >= 0 && r.momentum < 1, "in [0, 1)");
  checkRange("dampening", r.dampening, r.dampening >= 0 && r.dampening <= 1, "in [0, 1]");
  checkRange("weightDecay", r.weightDecay, r.weightDecay >= 0, ">= 0");
  if (r.nesterov && (r.momentum <= 0 || r.dampening !== 0)) {
    throw new RangeError("nesterov needs momentum > 0 and dampening 0");
  }
  return r;
}

function resolveAdam(c: AdamConfig): Required<AdamConfig> {
  if (c.kind !== "adam" && c.kind !== "adamw") throw new RangeError(`optimizer kind must be sgd, adam or adamw, got ${String(c.kind)}`);
  const r: Required<AdamConfig> = {
    kind: c.kind,
    lr: c.lr,
    betas: c.betas ?? [0.9, 0.999],
    eps: c.eps ?? 1e-8,
    weightDecay: c.weightDecay ?? (c.kind === "adamw" ? 0.01 : 0),
  };
  checkRange("lr", r.lr, r.lr > 0, "> 0");
  checkRange("betas[0]", r.betas[0], r.betas[0] >= 0 && r.betas[0] < 1, "in [0, 1)");
  checkRange("betas[1]", r.betas[1], r.betas[1] >= 0 && r.betas[1] < 1, "in [0, 1)");
  checkRange("eps", r.eps, r.eps > 0, "> 0");
  checkRange("weightDecay", r.weightDecay, r.weightDecay >= 0, ">= 0");
  return r;
}

function checkShapes(params: readonly Float32Array[], grads: readonly Float32Array[], known: number): void {
  if (params.length !== grads.length) throw new RangeError(`got ${params.length} params but ${grads.length} grads`);
  if (known >= 0 && known !== params.length) throw new RangeError(`optimizer was used with ${known} params, now ${params.length}`);
  for (let i = 0; i < params.length; i++) {
    if (params[i]!.length !== grads[i]!.length) {
      throw new RangeError(`param ${i} has ${params[i]!.length} elements but its gradient ${grads[i]!.length}`);
    }
  }
}

class Sgd implements Optimizer {
  readonly config: Required<SgdConfig>;
  steps = 0;
  #buffers: Float32Array[] | undefined;

  constructor(config: Required<SgdConfig>) {
    this.config = config;
  }

  step(params: readonly Float32Array[], grads: readonly Float32Array[]): void {
    checkShapes(params, grads, this.#buffers?.length ?? -1);
    const { lr, momentum, dampening, weightDecay, nesterov } = this.config;
    // torch.optim.sgd: d = g + wd * p; buf = d (first step) or momentum * buf + (1 - dampening) * d;
    // d = d + momentum * buf (nesterov) or buf; p -= lr * d. One branch-free loop per case: this
    // runs over every parameter each step, so it is kept tight.
    if (momentum === 0) {
      for (let k = 0; k < params.length; k++) {
        const p = params[k]!;
        const g = grads[k]!;
        for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * (g[i]! + weightDecay * p[i]!);
      }
    } else {
      const first = this.#buffers === undefined;
      const buffers = (this.#buffers ??= params.map((p) => new Float32Array(p.length)));
      const keep = first ? 0 : momentum;
      const scale = first ? 1 : 1 - dampening;
      const ahead = nesterov ? momentum : 0;
      const useBuffer = nesterov ? 0 : 1;
      for (let k = 0; k < params.length; k++) {
        const p = params[k]!;
        const g = grads[k]!;
        const buf = buffers[k]!;
        for (let i = 0; i < p.length; i++) {
          const d = g[i]! + weightDecay * p[i]!;
          const b = keep * buf[i]! + scale * d;
          buf[i] = b;
          // nesterov: d + momentum * b; otherwise b (selected arithmetically, no branch).
          p[i] = p[i]! - lr * ((1 - useBuffer) * d + ahead * b + useBuffer * b);
        }
      }
    }
    this.steps++;
  }
}

class Adam implements Optimizer {
  readonly config: Required<AdamConfig>;
  steps = 0;
  #m: Float32Array[] | undefined;
  #v: Float32Array[] | undefined;

  constructor(config: Required<AdamConfig>) {
    this.config = config;
  }

  step(params: readonly Float32Array[], grads: readonly Float32Array[]): void {
    checkShapes(params, grads, this.#m?.length ?? -1);
    const { kind, lr, betas, eps, weightDecay } = this.config;
    const [beta1, beta2] = betas;
    const m = (this.#m ??= params.map((p) => new Float32Array(p.length)));
    const v = (this.#v ??= params.map((p) => new Float32Array(p.length)));
    const t = this.steps + 1;
    const biasCorrection1 = 1 - beta1 ** t;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** t);
    const stepSize = lr / biasCorrection1;
    // adamw: p *= 1 - lr * wd (decoupled); adam: g += wd * p (coupled L2). Hoisted out of the loop.
    const decay = kind === "adamw" ? 1 - lr * weightDecay : 1;
    const coupled = kind === "adam" ? weightDecay : 0;
    const invBc2Sqrt = 1 / biasCorrection2Sqrt;
    for (let k = 0; k < params.length; k++) {
      const p = params[k]!;
      const g = grads[k]!;
      const mk = m[k]!;
      const vk = v[k]!;
      for (let i = 0; i < p.length; i++) {
        const w = p[i]!;
        const grad = g[i]! + coupled * w;
        mk[i] = beta1 * mk[i]! + (1 - beta1) * grad;
        vk[i] = beta2 * vk[i]! + (1 - beta2) * grad * grad;
        // torch: denom = sqrt(v) / sqrt(bias_correction2) + eps; p -= (lr / bias_correction1) * m / denom,
        // with m and v as stored (float32).
        p[i] = w * decay - (stepSize * mk[i]!) / (Math.sqrt(vk[i]!) * invBc2Sqrt + eps);
      }
    }
    this.steps++;
  }
}
