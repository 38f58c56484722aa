import * as ort from "onnxruntime-node";
import type { Dtype } from "@sanctum/protocol";
import { isDtype } from "@sanctum/protocol";
import type { WorkerTensor } from "./wire-tensor.js";

/**
 * ONNX Runtime's tensor type names for ours. float16 travels as its raw bits in a
 * Uint16Array (Node 20 has no Float16Array); bool as one byte per element.
 */
const ORT_TYPE: Readonly<Record<Dtype, ort.Tensor.Type>> = {
  float32: "float32",
  float64: "float64",
  float16: "float16",
  int8: "int8",
  int16: "int16",
  int32: "int32",
  int64: "int64",
  uint8: "uint8",
  uint16: "uint16",
  uint32: "uint32",
  uint64: "uint64",
  bool: "bool",
};

/** Our dtype for an ONNX Runtime type name, or undefined when we do not carry it (string, float8...). */
export function dtypeFromOrt(type: string): Dtype | undefined {
  return isDtype(type) ? type : undefined;
}

/** A typed-array view over the tensor's buffer, without copying. */
export function viewOf(dtype: Dtype, buffer: ArrayBuffer): ort.Tensor.DataType {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer);
    case "float64":
      return new Float64Array(buffer);
    case "float16":
    case "uint16":
      return new Uint16Array(buffer);
    case "int8":
      return new Int8Array(buffer);
    case "int16":
      return new Int16Array(buffer);
    case "int32":
      return new Int32Array(buffer);
    case "int64":
      return new BigInt64Array(buffer);
    case "uint8":
    case "bool":
      return new Uint8Array(buffer);
    case "uint32":
      return new Uint32Array(buffer);
    case "uint64":
      return new BigUint64Array(buffer);
  }
}

/** An ort.Tensor over the worker tensor's buffer (no copy). */
export function toOrtTensor(t: WorkerTensor): ort.Tensor {
  return new ort.Tensor(ORT_TYPE[t.dtype], viewOf(t.dtype, t.buffer) as Float32Array, t.dims);
}

/** The bytes of an ort output as a worker tensor; the buffer is shared when it covers exactly the data. */
export function fromOrtTensor(t: ort.Tensor): WorkerTensor {
  const dtype = dtypeFromOrt(t.type);
  if (dtype === undefined) throw new TypeError(`output type ${t.type} is not supported`);
  const data = t.data;
  if (typeof data === "string" || !ArrayBuffer.isView(data)) throw new TypeError(`output type ${t.type} is not numeric`);
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
  const buffer = whole
    ? (data.buffer as ArrayBuffer)
    : (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
  return { dtype, dims: [...t.dims], buffer };
}
