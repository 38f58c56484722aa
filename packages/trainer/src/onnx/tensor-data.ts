import { create } from "@bufbuild/protobuf";
import { TrainerError } from "../trainer-error.js";
import { type TensorProto, TensorProtoSchema, TensorProto_DataLocation } from "./gen/onnx_pb.js";

/** ONNX `TensorProto.DataType` numbers used by the trainer (onnx.proto, enum DataType). */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

const dtypeNames: Readonly<Record<number, string>> = {
  1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
  8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16",
};

/** The onnxruntime-style dtype name ("float32", "int64", ...) of an ONNX data type number. */
export function dtypeName(dataType: number): string {
  return dtypeNames[dataType] ?? `onnx-type-${dataType}`;
}

/** Dimensions of a tensor as numbers. */
export function tensorDims(t: TensorProto): number[] {
  return t.dims.map((d) => Number(d));
}

function elementCount(t: TensorProto): number {
  return tensorDims(t).reduce((a, b) => a * b, 1);
}

/** Throws when a tensor keeps its bytes outside the model file (not supported: models travel as one blob). */
export function assertInlineData(t: TensorProto): void {
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL || t.externalData.length > 0) {
    throw new TrainerError(
      "invalid-model",
      `initializer "${t.name}" uses ONNX external data; save the model as a single file (onnx.save(..., save_as_external_data=False))`,
    );
  }
}

function rawView(t: TensorProto): DataView {
  const raw = t.rawData;
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Values of a FLOAT, DOUBLE or FLOAT16-free numeric tensor as float32 (raw_data or typed fields). */
export function tensorToFloat32(t: TensorProto): Float32Array {
  assertInlineData(t);
  const n = elementCount(t);
  const out = new Float32Array(n);
  if (t.dataType === OnnxDataType.FLOAT) {
    if (t.rawData.length > 0) {
      checkRawLength(t, n * 4);
      const v = rawView(t);
      for (let i = 0; i < n; i++) out[i] = v.getFloat32(i * 4, true);
    } else {
      checkTypedLength(t, t.floatData.length, n);
      out.set(t.floatData);
    }
    return out;
  }
  if (t.dataType === OnnxDataType.DOUBLE) {
    if (t.rawData.length > 0) {
      checkRawLength(t, n * 8);
      const v = rawView(t);
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(i * 8, true);
    } else {
      checkTypedLength(t, t.doubleData.length, n);
      out.set(t.doubleData);
    }
    return out;
  }
  const ints = tensorToNumbers(t);
  out.set(ints);
  return out;
}

/** Values of an integer or bool tensor as numbers (int64 values beyond 2^53 lose precision). */
export function tensorToNumbers(t: TensorProto): number[] {
  assertInlineData(t);
  const n = elementCount(t);
  const dt = t.dataType;
  if (dt === OnnxDataType.FLOAT || dt === OnnxDataType.DOUBLE) return Array.from(tensorToFloat32(t));
  const widths: Record<number, number> = { 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 12: 4, 13: 8 };
  const w = widths[dt];
  if (w === undefined) {
    throw new TrainerError("invalid-model", `tensor "${t.name}" has data type ${dtypeName(dt)}, which the trainer cannot read`);
  }
  const out: number[] = new Array<number>(n);
  if (t.rawData.length > 0) {
    checkRawLength(t, n * w);
    const v = rawView(t);
    for (let i = 0; i < n; i++) {
      const o = i * w;
      switch (dt) {
        case OnnxDataType.UINT8: case OnnxDataType.BOOL: out[i] = v.getUint8(o); break;
        case OnnxDataType.INT8: out[i] = v.getInt8(o); break;
        case OnnxDataType.UINT16: out[i] = v.getUint16(o, true); break;
        case OnnxDataType.INT16: out[i] = v.getInt16(o, true); break;
        case OnnxDataType.INT32: out[i] = v.getInt32(o, true); break;
        case OnnxDataType.UINT32: out[i] = v.getUint32(o, true); break;
        case OnnxDataType.INT64: out[i] = Number(v.getBigInt64(o, true)); break;
        default: out[i] = Number(v.getBigUint64(o, true));
      }
    }
    return out;
  }
  if (dt === OnnxDataType.INT64) {
    checkTypedLength(t, t.int64Data.length, n);
    return t.int64Data.map((x) => Number(x));
  }
  if (dt === OnnxDataType.UINT64 || dt === OnnxDataType.UINT32) {
    checkTypedLength(t, t.uint64Data.length, n);
    return t.uint64Data.map((x) => Number(x));
  }
  checkTypedLength(t, t.int32Data.length, n);
  return [...t.int32Data];
}

function checkRawLength(t: TensorProto, expected: number): void {
  if (t.rawData.length !== expected) {
    throw new TrainerError("invalid-model", `tensor "${t.name}" has ${t.rawData.length} bytes of raw_data, expected ${expected} for its shape`);
  }
}

function checkTypedLength(t: TensorProto, got: number, expected: number): void {
  if (got !== expected) {
    throw new TrainerError("invalid-model", `tensor "${t.name}" holds ${got} values, expected ${expected} for its shape`);
  }
}

/** A FLOAT tensor with raw_data (little-endian, as ONNX requires). */
export function float32Tensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  const raw = new Uint8Array(data.length * 4);
  const v = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) v.setFloat32(i * 4, data[i] ?? 0, true);
  return create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType: OnnxDataType.FLOAT, rawData: raw });
}

/** An INT64 tensor with raw_data. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const raw = new Uint8Array(values.length * 8);
  const v = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) v.setBigInt64(i * 8, BigInt(values[i] ?? 0), true);
  return create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType: OnnxDataType.INT64, rawData: raw });
}

/** A BOOL tensor with raw_data. */
export function boolTensor(name: string, dims: readonly number[], values: readonly boolean[]): TensorProto {
  const raw = Uint8Array.from(values, (b) => (b ? 1 : 0));
  return create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType: OnnxDataType.BOOL, rawData: raw });
}
