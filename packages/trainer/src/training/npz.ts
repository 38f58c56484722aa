import { unzipSync, zipSync } from "fflate";
import { TrainerError } from "../trainer-error.js";

/** Element types of NumPy arrays this reader understands (little-endian, C order). */
export type NpyDtype = "float32" | "float64" | "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64" | "bool";

/** Typed array for each {@link NpyDtype} (bool is stored as one byte per element). */
export interface NpyDataMap {
  float32: Float32Array;
  float64: Float64Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}

/** One array: its dtype, shape and elements in C order. */
export type NpyArray = { [K in NpyDtype]: { readonly dtype: K; readonly shape: readonly number[]; readonly data: NpyDataMap[K] } }[NpyDtype];

const DESCR: Readonly<Record<string, NpyDtype>> = {
  "<f4": "float32", "<f8": "float64", "|i1": "int8", "|u1": "uint8", "<i2": "int16", "<u2": "uint16",
  "<i4": "int32", "<u4": "uint32", "<i8": "int64", "<u8": "uint64", "|b1": "bool",
};
const DESCR_OF: Readonly<Record<NpyDtype, string>> = Object.fromEntries(Object.entries(DESCR).map(([k, v]) => [v, k])) as Record<NpyDtype, string>;
const ITEM_BYTES: Readonly<Record<NpyDtype, number>> = {
  float32: 4, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1,
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

function fail(name: string, why: string): never {
  throw new TrainerError("invalid-npz", `array '${name}': ${why}; save it with numpy.savez (little-endian, C order, numeric dtype)`);
}

/** Parses one .npy file (format versions 1 to 3). `name` is only used in error messages. */
export function decodeNpy(bytes: Uint8Array, name = "array"): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(name, "not a .npy file (bad magic)");
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let offset: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(name, "truncated header");
    headerLength = view.getUint32(8, true);
    offset = 12;
  } else {
    fail(name, `unsupported .npy format version ${major}`);
  }
  if (offset + headerLength > bytes.length) fail(name, "truncated header");
  const header = new TextDecoder().decode(bytes.subarray(offset, offset + headerLength));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(name, "malformed header");
  const dtype = DESCR[descr === "<b1" ? "|b1" : descr === "<i1" ? "|i1" : descr === "<u1" ? "|u1" : descr];
  if (dtype === undefined) fail(name, `unsupported dtype '${descr}' (supported: ${Object.keys(DESCR).join(", ")})`);
  if (fortran === "True") fail(name, "Fortran-ordered arrays are not supported");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    const n = Number(s.replace(/L$/, ""));
    if (!Number.isSafeInteger(n) || n < 0) fail(name, `bad dimension '${s}'`);
    return n;
  });
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLength;
  const byteLength = count * ITEM_BYTES[dtype];
  if (bytes.length - start !== byteLength) fail(name, `holds ${bytes.length - start} data bytes, expected ${byteLength} for shape [${shape.join(", ")}]`);
  // Copy into a fresh, aligned buffer (the zip entry's offset is not aligned to the item size).
  const data = bytes.slice(start, start + byteLength).buffer;
  return { dtype, shape, data: makeTypedArray(dtype, data) } as NpyArray;
}

function makeTypedArray(dtype: NpyDtype, buffer: ArrayBuffer): NpyDataMap[NpyDtype] {
  switch (dtype) {
    case "float32": return new Float32Array(buffer);
    case "float64": return new Float64Array(buffer);
    case "int8": return new Int8Array(buffer);
    case "uint8": case "bool": return new Uint8Array(buffer);
    case "int16": return new Int16Array(buffer);
    case "uint16": return new Uint16Array(buffer);
    case "int32": return new Int32Array(buffer);
    case "uint32": return new Uint32Array(buffer);
    case "int64": return new BigInt64Array(buffer);
    case "uint64": return new BigUint64Array(buffer);
  }
}

/** Serializes one array as .npy format version 1.0 (header padded to 64 bytes, as NumPy does). */
export function encodeNpy(array: NpyArray): Uint8Array {
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  let header = `{'descr': '${DESCR_OF[array.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const data = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(10 + header.length + data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** Default cap on what an archive may unzip to (a zip bomb declares small data and inflates a lot). */
export const MAX_NPZ_UNZIPPED_BYTES = 4 * 2 ** 30;

/**
 * Reads every array of an .npz archive (as written by numpy.savez / savez_compressed). Refuses
 * archives whose members unzip to more than `maxBytes` in total (their declared sizes, which
 * also bound what is inflated).
 */
export function decodeNpz(bytes: Uint8Array, maxBytes = MAX_NPZ_UNZIPPED_BYTES): Map<string, NpyArray> {
  let entries: Record<string, Uint8Array>;
  let total = 0;
  try {
    entries = unzipSync(bytes, { filter: (file) => (total += file.originalSize) <= maxBytes });
  } catch (cause) {
    throw new TrainerError("invalid-npz", "not a valid .npz (zip) archive; save it with numpy.savez", { cause });
  }
  if (total > maxBytes) {
    throw new TrainerError("invalid-npz", `the .npz unzips to ${(total / 2 ** 30).toFixed(2)} GiB, more than the ${(maxBytes / 2 ** 30).toFixed(2)} GiB this reader accepts; split the data into smaller files`);
  }
  const out = new Map<string, NpyArray>();
  for (const [file, content] of Object.entries(entries)) {
    if (!file.endsWith(".npy")) continue;
    const name = file.slice(0, -4);
    out.set(name, decodeNpy(content, name));
  }
  return out;
}

/** Writes arrays as an uncompressed .npz archive readable by numpy.load. */
export function encodeNpz(arrays: ReadonlyMap<string, NpyArray> | Readonly<Record<string, NpyArray>>): Uint8Array {
  const entries = arrays instanceof Map ? [...arrays.entries()] : Object.entries(arrays);
  const files: Record<string, Uint8Array> = {};
  for (const [name, array] of entries) files[`${name}.npy`] = encodeNpy(array);
  return zipSync(files, { level: 0 });
}
