import { isDtype, type Dtype } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { floatToHalf, halfToFloat } from "./float16.js";
import { createTensor, elementCount, type TensorDataMap, type TensorMap, type TypedTensor } from "./typed-tensor.js";

/**
 * One element as JSON: a number; for int64/uint64 a decimal string when the value is not a
 * safe integer (|v| > 2^53 - 1) so no precision is lost; for floats the strings "NaN",
 * "Infinity" and "-Infinity", which JSON cannot write as numbers; for bool true or false.
 * JSON keeps every value exactly except the sign of zero (-0 is written as 0); use .npz
 * where bit-exact floats matter.
 */
export type JsonElement = number | string | boolean;

/** A tensor in a JSON file: `{"dtype": "float32", "shape": [2, 3], "data": [...]}`. */
export interface JsonTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** The elements in row-major order (flat). Reading also accepts nested lists. */
  readonly data: readonly JsonElement[];
}

/**
 * Parses `{"NAME": {"dtype", "shape", "data"}}`. `data` may be flat or nested; float16 takes
 * numbers (rounded to the nearest half); int64/uint64 take safe integers or decimal strings;
 * bool takes true/false or 0/1. `what` names the file in messages.
 */
export function decodeJsonTensors(text: string, what = "the JSON tensors"): Record<string, TypedTensor> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ClientError("invalid-file", `${what} is not valid JSON`, { cause });
  }
  if (!isObject(parsed)) throw new ClientError("invalid-file", `${what} must be an object {"NAME": {"dtype", "shape", "data"}}`);
  const out: Record<string, TypedTensor> = {};
  for (const [name, value] of Object.entries(parsed)) out[name] = decodeOne(name, value, what);
  if (Object.keys(out).length === 0) throw new ClientError("invalid-file", `${what} holds no tensors`);
  return out;
}

/** Writes named tensors as JSON (flat data, see {@link JsonElement} for special values). */
export function encodeJsonTensors(tensors: TensorMap): Record<string, JsonTensor> {
  const out: Record<string, JsonTensor> = {};
  for (const [name, tensor] of Object.entries(tensors)) out[name] = { dtype: tensor.dtype, shape: [...tensor.shape], data: jsonElements(tensor) };
  return out;
}

/** A tensor's elements as JSON values. */
export function jsonElements(tensor: TypedTensor): JsonElement[] {
  switch (tensor.dtype) {
    case "bool":
      return Array.from(tensor.data, (v) => v !== 0);
    case "float16":
      return Array.from(tensor.data, (v) => jsonFloat(halfToFloat(v)));
    case "float32":
    case "float64":
      return Array.from(tensor.data, jsonFloat);
    case "int64":
    case "uint64":
      return Array.from(tensor.data as BigInt64Array | BigUint64Array, (v: bigint) => {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : v.toString();
      });
    default:
      return Array.from(tensor.data as ArrayLike<number>);
  }
}

function jsonFloat(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

function decodeOne(name: string, value: unknown, what: string): TypedTensor {
  const bad = (why: string) => new ClientError("invalid-file", `tensor '${name}' in ${what}: ${why}`);
  if (!isObject(value)) throw bad(`expected {"dtype", "shape", "data"}`);
  const dtype = value["dtype"];
  if (typeof dtype !== "string" || !isDtype(dtype)) {
    throw bad(`dtype must be one of float32, float64, float16, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool; got ${JSON.stringify(dtype)?.slice(0, 32)}`);
  }
  const shape = value["shape"];
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
    throw bad("shape must be a list of non-negative integers, e.g. [1, 3]");
  }
  const dims = shape as number[];
  const flat = (Array.isArray(value["data"]) ? (value["data"] as unknown[]) : [value["data"]]).flat(Infinity);
  const n = elementCount(dims);
  if (flat.length !== n) throw bad(`shape [${dims.join(", ")}] holds ${n} elements but data has ${flat.length}`);
  try {
    return createTensor(dtype, typedData(dtype, flat), dims) as TypedTensor;
  } catch (err) {
    if (err instanceof ElementError) throw bad(`data[${err.index}] ${err.message}`);
    throw err;
  }
}

class ElementError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

function typedData<D extends Dtype>(dtype: D, flat: readonly unknown[]): TensorDataMap[D] {
  const n = flat.length;
  switch (dtype) {
    case "float32":
    case "float64":
    case "float16": {
      const values = flat.map((v, i) => floatOf(v, i));
      if (dtype === "float16") return Uint16Array.from(values, floatToHalf) as TensorDataMap[D];
      return (dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values)) as TensorDataMap[D];
    }
    case "bool":
      return Uint8Array.from(flat, (v, i) => {
        if (v === true || v === 1) return 1;
        if (v === false || v === 0) return 0;
        throw new ElementError(i, "must be true, false, 0 or 1");
      }) as TensorDataMap[D];
    case "int64":
    case "uint64": {
      const out = dtype === "int64" ? new BigInt64Array(n) : new BigUint64Array(n);
      const [lo, hi] = dtype === "int64" ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      flat.forEach((v, i) => {
        let b: bigint;
        if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
        else if (typeof v === "string" && /^-?\d+$/.test(v)) b = BigInt(v);
        else throw new ElementError(i, `must be an integer (a number up to 2^53, or a decimal string beyond)`);
        if (b < lo || b > hi) throw new ElementError(i, `is out of the ${dtype} range`);
        out[i] = b;
      });
      return out as TensorDataMap[D];
    }
    default: {
      const [lo, hi] = INT_RANGES[dtype]!;
      const values = flat.map((v, i) => {
        if (typeof v !== "number" || !Number.isInteger(v)) throw new ElementError(i, `must be an integer`);
        if (v < lo || v > hi) throw new ElementError(i, `is out of the ${dtype} range [${lo}, ${hi}]`);
        return v;
      });
      const ctor = { int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array }[
        dtype as "int8"
      ];
      return ctor.from(values) as TensorDataMap[D];
    }
  }
}

function floatOf(v: unknown, i: number): number {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  throw new ElementError(i, `must be a number (or "NaN", "Infinity", "-Infinity")`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
