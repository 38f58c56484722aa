/** Element types a tensor may have on the wire: every numeric type ONNX Runtime supports, plus bool. */
export const DTYPES = [
  "float32",
  "float64",
  "float16",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "bool",
] as const;

export type Dtype = (typeof DTYPES)[number];

/** Bytes per element of each dtype (bool is stored as one byte, 0 or 1). */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
};

export function isDtype(value: string): value is Dtype {
  return (DTYPES as readonly string[]).includes(value);
}
