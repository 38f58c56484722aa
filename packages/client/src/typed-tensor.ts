import { create } from "@bufbuild/protobuf";
import { DTYPE_BYTES, isDtype, TensorSchema, type Dtype, type RawTensor, type Tensor } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";

/**
 * The typed array that holds each dtype's elements. float16 is kept as raw IEEE 754 half
 * bits (Node 20 has no Float16Array); bool is one byte per element, 0 or 1.
 */
export interface TensorDataMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}

/** A dense row-major tensor: `data` is the typed array of its dtype. */
export type TypedTensor<D extends Dtype = Dtype> = {
  [K in D]: { readonly dtype: K; readonly shape: readonly number[]; readonly data: TensorDataMap[K] };
}[D];

/** Named tensors, as models take and return them. */
export type TensorMap = Readonly<Record<string, TypedTensor>>;

type TypedArrayConstructor = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TensorDataMap[Dtype];
  new (length: number): TensorDataMap[Dtype];
};

const CONSTRUCTORS: Readonly<Record<Dtype, TypedArrayConstructor>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** The number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Makes a tensor after checking that the shape is a list of non-negative integers, that
 * `data` is the typed array of `dtype`, and that its length matches the shape.
 * @example createTensor("float32", new Float32Array([1, 2, 3, 4]), [2, 2])
 */
export function createTensor<D extends Dtype>(dtype: D, data: TensorDataMap[D], shape: readonly number[]): TypedTensor<D> {
  if (!isDtype(dtype)) throw new ClientError("invalid-tensor", `dtype must be one of float32, float64, float16, int8..int64, uint8..uint64, bool; got '${String(dtype)}'`);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ClientError("invalid-tensor", `shape must be non-negative integers, got [${shape.join(", ")}]`);
  }
  const ctor = CONSTRUCTORS[dtype];
  if (!(data instanceof ctor)) {
    throw new ClientError("invalid-tensor", `a ${dtype} tensor needs its data in a ${ctor.name}, got ${describe(data)}`);
  }
  const n = elementCount(shape);
  if (data.length !== n) {
    throw new ClientError("invalid-tensor", `shape [${shape.join(", ")}] holds ${n} elements but data has ${data.length}`);
  }
  return { dtype, shape: [...shape], data } as unknown as TypedTensor<D>;
}

/** Copies little-endian element bytes into a fresh, aligned typed array of `dtype`. */
export function tensorFromBytes(dtype: Dtype, shape: readonly number[], bytes: Uint8Array): TypedTensor {
  const width = DTYPE_BYTES[dtype];
  const n = elementCount(shape);
  if (bytes.byteLength !== n * width) {
    throw new ClientError("invalid-tensor", `a ${dtype} tensor of shape [${shape.join(", ")}] needs ${n * width} bytes, got ${bytes.byteLength}`);
  }
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  const data = new CONSTRUCTORS[dtype](copy, 0, n);
  if (dtype === "bool") {
    const b = data as Uint8Array;
    for (let i = 0; i < b.length; i++) {
      if (b[i]! > 1) throw new ClientError("invalid-tensor", `bool tensor element ${i} is neither 0 nor 1; bool elements must be 0 or 1`);
    }
  }
  return { dtype, shape: [...shape], data } as TypedTensor;
}

/** The tensor's elements as little-endian bytes (a view, no copy). */
export function tensorBytes(tensor: TypedTensor): Uint8Array {
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

/** The form digests and receipts speak of. */
export function toRawTensor(tensor: TypedTensor): RawTensor {
  return { dtype: tensor.dtype, shape: tensor.shape, data: tensorBytes(tensor) };
}

/** The wire message for a tensor. */
export function toWireTensor(tensor: TypedTensor): Tensor {
  return create(TensorSchema, { dtype: tensor.dtype, shape: tensor.shape.map((d) => BigInt(d)), data: tensorBytes(tensor) });
}

/** Checks and converts a wire tensor; `name` is used in messages. */
export function fromWireTensor(name: string, wire: Tensor): TypedTensor {
  if (!isDtype(wire.dtype)) throw new ClientError("invalid-tensor", `tensor '${name}' has unknown dtype '${wire.dtype.slice(0, 32)}'`);
  const shape = wire.shape.map((d) => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw new ClientError("invalid-tensor", `tensor '${name}' has an invalid dimension ${d}`);
    return Number(d);
  });
  try {
    return tensorFromBytes(wire.dtype, shape, wire.data);
  } catch (err) {
    if (err instanceof ClientError) throw new ClientError("invalid-tensor", `tensor '${name}': ${err.message}`, { cause: err });
    throw err;
  }
}

/** The raw form of named tensors, as `digestTensors` takes them. */
export function toRawTensors(tensors: TensorMap): Record<string, RawTensor> {
  const out: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = toRawTensor(t);
  return out;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return typeof value;
  return (value as object).constructor?.name ?? "an object";
}
