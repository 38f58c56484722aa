import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { decodeSafetensors, encodeSafetensors, ProtocolError, validateDatasetArrays, type DatasetSummary, type RawTensor } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { parseCsvDataset } from "./csv-table.js";
import { decodeNpz } from "./npz.js";
import { tensorFromBytes, toRawTensor, type TensorMap, type TypedTensor } from "./typed-tensor.js";

/** Options of {@link readDatasetFile} for `.csv` files. */
export interface DatasetFileOptions {
  /** `.csv` only (required there): the label column. */
  readonly label?: string;
  /** `.csv` only: feature columns, in order; default all but the label. */
  readonly features?: readonly string[];
}

/** The safetensors metadata every dataset upload carries. */
export const DATASET_UPLOAD_FORMAT = "sanctum-dataset-v1";

/**
 * Reads a dataset file, chosen by extension: `.npz` and `.safetensors` hold one array per
 * model input plus `labels`; `.csv` is a table with a header row, read with `label` (and
 * optionally `features`) as {@link parseCsvDataset} says.
 */
export async function readDatasetFile(path: string, options: DatasetFileOptions = {}): Promise<Record<string, TypedTensor>> {
  const ext = extname(path).toLowerCase();
  if (ext !== ".npz" && ext !== ".safetensors" && ext !== ".csv") {
    throw new ClientError("invalid-file", `'${path}' is not a dataset file: use .npz or .safetensors (one array per model input plus 'labels') or .csv with --label COLUMN`);
  }
  if (ext !== ".csv" && (options.label !== undefined || options.features !== undefined)) {
    throw new ClientError("invalid-argument", "--label and --features apply to .csv files only; .npz and .safetensors name their arrays");
  }
  if (ext === ".csv" && options.label === undefined) throw new ClientError("invalid-argument", `'${path}' is a CSV file: say which column holds the labels with --label COLUMN`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new ClientError("invalid-file", `cannot read dataset file '${path}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause });
  }
  const what = `'${path}'`;
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ext === ".npz") return decodeNpz(view, what);
  if (ext === ".csv") return parseCsvDataset(bytes.toString("utf8"), { label: options.label!, ...(options.features === undefined ? {} : { features: options.features }), what });
  let raw: Record<string, RawTensor>;
  try {
    raw = decodeSafetensors(view).tensors;
  } catch (cause) {
    throw new ClientError("invalid-file", `${what}: ${(cause as Error).message}`, { cause });
  }
  const out: Record<string, TypedTensor> = {};
  for (const [name, t] of Object.entries(raw)) out[name] = tensorFromBytes(t.dtype, t.shape, t.data);
  return out;
}

/**
 * Checks a dataset as the server will (labels present, one first dimension, numeric
 * dtypes, no NaN or Infinity) and encodes it as the upload's safetensors bytes.
 */
export function encodeDatasetUpload(arrays: TensorMap): { bytes: Uint8Array; summary: DatasetSummary } {
  const raw: Record<string, RawTensor> = {};
  for (const [name, tensor] of Object.entries(arrays)) raw[name] = toRawTensor(tensor);
  try {
    const summary = validateDatasetArrays(raw);
    return { bytes: encodeSafetensors(raw, { format: DATASET_UPLOAD_FORMAT }), summary };
  } catch (cause) {
    if (cause instanceof ProtocolError) throw new ClientError("invalid-file", `the dataset is not valid: ${cause.message}`, { cause });
    throw cause;
  }
}
