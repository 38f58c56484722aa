import { DTYPE_BYTES, type Dtype } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { elementCount, tensorBytes, tensorFromBytes, type TypedTensor } from "./typed-tensor.js";

// The .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// magic "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for 2.0 and 3.0),
// then a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded
// with spaces and ended by '\n', then the raw elements.
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/** numpy type codes (without byte order) of each dtype. */
const DESCR: Readonly<Record<Dtype, string>> = {
  float32: "f4",
  float64: "f8",
  float16: "f2",
  int8: "i1",
  int16: "i2",
  int32: "i4",
  int64: "i8",
  uint8: "u1",
  uint16: "u2",
  uint32: "u4",
  uint64: "u8",
  bool: "b1",
};
const BY_CODE = new Map<string, Dtype>(Object.entries(DESCR).map(([dtype, code]) => [code, dtype as Dtype]));

/**
 * Parses a .npy file. Every dtype of the wire is read (float16 as raw bits); big-endian
 * arrays are converted to little-endian; Fortran-ordered arrays are refused.
 * `what` names the file in messages.
 */
export function decodeNpy(bytes: Uint8Array, what = "the .npy data"): TypedTensor {
  const bad = (why: string) => new ClientError("invalid-file", `${what} is not a valid .npy array: ${why}`);
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad("it does not start with the NUMPY magic (save it with numpy.save)");
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw bad("the header is truncated");
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw bad(`format version ${major} is not supported (1, 2 and 3 are)`);
  }
  if (headerStart + headerLength > bytes.byteLength) throw bad("the header is truncated");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad("the header lacks descr, fortran_order or shape");
  if (fortran === "True") {
    throw new ClientError(
      "invalid-file",
      `${what} is stored in Fortran (column-major) order, which Sanctum does not read: save numpy.ascontiguousarray(a) instead`,
    );
  }
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const n = Number(s.replace(/L$/, ""));
      if (!Number.isSafeInteger(n) || n < 0) throw bad(`shape entry '${s}' is not a non-negative integer`);
      return n;
    });
  const order = descr[0];
  const code = order === "<" || order === ">" || order === "|" || order === "=" ? descr.slice(1) : descr;
  const dtype = BY_CODE.get(code === "?" ? "b1" : code);
  if (dtype === undefined) {
    throw new ClientError(
      "invalid-file",
      `${what} has numpy dtype '${descr}', which Sanctum does not support: convert it to float32, float64, float16, int8..int64, uint8..uint64 or bool`,
    );
  }
  const width = DTYPE_BYTES[dtype];
  const dataStart = headerStart + headerLength;
  const expected = elementCount(shape) * width;
  if (bytes.byteLength - dataStart !== expected) {
    throw bad(`shape (${shape.join(", ")}) of ${dtype} needs ${expected} data bytes, the file has ${bytes.byteLength - dataStart}`);
  }
  let data = bytes.subarray(dataStart);
  if (order === ">" && width > 1) data = byteSwapped(data, width);
  return tensorFromBytes(dtype, shape, data);
}

/** Writes a tensor as a version 1.0 .npy file (little-endian, C order), as numpy.save does. */
export function encodeNpy(tensor: TypedTensor): Uint8Array {
  const code = DESCR[tensor.dtype];
  const order = DTYPE_BYTES[tensor.dtype] === 1 ? "|" : "<";
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(", ")})`;
  let header = `{'descr': '${order}${code}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy pads so that the data starts at a multiple of 64 bytes, for aligned memory maps.
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const headerBytes = new TextEncoder().encode(header);
  const body = tensorBytes(tensor);
  const out = new Uint8Array(10 + headerBytes.byteLength + body.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.byteLength, true);
  out.set(headerBytes, 10);
  out.set(body, 10 + headerBytes.byteLength);
  return out;
}

function byteSwapped(data: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  for (let i = 0; i < data.byteLength; i += width) {
    for (let j = 0; j < width; j++) out[i + j] = data[i + width - 1 - j]!;
  }
  return out;
}
