import { TrainerError } from "../trainer-error.js";
import { attr } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";
import { staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";

/** Loss functions by name; each is per sample (mean over the sample's elements for mse and bce). */
export type LossName = "cross_entropy" | "mse" | "bce_with_logits";

/** The names a loss accepts. */
export const lossNames: readonly LossName[] = ["cross_entropy", "mse", "bce_with_logits"];

/** Per-sample loss [B] and d(sum_b mask_b loss_b)/d(output), emitted into the builder. */
export interface LossParts {
  readonly losses: string;
  readonly gradOutput: string;
  /** Element type and shape of the "labels" input. */
  readonly labels: { readonly dtype: number; readonly shape: readonly (number | string)[] };
}

/**
 * Emits the per-sample loss of `output` against the "labels" input, masked by "sample_mask".
 * cross_entropy: -log_softmax(z)[y] (logits [B, C], integer labels [B]);
 * mse: mean_j (z_j - y_j)^2; bce_with_logits: mean_j max(z,0) - z y + log(1 + e^-|z|)
 * (the stable form PyTorch uses).
 */
export function emitLoss(b: GraphBuilder, loss: LossName, output: string, info: TensorInfo, labels: string, mask: string): LossParts {
  const shape = info.shape;
  if (shape === undefined || info.batch === undefined || info.batch.axis !== 0 || info.batch.outer !== 1 || (shape[0]?.c ?? 0) !== 1) {
    throw new TrainerError("invalid-model", `output "${output}" must have the batch as its first axis`);
  }
  const rest = shape.slice(1).map((d) => staticDim(d));
  if (rest.some((d) => d === undefined)) throw new TrainerError("invalid-model", `output "${output}" must have static dimensions after the batch axis`);
  const dims = rest.map((d) => d ?? 0);
  const n = dims.reduce((a, c) => a * c, 1);
  const col = dims.map(() => 1);
  const maskCol = col.length === 0 ? mask : b.reshape(mask, [-1, ...col]);
  const axes = dims.map((_, i) => i + 1);
  if (loss === "cross_entropy") {
    if (dims.length !== 1) throw new TrainerError("invalid-argument", `loss: cross_entropy needs logits shaped [batch, classes]; "${output}" has ${dims.length + 1} axes`);
    const classes = dims[0] ?? 0;
    const lsm = b.op1("LogSoftmax", [output], [attr.int("axis", 1)]);
    const y = b.unsqueeze(labels, [1]);
    const picked = b.op1("GatherElements", [lsm, y], [attr.int("axis", 1)]);
    const l = b.neg(b.reshape(picked, [-1]));
    const onehot = b.cast(b.op1("Equal", [y, b.i64(Array.from({ length: classes }, (_, i) => i), [1, classes])]), 1);
    const grad = b.mul(b.sub(b.op1("Exp", [lsm]), onehot), maskCol);
    return { losses: b.mul(l, mask), gradOutput: grad, labels: { dtype: 7, shape: ["batch"] } };
  }
  const labelsInfo = { dtype: 1, shape: ["batch", ...dims] };
  if (loss === "mse") {
    const d = b.sub(output, labels);
    const l = axes.length === 0 ? b.mul(d, d) : b.reduceMean(b.mul(d, d), axes, false);
    return { losses: b.mul(l, mask), gradOutput: b.mul(b.scale(d, 2 / n), maskCol), labels: labelsInfo };
  }
  if (loss === "bce_with_logits") {
    const e = b.add(b.sub(b.op1("Relu", [output]), b.mul(output, labels)), b.op1("Softplus", [b.neg(b.op1("Abs", [output]))]));
    const l = axes.length === 0 ? e : b.reduceMean(e, axes, false);
    const grad = b.mul(b.scale(b.sub(b.op1("Sigmoid", [output]), labels), 1 / n), maskCol);
    return { losses: b.mul(l, mask), gradOutput: grad, labels: labelsInfo };
  }
  throw new TrainerError("invalid-argument", `loss: "${String(loss)}" is not one of ${lossNames.join(", ")}`);
}
