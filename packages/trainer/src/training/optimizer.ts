import { arenaBytes, FloatArena } from "./simd/float-arena.js";

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
  /**
   * One step: `params[i] -= update(gradScale * grads[i])`, in place; `grads` is not modified.
   * `gradScale` (default 1) folds the averaging of summed gradients into the same pass.
   */
  step(params: readonly Float32Array[], grads: readonly Float32Array[], gradScale?: number): void;
}

/** Where an optimizer keeps its state. */
export interface OptimizerOptions {
  /**
   * The arena the trainer's parameters and gradients live in: the optimizer allocates its
   * state there and updates them in place. Without it (or for arrays from elsewhere), it keeps
   * its own arena and copies each parameter and gradient through it.
   */
  readonly arena?: FloatArena;
}

/**
 * Creates an optimizer with PyTorch's update formulas (torch/optim/sgd.py, adam.py, adamw.py,
 * single-tensor path) in float32 as torch computes them, run by the SIMD kernels of
 * simd/kernels.wat. Throws RangeError naming the option and its range.
 */
export function createOptimizer(config: OptimizerConfig, options: OptimizerOptions = {}): Optimizer {
  const rule = config.kind === "sgd" ? sgdRule(resolveSgd(config)) : adamRule(resolveAdam(config));
  return new KernelOptimizer(rule, options.arena);
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

/** One optimizer's update, as kernel calls on arena arrays. */
interface UpdateRule {
  readonly config: Required<SgdConfig> | Required<AdamConfig>;
  /** State arrays per parameter (momentum buffer; Adam's two moments). */
  readonly stateArrays: number;
  /** Called once per step before the per-parameter updates; `t` is the step number from 1. */
  begin(t: number): void;
  update(arena: FloatArena, p: Float32Array, g: Float32Array, state: readonly Float32Array[], gradScale: number): void;
}

function sgdRule(config: Required<SgdConfig>): UpdateRule {
  const { lr, momentum, dampening, weightDecay, nesterov } = config;
  // torch.optim.sgd: d = g + wd * p; buf = d on the first step, then momentum * buf +
  // (1 - dampening) * d; p -= lr * (nesterov ? d + momentum * buf : buf).
  let first = true;
  return {
    config,
    stateArrays: momentum === 0 ? 0 : 1,
    begin: (t) => {
      first = t === 1;
    },
    update: (arena, p, g, state, gradScale) => {
      if (momentum === 0) {
        arena.kernels.sgd(p.byteOffset, g.byteOffset, p.length, lr, weightDecay, gradScale);
        return;
      }
      const [cd, cb] = nesterov ? [1, momentum] : [0, 1];
      arena.kernels.sgd_momentum(p.byteOffset, g.byteOffset, state[0]!.byteOffset, p.length, lr, weightDecay, gradScale, first ? 0 : momentum, first ? 1 : 1 - dampening, cd, cb);
    },
  };
}

function adamRule(config: Required<AdamConfig>): UpdateRule {
  const { kind, lr, betas, eps, weightDecay } = config;
  const [beta1, beta2] = betas;
  // adamw: p *= 1 - lr * wd (decoupled); adam: g += wd * p (coupled L2). torch: denom =
  // sqrt(v) / sqrt(1 - beta2^t) + eps; p -= lr / (1 - beta1^t) * m / denom.
  const decay = kind === "adamw" ? 1 - lr * weightDecay : 1;
  const coupled = kind === "adam" ? weightDecay : 0;
  let stepSize = 0;
  let invBc2Sqrt = 0;
  return {
    config,
    stateArrays: 2,
    begin: (t) => {
      stepSize = lr / (1 - beta1 ** t);
      invBc2Sqrt = 1 / Math.sqrt(1 - beta2 ** t);
    },
    update: (arena, p, g, [m, v], gradScale) => {
      arena.kernels.adam(p.byteOffset, g.byteOffset, m!.byteOffset, v!.byteOffset, p.length, gradScale, coupled, decay, beta1, beta2, stepSize, invBc2Sqrt, eps);
    },
  };
}

class KernelOptimizer implements Optimizer {
  readonly config: Required<SgdConfig> | Required<AdamConfig>;
  steps = 0;
  readonly #rule: UpdateRule;
  readonly #shared: FloatArena | undefined;
  #arena: FloatArena | undefined;
  #state: Float32Array[][] | undefined;
  /** Staging arrays for parameters and gradients that live outside the arena. */
  #staging: { p: Float32Array; g: Float32Array } | undefined;

  constructor(rule: UpdateRule, shared: FloatArena | undefined) {
    this.#rule = rule;
    this.config = rule.config;
    this.#shared = shared;
  }

  step(params: readonly Float32Array[], grads: readonly Float32Array[], gradScale = 1): void {
    checkShapes(params, grads, this.#state?.length ?? -1);
    if (!Number.isFinite(gradScale)) throw new RangeError(`gradScale must be finite, got ${gradScale}`);
    const arena = (this.#arena ??= this.#chooseArena(params, grads));
    const state = (this.#state ??= params.map((p) => Array.from({ length: this.#rule.stateArrays }, () => arena.floats(p.length))));
    this.#rule.begin(this.steps + 1);
    for (let k = 0; k < params.length; k++) {
      const p = params[k]!;
      const g = grads[k]!;
      if (arena.owns(p) && arena.owns(g)) {
        this.#rule.update(arena, p, g, state[k]!, gradScale);
        continue;
      }
      const staging = this.#staging!;
      const sp = staging.p.subarray(0, p.length);
      const sg = staging.g.subarray(0, g.length);
      sp.set(p);
      sg.set(g);
      this.#rule.update(arena, sp, sg, state[k]!, gradScale);
      p.set(sp);
    }
    this.steps++;
  }

  /** The shared arena when it holds every array, else one of our own with staging arrays. */
  #chooseArena(params: readonly Float32Array[], grads: readonly Float32Array[]): FloatArena {
    const shared = this.#shared;
    if (shared !== undefined && params.every((p) => shared.owns(p)) && grads.every((g) => shared.owns(g))) return shared;
    const stateBytes = params.reduce((n, p) => n + this.#rule.stateArrays * arenaBytes(p.length), 0);
    const largest = params.reduce((n, p) => Math.max(n, p.length), 0);
    const arena = new FloatArena(stateBytes + 2 * arenaBytes(largest));
    this.#staging = { p: arena.floats(largest), g: arena.floats(largest) };
    return arena;
  }
}
