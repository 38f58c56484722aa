import type { ValueInfoProto } from "../onnx/gen/onnx_pb.js";
import { OnnxDataType, dtypeName } from "../onnx/tensor-data.js";
import { TrainerError } from "../trainer-error.js";
import { valueInfo } from "./model-analysis.js";
import { BATCH, type Dim, dimOf, staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";

/** A data input as the training graph declares it. */
export interface DataInput {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
}

/**
 * Shapes of the model's data inputs with axis 0 the batch, non-batch sizes from the model
 * or from `pinned` (for axes exported as dynamic). Returns what shape inference starts
 * from, the public description, and the ValueInfos of the training graph's inputs.
 */
export function resolveDataInputs(inputs: readonly ValueInfoProto[], pinned: Readonly<Record<string, readonly number[]>>): { infos: Map<string, TensorInfo>; described: DataInput[]; valueInfos: ValueInfoProto[] } {
  for (const name of Object.keys(pinned)) {
    if (!inputs.some((d) => d.name === name)) throw new TrainerError("invalid-argument", `options.inputShapes: "${name}" is not a data input of the model`);
  }
  const infos = new Map<string, TensorInfo>();
  const described: DataInput[] = [];
  const valueInfos: ValueInfoProto[] = [];
  for (const vi of inputs) {
    const t = vi.type?.value.case === "tensorType" ? vi.type.value.value : undefined;
    const dims = t?.shape?.dim ?? [];
    const fixed = pinned[vi.name];
    if (fixed !== undefined) {
      const ok = fixed.length === dims.length - 1 && fixed.every((n, i) => Number.isInteger(n) && n >= 1 && (dims[i + 1]?.value.case !== "dimValue" || Number(dims[i + 1]?.value.value) === n));
      if (!ok) throw new TrainerError("invalid-argument", `options.inputShapes.${vi.name}: expected ${dims.length - 1} positive sizes after the batch axis that agree with the model's static sizes`);
    }
    const shape: Dim[] = dims.map((d, i) => (i === 0 ? BATCH : fixed !== undefined ? dimOf(fixed[i - 1] ?? 0) : d.value.case === "dimValue" ? dimOf(Number(d.value.value)) : undefined));
    const dtype = t?.elemType ?? OnnxDataType.FLOAT;
    infos.set(vi.name, { dtype, shape, batch: { axis: 0, outer: 1 } });
    const publicShape = shape.map((d, i) => (i === 0 ? "batch" : (staticDim(d) ?? (dims[i]?.value.case === "dimParam" ? String(dims[i]?.value.value) : "?"))));
    described.push({ name: vi.name, dtype: dtypeName(dtype), shape: publicShape });
    valueInfos.push(fixed === undefined ? vi : valueInfo(vi.name, dtype, publicShape));
  }
  return { infos, described, valueInfos };
}
