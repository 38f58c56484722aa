import { TrainerError } from "../trainer-error.js";
import type { NpyArray, NpyDtype } from "./npz.js";

/**
 * One array of a dataset: dtype, shape (first axis = records) and elements in C order.
 * The same shape as what {@link decodeNpz} returns, so an .npz loads directly.
 */
export type DatasetArray = NpyArray;

/**
 * A dataset in memory: one array per model input, named as the input, plus `labels`.
 * Every array has the records on its first axis. Labels: integer class ids [N] for
 * `cross_entropy`; floats shaped like the model output for `mse` and `bce_with_logits`.
 * Arrays backed by a SharedArrayBuffer are shared with the training worker instead of copied.
 */
export interface TrainingDataset {
  readonly inputs: Readonly<Record<string, DatasetArray>>;
  readonly labels: DatasetArray;
}

/** A model input as the training graph declares it ("batch" or other names for dynamic axes). */
export interface DataInputSpec {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
}

type RowData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Uint32Array | BigUint64Array;

/** A validated array in the dtype the graph wants, with its per-record size. */
export interface PreparedArray {
  readonly name: string;
  readonly dtype: string;
  readonly rowShape: readonly number[];
  readonly rowLength: number;
  readonly data: RowData;
}

/** A dataset checked against the graph and converted to the graph's dtypes. */
export interface PreparedDataset {
  readonly size: number;
  readonly inputs: readonly PreparedArray[];
  readonly labels: PreparedArray;
}

const INTEGER: ReadonlySet<NpyDtype> = new Set(["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]);

function bad(role: string, message: string): never {
  throw new TrainerError("invalid-dataset", `${role} data: ${message}`);
}

function convert(role: string, name: string, array: DatasetArray, dtype: string): RowData {
  if (array.dtype === dtype) return array.data;
  if (dtype === "float32" && (array.dtype === "float64" || array.dtype === "float32")) return Float32Array.from(array.data as Float64Array);
  if (dtype === "int64" && INTEGER.has(array.dtype)) {
    const out = new BigInt64Array(array.data.length);
    const src = array.data;
    for (let i = 0; i < out.length; i++) out[i] = BigInt(src[i]!);
    return out;
  }
  if (dtype === "int32" && INTEGER.has(array.dtype) && array.dtype !== "int64" && array.dtype !== "uint64" && array.dtype !== "uint32") {
    return Int32Array.from(array.data as Int16Array);
  }
  return bad(role, `array '${name}' has dtype ${array.dtype} but the model input needs ${dtype}${dtype === "float32" ? " (or float64)" : dtype === "int64" ? " (or another integer type)" : ""}`);
}

/**
 * Checks a dataset against the graph's data inputs and the loss (names, dtypes, shapes,
 * record counts) and converts arrays to the graph's dtypes. Label ranges and label shapes for
 * regression are checked later against the model output ({@link checkLabels}).
 */
export function prepareDataset(dataset: TrainingDataset, specs: readonly DataInputSpec[], loss: string, role: "train" | "test"): PreparedDataset {
  if (typeof dataset !== "object" || dataset === null || typeof dataset.inputs !== "object" || dataset.labels === undefined) {
    return bad(role, "expected { inputs: { NAME: array }, labels: array }; put one array per model input and 'labels' in the .npz");
  }
  const expected = specs.map((s) => s.name);
  for (const name of Object.keys(dataset.inputs)) {
    if (!expected.includes(name)) bad(role, `array '${name}' is not a model input (model inputs: ${expected.join(", ")}; plus 'labels')`);
  }
  const labelsArray = dataset.labels;
  if (labelsArray.shape.length === 0) bad(role, "'labels' must have the records on its first axis, got a scalar");
  const size = labelsArray.shape[0]!;
  if (size < 1) bad(role, "the dataset has no records");
  const inputs = specs.map((spec): PreparedArray => {
    const array = dataset.inputs[spec.name];
    if (array === undefined) return bad(role, `missing array '${spec.name}' (model inputs: ${expected.join(", ")}; plus 'labels')`);
    if (array.shape.length !== spec.shape.length) {
      bad(role, `array '${spec.name}' has shape [${array.shape.join(", ")}] but the model input has rank ${spec.shape.length} ([${spec.shape.join(", ")}])`);
    }
    if (array.shape[0] !== size) bad(role, `array '${spec.name}' has ${array.shape[0]} records but 'labels' has ${size}`);
    for (let axis = 1; axis < spec.shape.length; axis++) {
      const want = spec.shape[axis];
      if (typeof want === "number" && want > 0 && array.shape[axis] !== want) {
        bad(role, `array '${spec.name}' has shape [${array.shape.join(", ")}] but the model input needs [${spec.shape.join(", ")}]`);
      }
    }
    const rowShape = array.shape.slice(1);
    return { name: spec.name, dtype: spec.dtype, rowShape, rowLength: rowShape.reduce((a, b) => a * b, 1), data: convert(role, spec.name, array, spec.dtype) };
  });
  let labels: PreparedArray;
  if (loss === "cross_entropy") {
    if (!INTEGER.has(labelsArray.dtype)) bad(role, `'labels' must hold integer class ids for cross_entropy, got dtype ${labelsArray.dtype}`);
    if (labelsArray.shape.length !== 1) bad(role, `'labels' must have shape [N] for cross_entropy, got [${labelsArray.shape.join(", ")}]`);
    labels = { name: "labels", dtype: "int64", rowShape: [], rowLength: 1, data: convert(role, "labels", labelsArray, "int64") };
  } else {
    if (labelsArray.dtype !== "float32" && labelsArray.dtype !== "float64") bad(role, `'labels' must be float32 or float64 for ${loss}, got dtype ${labelsArray.dtype}`);
    const rowShape = labelsArray.shape.slice(1);
    labels = { name: "labels", dtype: "float32", rowShape, rowLength: rowShape.reduce((a, b) => a * b, 1), data: convert(role, "labels", labelsArray, "float32") };
  }
  return { size, inputs, labels };
}

/**
 * Checks labels against the model output shape [batch, ...outputRow]: class ids in
 * [0, classes) for cross_entropy, label rows shaped like output rows otherwise.
 */
export function checkLabels(dataset: PreparedDataset, loss: string, outputRow: readonly number[], role: "train" | "test"): void {
  if (loss === "cross_entropy") {
    const classes = outputRow[outputRow.length - 1] ?? 1;
    const data = dataset.labels.data as BigInt64Array;
    // The message names neither the record nor the value: inside the TEE the caller may be a
    // data scientist who must never learn anything about a record.
    const limit = BigInt(classes);
    if (data.some((v) => v < 0n || v >= limit)) {
      bad(role, `some labels are outside [0, ${classes - 1}] (the model has ${classes} classes): class ids must be integers from 0 to ${classes - 1}`);
    }
  } else if (dataset.labels.rowShape.join(",") !== outputRow.join(",")) {
    bad(role, `'labels' rows have shape [${dataset.labels.rowShape.join(", ")}] but the model output rows have shape [${outputRow.join(", ")}]`);
  }
}

/**
 * Fixed-shape buffers for one physical batch: every run feeds onnxruntime the same shape, so it
 * plans memory once. Rows past the real records are padding (a copy of a real record, so that
 * e.g. attention masks stay valid) with sample_mask 0, which the graph excludes.
 */
export class BatchBuffers {
  readonly capacity: number;
  readonly inputs: RowData[];
  readonly labels: RowData;
  readonly mask: Float32Array;
  count = 0;

  constructor(dataset: PreparedDataset, capacity: number) {
    this.capacity = capacity;
    this.inputs = dataset.inputs.map((a) => allocate(a, capacity));
    this.labels = allocate(dataset.labels, capacity);
    this.mask = new Float32Array(capacity);
  }

  /** Copies the records `indices` (at most capacity) and pads the rest with copies of the first. */
  fill(dataset: PreparedDataset, indices: ArrayLike<number>): void {
    const n = indices.length;
    if (n > this.capacity || n === 0) throw new RangeError(`a physical batch holds 1 to ${this.capacity} records, got ${n}`);
    const arrays = [...dataset.inputs, dataset.labels];
    const targets = [...this.inputs, this.labels];
    for (let k = 0; k < arrays.length; k++) {
      const src = arrays[k]!;
      const dst = targets[k]!;
      const len = src.rowLength;
      for (let row = 0; row < this.capacity; row++) {
        const record = indices[row < n ? row : 0]!;
        (dst as Float32Array).set((src.data as Float32Array).subarray(record * len, record * len + len), row * len);
      }
    }
    this.mask.fill(1, 0, n);
    this.mask.fill(0, n);
    this.count = n;
  }
}

function allocate(array: PreparedArray, rows: number): RowData {
  const length = rows * array.rowLength;
  switch (array.dtype) {
    case "float32": return new Float32Array(length);
    case "float64": return new Float64Array(length);
    case "int64": return new BigInt64Array(length);
    case "int32": return new Int32Array(length);
    case "bool": case "uint8": return new Uint8Array(length);
    case "int8": return new Int8Array(length);
    case "int16": return new Int16Array(length);
    case "uint16": return new Uint16Array(length);
    case "uint32": return new Uint32Array(length);
    case "uint64": return new BigUint64Array(length);
    default: throw new TrainerError("invalid-model", `model input '${array.name}' has dtype ${array.dtype}, which training does not support`);
  }
}
