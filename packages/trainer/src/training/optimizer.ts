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
    const first = this.#buffers === undefined;
    if (momentum > 0 && this.#buffers === undefined) this.#buffers = params.map((p) => new Float32Array(p.length));
    for (let k = 0; k < params.length; k++) {
      const p = params[k]!;
      const g = grads[k]!;
      const buf = this.#buffers?.[k];
      for (let i = 0; i < p.length; i++) {
        // torch.optim.sgd: d_p = g + wd * p; buf = d_p (first step) or momentum * buf + (1 - dampening) * d_p;
        // d_p = d_p + momentum * buf (nesterov) or buf; p -= lr * d_p.
        let d = g[i]! + weightDecay * p[i]!;
        if (buf !== undefined) {
          const b = first ? d : momentum * buf[i]! + (1 - dampening) * d;
          buf[i] = b;
          d = nesterov ? d + momentum * b : b;
        }
        p[i] = p[i]! - lr * d;
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
    const decay = kind === "adamw" ? 1 - lr * weightDecay : 1;
    for (let k = 0; k < params.length; k++) {
      const p = params[k]!;
      const g = grads[k]!;
      const mk = m[k]!;
      const vk = v[k]!;
      for (let i = 0; i < p.length; i++) {
        // adamw: p *= 1 - lr * wd (decoupled); adam: g += wd * p (coupled L2).
        let w = p[i]! * decay;
        const grad = kind === "adam" ? g[i]! + weightDecay * p[i]! : g[i]!;
        const mi = beta1 * mk[i]! + (1 - beta1) * grad;
        const vi = beta2 * vk[i]! + (1 - beta2) * grad * grad;
        mk[i] = mi;
        vk[i] = vi;
        // torch: denom = sqrt(v) / sqrt(bias_correction2) + eps; p -= (lr / bias_correction1) * m / denom.
        w -= (stepSize * Math.fround(mi)) / (Math.sqrt(Math.fround(vi)) / biasCorrection2Sqrt + eps);
        p[i] = w;
      }
    }
    this.steps++;
  }
}
