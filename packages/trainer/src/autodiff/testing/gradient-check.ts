import * as ort from "onnxruntime-node";
import { readInitializers } from "../../onnx/initializers.js";
import { buildTrainingGraph } from "../build-training-graph.js";
import type { LossName } from "../losses.js";
import { randn } from "./tiny-model.js";

/** Result of comparing a training graph with finite differences and per-sample runs. */
export interface GradientCheck {
  /** |analytic - central difference| / max(|central difference|, 1e-2) of a random directional derivative. */
  readonly finiteDifferenceError: number;
  /** Relative error of DP per-sample norms vs. norms of single-sample plain gradients. */
  readonly normError: number;
  /** Relative error of the DP clipped sums vs. sum_i c_i g_i from single-sample gradients. */
  readonly clippedError: number;
}

type Data = Record<string, { dtype: "float32" | "int64"; shape: number[]; data: Float32Array | BigInt64Array }>;

/**
 * Checks the plain gradients of a model against central differences of the summed loss along
 * a random direction, and the DP graph's per-sample norms and clipped sums against
 * single-sample plain gradients (mask = one-hot).
 */
export async function checkGradients(model: Uint8Array, data: Data, loss: LossName, labels: ort.Tensor, options: { epsilon?: number; seed?: number; inputShapes?: Record<string, number[]>; nonPrivateOnly?: boolean } = {}): Promise<GradientCheck> {
  const eps = options.epsilon ?? 1e-2;
  const extra = options.inputShapes === undefined ? {} : { inputShapes: options.inputShapes };
  const plain = buildTrainingGraph(model, { loss, mode: "non-private", ...extra });
  const dp = buildTrainingGraph(model, { loss, mode: options.nonPrivateOnly === true ? "non-private" : "dp", ...extra });
  const inits = readInitializers(model);
  const b = labels.dims[0] ?? 1;
  const base: Record<string, ort.Tensor> = { labels };
  for (const [k, v] of Object.entries(data)) base[k] = v.dtype === "int64" ? new ort.Tensor("int64", v.data as BigInt64Array, v.shape) : new ort.Tensor("float32", v.data as Float32Array, v.shape);
  const params = plain.params.map((p) => ({ ...p, data: inits.get(p.name)?.data ?? new Float32Array() }));
  const feedParams = (shift: (name: string, x: Float32Array) => Float32Array): Record<string, ort.Tensor> =>
    Object.fromEntries(params.map((p) => [p.name, new ort.Tensor("float32", shift(p.name, p.data), [...p.shape])]));
  const mask = (m: Float32Array): ort.Tensor => new ort.Tensor("float32", m, [b]);
  const s1 = await ort.InferenceSession.create(plain.model);
  const s2 = await ort.InferenceSession.create(dp.model);
  try {
    const ones = new Float32Array(b).fill(1);
    const full = await s1.run({ ...base, ...feedParams((_, x) => x), sample_mask: mask(ones) });
    const dirs = new Map(params.map((p, i) => [p.name, randn(p.data.length, (options.seed ?? 7) * 31 + i)]));
    let analytic = 0;
    for (const p of params) {
      const g = full[`grad:${p.name}`]?.data as Float32Array;
      const d = dirs.get(p.name) ?? new Float32Array();
      for (let i = 0; i < g.length; i++) analytic += (g[i] ?? 0) * (d[i] ?? 0);
    }
    const lossAt = async (sign: number): Promise<number> => {
      const out = await s1.run({ ...base, ...feedParams((name, x) => x.map((v, i) => v + sign * eps * (dirs.get(name)?.[i] ?? 0))), sample_mask: mask(ones) });
      return Array.from(out["losses"]?.data as Float32Array).reduce((a, c) => a + c, 0);
    };
    const fd = ((await lossAt(1)) - (await lossAt(-1))) / (2 * eps);
    const finiteDifferenceError = Math.abs(analytic - fd) / Math.max(Math.abs(fd), 1e-2);
    if (options.nonPrivateOnly === true) return { finiteDifferenceError, normError: 0, clippedError: 0 };

    // Per-sample references from single-sample plain gradients.
    const perSample: Map<string, Float32Array>[] = [];
    const norms: number[] = [];
    for (let i = 0; i < b; i++) {
      const m = new Float32Array(b);
      m[i] = 1;
      const out = await s1.run({ ...base, ...feedParams((_, x) => x), sample_mask: mask(m) });
      const grads = new Map(params.map((p) => [p.name, out[`grad:${p.name}`]?.data as Float32Array]));
      perSample.push(grads);
      let sq = 0;
      for (const g of grads.values()) for (const v of g) sq += v * v;
      norms.push(Math.sqrt(sq));
    }
    const sortedNorms = [...norms].sort((x, y) => x - y);
    const c = (sortedNorms[Math.floor(b / 2)] ?? 1) * 0.999 + 1e-3;
    const out = await s2.run({ ...base, ...feedParams((_, x) => x), sample_mask: mask(ones), max_grad_norm: new ort.Tensor("float32", Float32Array.of(c), []) });
    const got = out["per_sample_grad_norms"]?.data as Float32Array;
    let normError = 0;
    const normScale = Math.max(...norms, 1e-6);
    norms.forEach((n, i) => { normError = Math.max(normError, Math.abs((got[i] ?? 0) - n) / normScale); });
    let clippedError = 0;
    for (const p of params) {
      const want = new Float64Array(p.data.length);
      perSample.forEach((grads, i) => {
        const f = Math.min(1, c / ((norms[i] ?? 0) + 1e-6));
        const g = grads.get(p.name) ?? new Float32Array();
        for (let j = 0; j < want.length; j++) want[j] = (want[j] ?? 0) + f * (g[j] ?? 0);
      });
      const have = out[`grad:${p.name}`]?.data as Float32Array;
      let diff = 0, scale = 1e-6;
      for (let j = 0; j < want.length; j++) { diff = Math.max(diff, Math.abs((have[j] ?? 0) - (want[j] ?? 0))); scale = Math.max(scale, Math.abs(want[j] ?? 0)); }
      clippedError = Math.max(clippedError, diff / scale);
    }
    return { finiteDifferenceError, normError, clippedError };
  } finally {
    await s1.release();
    await s2.release();
  }
}
