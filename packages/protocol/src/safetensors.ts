import { DTYPE_BYTES, type Dtype } from "./dtype.js";
import { ProtocolError } from "./protocol-error.js";
import type { RawTensor } from "./tensor-digest.js";

/**
 * The safetensors format (https://github.com/huggingface/safetensors, "Format"): an 8-byte
 * little-endian header length N, N bytes of JSON
 * `{"NAME": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
 * then the byte buffer the offsets index (little-endian, row-major). Sanctum streams datasets
 * in this form: a parser needs no code execution (unlike pickle) and no decompression.
 */
export interface SafetensorsContents {
  /** Tensors by name; `data` views the input bytes (no copy). */
  readonly tensors: Record<string, RawTensor>;
  /** The optional `__metadata__` string map. */
  readonly metadata: Record<string, string>;
}

/** Options of {@link decodeSafetensors}. */
export interface DecodeSafetensorsOptions {
  /** Largest JSON header accepted, in bytes; default 100 MB (the reference implementation's limit). */
  readonly maxHeaderBytes?: number;
  /** Most tensors accepted; default 10000. */
  readonly maxTensors?: number;
}

const TO_DTYPE: Readonly<Record<string, Dtype>> = {
  F32: "float32", F64: "float64", F16: "float16", I8: "int8", I16: "int16", I32: "int32", I64: "int64",
  U8: "uint8", U16: "uint16", U32: "uint32", U64: "uint64", BOOL: "bool",
};
const FROM_DTYPE: Readonly<Record<Dtype, string>> = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<Dtype, string>;

function bad(message: string): never {
  throw new ProtocolError("invalid-safetensors", `not a valid safetensors file: ${message}`);
}

/**
 * Parses and checks a safetensors file: header length within the file, JSON object header,
 * known dtypes, non-negative integer shapes, and data offsets that tile the buffer exactly
 * (sorted, contiguous, no gap or overlap, each of numel x itemsize bytes), as the reference
 * implementation requires. Throws `invalid-safetensors` naming what is wrong (never data).
 */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeSafetensorsOptions = {}): SafetensorsContents {
  const maxHeaderBytes = options.maxHeaderBytes ?? 100_000_000;
  const maxTensors = options.maxTensors ?? 10_000;
  if (bytes.byteLength < 8) bad(`${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes)) bad(`header of ${headerLength} bytes exceeds the limit of ${maxHeaderBytes}`);
  const n = Number(headerLength);
  if (8 + n > bytes.byteLength) bad(`header of ${n} bytes runs past the end of the ${bytes.byteLength}-byte file (truncated?)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    bad("the header is not UTF-8 JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) bad("the header is not a JSON object");
  const buffer = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) bad("__metadata__ must be an object of strings");
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") bad(`__metadata__.${k.slice(0, 64)} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (entries.length >= maxTensors) bad(`more than ${maxTensors} tensors`);
    const label = `tensor '${name.slice(0, 128)}'`;
    if (typeof value !== "object" || value === null) bad(`${label} is not an object`);
    const v = value as Record<string, unknown>;
    const dtype = typeof v["dtype"] === "string" ? TO_DTYPE[v["dtype"]] : undefined;
    if (dtype === undefined) bad(`${label} has dtype ${JSON.stringify(v["dtype"])}; supported: ${Object.keys(TO_DTYPE).join(", ")}`);
    const shape = v["shape"];
    if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && (d as number) >= 0)) {
      bad(`${label} has a shape that is not a list of non-negative integers`);
    }
    const offsets = v["data_offsets"];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o): o is number => Number.isSafeInteger(o) && (o as number) >= 0)) {
      bad(`${label} has data_offsets that are not two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    let numel = 1;
    for (const d of shape) numel *= d;
    if (end < begin || end - begin !== numel * DTYPE_BYTES[dtype]) {
      bad(`${label} of shape [${shape.join(", ")}] and dtype ${dtype} needs ${numel * DTYPE_BYTES[dtype]} bytes but its offsets span ${end - begin}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) bad(`tensor '${e.name.slice(0, 128)}' starts at byte ${e.begin} but the previous one ends at ${at} (gap or overlap)`);
    at = e.end;
  }
  if (at !== buffer.byteLength) bad(`the tensors cover ${at} bytes but the data holds ${buffer.byteLength}`);
  const tensors: Record<string, RawTensor> = {};
  for (const e of entries) tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: buffer.subarray(e.begin, e.end) };
  return { tensors, metadata };
}

/**
 * Encodes tensors as safetensors, in name order, with the header padded with spaces to a
 * multiple of 8 bytes (as the reference implementation does, so the buffer is aligned).
 */
export function encodeSafetensors(tensors: Readonly<Record<string, RawTensor>>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header["__metadata__"] = { ...metadata };
  const names = Object.keys(tensors).sort();
  let at = 0;
  for (const name of names) {
    if (name === "__metadata__") throw new ProtocolError("invalid-safetensors", "a tensor cannot be named __metadata__");
    const t = tensors[name]!;
    let numel = 1;
    for (const d of t.shape) numel *= d;
    if (t.data.byteLength !== numel * DTYPE_BYTES[t.dtype]) {
      throw new ProtocolError("invalid-safetensors", `tensor '${name}' of shape [${t.shape.join(", ")}] and dtype ${t.dtype} needs ${numel * DTYPE_BYTES[t.dtype]} bytes, got ${t.data.byteLength}`);
    }
    header[name] = { dtype: FROM_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [at, at + t.data.byteLength] };
    at += t.data.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - (json.length % 8)) % 8;
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let offset = 8 + json.length;
  for (const name of names) {
    const data = tensors[name]!.data;
    out.set(data, offset);
    offset += data.byteLength;
  }
  return out;
}
