import { readFile, writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { ClientError } from "./client-error.js";
import { decodeJsonTensors, encodeJsonTensors } from "./json-tensors.js";
import { decodeNpy, encodeNpy } from "./npy.js";
import { decodeNpz, encodeNpz } from "./npz.js";
import type { TensorMap, TypedTensor } from "./typed-tensor.js";

/**
 * A tensor file's contents: `.npz` and `.json` name their tensors; a `.npy` holds one
 * unnamed array (it feeds a single-input model).
 */
export type TensorFileContents =
  | { readonly format: "npy"; readonly tensor: TypedTensor }
  | { readonly format: "npz" | "json"; readonly tensors: Record<string, TypedTensor> };

const FORMATS = ".npz (arrays named by input name), .npy (single-input models) or .json ({\"NAME\": {\"dtype\", \"shape\", \"data\"}})";

/** Reads a `.npz`, `.npy` or `.json` tensor file, chosen by its extension. */
export async function readTensorFile(path: string): Promise<TensorFileContents> {
  const format = formatOf(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new ClientError("invalid-file", `cannot read tensor file '${path}': ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const what = `'${path}'`;
  switch (format) {
    case "npy":
      return { format, tensor: decodeNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), what) };
    case "npz":
      return { format, tensors: decodeNpz(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), what) };
    case "json":
      return { format, tensors: decodeJsonTensors(bytes.toString("utf8"), what) };
  }
}

/**
 * Writes named tensors to `.npz` (numpy.load reads it), `.json`, or `.npy` when there is
 * exactly one tensor. The file is created with mode 0600: it holds confidential outputs.
 */
export async function writeTensorFile(path: string, tensors: TensorMap): Promise<void> {
  const format = formatOf(path);
  let content: Uint8Array | string;
  if (format === "npz") content = encodeNpz(tensors);
  else if (format === "json") content = JSON.stringify(encodeJsonTensors(tensors)) + "\n";
  else {
    const all = Object.values(tensors);
    if (all.length !== 1) throw new ClientError("invalid-argument", `'${path}' is a .npy file, which holds one array, but there are ${all.length} tensors: use a .npz file`);
    content = encodeNpy(all[0]!);
  }
  try {
    await writeFile(path, content, { mode: 0o600 });
  } catch (cause) {
    throw new ClientError("invalid-file", `cannot write '${path}': ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

function formatOf(path: string): "npy" | "npz" | "json" {
  const ext = extname(path).toLowerCase();
  if (ext === ".npy" || ext === ".npz" || ext === ".json") return ext.slice(1) as "npy" | "npz" | "json";
  throw new ClientError("invalid-file", `'${path}' has an unknown tensor file extension: use ${FORMATS}`);
}
