import { DTYPE_BYTES, type Dtype } from "./dtype.js";
import { ProtocolError } from "./protocol-error.js";
import type { RawTensor } from "./tensor-digest.js";

/** Element types a dataset array may have: the numeric types the trainer converts from. */
export const DATASET_DTYPES = ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"] as const;

/** One of {@link DATASET_DTYPES}. */
export type DatasetDtype = (typeof DATASET_DTYPES)[number];

/** The name of the array that holds the training targets. */
export const LABELS_ARRAY = "labels";

/** What a dataset is, without its values: what `dataset list` may show. */
export interface DatasetSummary {
  /** Records: the shared first dimension of every array. */
  readonly rows: number;
  /** Arrays in name order, with their full shapes (first dimension = rows). */
  readonly arrays: readonly { readonly name: string; readonly dtype: DatasetDtype; readonly shape: readonly number[] }[];
}

/** Options of {@link validateDatasetArrays}. */
export interface ValidateDatasetOptions {
  /** Most arrays accepted; default 64. */
  readonly maxArrays?: number;
}

const NAME_PATTERN = /^[\x21-\x7e]{1,256}$/;

function bad(message: string): never {
  throw new ProtocolError("invalid-dataset", message);
}

/**
 * Checks a dataset before it is accepted, on the client (to fail early) and again on the
 * server (which never trusts the client): a `labels` array and at least one feature array,
 * printable names, numeric dtypes, every array with the same first dimension >= 1, no zero
 * dimension, data of exactly numel x itemsize bytes, and no NaN or Infinity (the message
 * names the array and the record, never a value). Returns the summary.
 */
export function validateDatasetArrays(tensors: Readonly<Record<string, RawTensor>>, options: ValidateDatasetOptions = {}): DatasetSummary {
  const maxArrays = options.maxArrays ?? 64;
  const names = Object.keys(tensors).sort();
  if (names.length > maxArrays) bad(`the dataset has ${names.length} arrays, more than the ${maxArrays} allowed`);
  if (!names.includes(LABELS_ARRAY)) bad(`the dataset has no '${LABELS_ARRAY}' array: add the training targets as '${LABELS_ARRAY}' (CSV: --label COLUMN)`);
  if (names.length < 2) bad(`the dataset holds only '${LABELS_ARRAY}': add one array per model input`);
  let rows: number | undefined;
  let rowsFrom = "";
  const arrays: DatasetSummary["arrays"][number][] = [];
  for (const name of names) {
    if (!NAME_PATTERN.test(name)) bad(`array name ${JSON.stringify(name.slice(0, 64))} must be 1 to 256 printable ASCII characters without spaces`);
    const t = tensors[name]!;
    if (!(DATASET_DTYPES as readonly string[]).includes(t.dtype)) {
      bad(`array '${name}' has dtype ${t.dtype}; dataset arrays must be numeric: ${DATASET_DTYPES.join(", ")}`);
    }
    if (t.shape.length === 0) bad(`array '${name}' is a scalar: put the records on its first axis`);
    for (const d of t.shape) if (!Number.isSafeInteger(d) || d < 1) bad(`array '${name}' has shape [${t.shape.join(", ")}]: every dimension must be a positive integer`);
    if (rows === undefined) {
      rows = t.shape[0]!;
      rowsFrom = name;
    } else if (t.shape[0] !== rows) {
      bad(`array '${name}' has ${t.shape[0]} records but '${rowsFrom}' has ${rows}: every array needs the same first dimension`);
    }
    let numel = 1;
    for (const d of t.shape) numel *= d;
    if (t.data.byteLength !== numel * DTYPE_BYTES[t.dtype]) {
      bad(`array '${name}' of shape [${t.shape.join(", ")}] and dtype ${t.dtype} needs ${numel * DTYPE_BYTES[t.dtype]} bytes, got ${t.data.byteLength}`);
    }
    if (t.dtype === "float32" || t.dtype === "float64") checkFinite(name, t.dtype, t.data, numel / t.shape[0]!);
    arrays.push({ name, dtype: t.dtype as DatasetDtype, shape: [...t.shape] });
  }
  return { rows: rows!, arrays };
}

function checkFinite(name: string, dtype: Dtype, data: Uint8Array, rowLength: number): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = dtype === "float32" ? 4 : 8;
  const n = data.byteLength / width;
  for (let i = 0; i < n; i++) {
    const v = width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    if (!Number.isFinite(v)) {
      bad(`array '${name}' holds ${Number.isNaN(v) ? "NaN" : "Infinity"} in record ${Math.floor(i / rowLength)} (counting from 0): remove or impute missing values before uploading`);
    }
  }
}
