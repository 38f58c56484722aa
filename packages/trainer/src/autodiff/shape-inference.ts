import type { GraphProto, NodeProto } from "../onnx/gen/onnx_pb.js";
import { OnnxDataType, tensorDims, tensorToNumbers } from "../onnx/tensor-data.js";
import { attrFloat, attrInt, attrInts, attrTensor } from "./attributes.js";
import {
  type Dim, dimAdd, dimDiv, dimEq, dimMul, dimNe, dimNeg, dimOf, dimProduct, staticDim, staticProduct,
} from "./sym-dim.js";
import { broadcastShapes, constNumbers, normAxis, poolShape, reduceAxes, reshapeShape, sliceParams, splitSizes } from "./shape-helpers.js";
import type { TensorInfo } from "./tensor-info.js";

const MAX_VALUE_ELEMENTS = 4096;

const sameShapeOps = new Set([
  "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Elu", "Selu", "Softplus", "Exp", "Log", "Neg", "Sqrt",
  "Abs", "Reciprocal", "Softmax", "LogSoftmax", "Identity", "Clip", "Floor", "Ceil", "Round", "Sign", "Not",
  "IsNaN", "IsInf", "InstanceNormalization", "LayerNormalization", "Gelu", "HardSigmoid", "Dropout", "Cast",
  "BatchNormalization", "Sin", "Cos", "HardSwish", "Gelu",
]);
const broadcastOps = new Set(["Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual",
  "GreaterOrEqual", "And", "Or", "Xor", "Where", "Min", "Max", "Mod", "Sum", "Mean", "PRelu"]);
const boolOps = new Set(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Not", "IsNaN", "IsInf"]);

/**
 * Infers dtypes, shapes (with B symbolic), small values and batch axes of every tensor, in
 * graph order (ONNX graphs are topologically sorted). `opset` selects attribute-vs-input forms.
 */
export function inferShapes(
  graph: GraphProto,
  opset: number,
  known: ReadonlyMap<string, TensorInfo>,
): Map<string, TensorInfo> {
  const infos = new Map<string, TensorInfo>(known);
  for (const node of graph.node) {
    const outs = inferNode(node, opset, (n) => (n === "" ? undefined : infos.get(n)));
    node.output.forEach((name, i) => {
      if (name === "") return;
      const info = outs[i] ?? { dtype: 0, shape: undefined };
      infos.set(name, withBatch(node, info, (n) => infos.get(n)));
    });
  }
  return infos;
}

function withBatch(node: NodeProto, info: TensorInfo, get: (n: string) => TensorInfo | undefined): TensorInfo {
  if (info.shape === undefined || node.opType === "Shape") return info;
  const axes = info.shape.map((d, i) => (d !== undefined && d.p === 1 ? i : -1)).filter((i) => i >= 0);
  if (axes.length !== 1 || info.shape.some((d) => d !== undefined && d.p > 1)) return info;
  const axis = axes[0] ?? 0;
  const dim = info.shape[axis];
  const ins = node.input.filter((n) => n !== "").map((n) => get(n));
  const op = node.opType;
  if (op === "Transpose") {
    const i = ins[0];
    if (i?.batch === undefined) return info;
    return { ...info, batch: { axis, outer: i.batch.outer } };
  }
  if (op === "Reshape" || op === "Flatten" || op === "Squeeze" || op === "Unsqueeze") {
    const i = ins[0];
    if (i?.batch === undefined || i.shape === undefined) return info;
    const before = staticProduct(i.shape.slice(0, i.batch.axis));
    const after = staticProduct(info.shape.slice(0, axis));
    if (before === undefined || after === undefined) return info;
    const pre = before * i.batch.outer;
    if (pre % after !== 0 || dim === undefined || dim.c % (pre / after) !== 0) return info;
    return { ...info, batch: { axis, outer: pre / after } };
  }
  for (const i of ins) {
    if (i?.batch === undefined || i.shape === undefined) continue;
    if (dimEq(i.shape[i.batch.axis], dim)) return { ...info, batch: { axis, outer: i.batch.outer } };
  }
  return info;
}

type Get = (name: string) => TensorInfo | undefined;

function inferNode(node: NodeProto, opset: number, get: Get): (TensorInfo | undefined)[] {
  const op = node.opType;
  const ins = node.input.map((n) => get(n));
  const x = ins[0];
  const xs = x?.shape;
  const dt = x?.dtype ?? 0;
  if (node.domain !== "" && node.domain !== "ai.onnx") return [];
  switch (op) {
    case "Constant": return [constantInfo(node)];
    case "Shape": {
      if (xs === undefined) return [{ dtype: OnnxDataType.INT64, shape: [undefined] }];
      const r = xs.length;
      const start = normAxis(Math.max(-r, Math.min(r, attrInt(node, "start", 0))), r);
      const end = normAxis(Math.max(-r, Math.min(r, attrInt(node, "end", r))), r);
      const v = xs.slice(start, Math.max(start, end));
      return [{ dtype: OnnxDataType.INT64, shape: [dimOf(v.length)], value: v }];
    }
    case "Size": return [{ dtype: OnnxDataType.INT64, shape: [], ...(xs ? { value: [dimProduct(xs)] } : {}) }];
    case "ConstantOfShape": {
      const shapeV = ins[0]?.value;
      const t = attrTensor(node, "value");
      const dtype = t?.dataType ?? OnnxDataType.FLOAT;
      const fill = t === undefined ? 0 : (tensorToNumbers(t)[0] ?? 0);
      if (shapeV === undefined) return [{ dtype, shape: ins[0]?.shape?.[0] !== undefined ? new Array<Dim>(staticDim(ins[0].shape[0]) ?? 0).fill(undefined) : undefined }];
      const n = staticProduct(shapeV);
      return [{ dtype, shape: shapeV, ...(n !== undefined && n <= MAX_VALUE_ELEMENTS ? { value: new Array<Dim>(n).fill(dimOf(fill)) } : {}) }];
    }
    case "Cast": {
      const to = attrInt(node, "to", 1);
      const value = x?.value?.map((d) => (d !== undefined && d.p === 0 && to !== OnnxDataType.FLOAT && to !== OnnxDataType.DOUBLE && to !== OnnxDataType.FLOAT16 ? dimOf(to === OnnxDataType.BOOL ? (d.c !== 0 ? 1 : 0) : Math.trunc(d.c)) : d));
      return [{ dtype: to, shape: xs, ...(value ? { value } : {}) }];
    }
    case "Dropout": return [{ dtype: dt, shape: xs }, { dtype: OnnxDataType.BOOL, shape: xs }];
    case "LayerNormalization": {
      if (xs === undefined) return [{ dtype: dt, shape: undefined }];
      const axis = normAxis(attrInt(node, "axis", -1), xs.length);
      const stat = xs.map((d, i) => (i < axis ? d : dimOf(1)));
      return [{ dtype: dt, shape: xs }, { dtype: OnnxDataType.FLOAT, shape: stat }, { dtype: OnnxDataType.FLOAT, shape: stat }];
    }
    case "BatchNormalization": return [{ dtype: dt, shape: xs }];
    case "MaxPool": case "AveragePool": case "Conv": {
      const out = poolShape(node, xs, op === "Conv" ? ins[1]?.shape : undefined);
      return op === "MaxPool" ? [{ dtype: dt, shape: out }, { dtype: OnnxDataType.INT64, shape: out }] : [{ dtype: dt, shape: out }];
    }
    case "GlobalAveragePool": case "GlobalMaxPool":
      return [{ dtype: dt, shape: xs?.map((d, i) => (i < 2 ? d : dimOf(1))) }];
    case "MatMul": {
      const a = xs, b = ins[1]?.shape;
      if (a === undefined || b === undefined || a.length < 2 || b.length < 2) return [{ dtype: dt, shape: undefined }];
      const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
      return [{ dtype: dt, shape: [...batch, a[a.length - 2], b[b.length - 1]] }];
    }
    case "Gemm": {
      const a = xs, b = ins[1]?.shape;
      if (a === undefined || b === undefined) return [{ dtype: dt, shape: undefined }];
      const m = attrInt(node, "transA", 0) ? a[1] : a[0];
      const n = attrInt(node, "transB", 0) ? b[0] : b[1];
      return [{ dtype: dt, shape: [m, n] }];
    }
    case "Flatten": {
      if (xs === undefined) return [{ dtype: dt, shape: undefined }];
      const axis = normAxis(attrInt(node, "axis", 1), xs.length);
      return [{ dtype: dt, shape: [dimProduct(xs.slice(0, axis)), dimProduct(xs.slice(axis))], ...passValue(x) }];
    }
    case "Reshape": return [{ dtype: dt, shape: reshapeShape(xs, ins[1]?.value, attrInt(node, "allowzero", 0) === 1), ...passValue(x) }];
    case "Squeeze": {
      const axes = opset >= 13 ? constNumbers(ins[1]) : attrInts(node, "axes");
      if (xs === undefined) return [{ dtype: dt, shape: undefined }];
      const r = xs.length;
      const drop = axes === undefined ? xs.map((d, i) => (dimEq(d, dimOf(1)) ? i : -1)) : axes.map((a) => normAxis(a, r));
      return [{ dtype: dt, shape: xs.filter((_, i) => !drop.includes(i)), ...passValue(x) }];
    }
    case "Unsqueeze": {
      const axes = opset >= 13 ? constNumbers(ins[1]) : attrInts(node, "axes");
      if (xs === undefined || axes === undefined) return [{ dtype: dt, shape: undefined }];
      const r = xs.length + axes.length;
      const add = axes.map((a) => normAxis(a, r));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) out.push(add.includes(i) ? dimOf(1) : xs[j++]);
      return [{ dtype: dt, shape: out, ...passValue(x) }];
    }
    case "Transpose": {
      if (xs === undefined) return [{ dtype: dt, shape: undefined }];
      const perm = attrInts(node, "perm") ?? xs.map((_, i) => xs.length - 1 - i);
      return [{ dtype: dt, shape: perm.map((p) => xs[p]) }];
    }
    case "Concat": {
      const shapes = ins.map((i) => i?.shape);
      if (shapes.some((s) => s === undefined)) return [{ dtype: dt, shape: undefined }];
      const first = shapes[0] ?? [];
      const axis = normAxis(attrInt(node, "axis", 0), first.length);
      let total: Dim = dimOf(0);
      for (const s of shapes) total = dimAdd(total, s?.[axis]);
      const shape = first.map((d, i) => (i === axis ? total : d));
      const values = ins.every((i) => i?.value !== undefined) && first.length === 1 ? ins.flatMap((i) => [...(i?.value ?? [])]) : undefined;
      return [{ dtype: dt, shape, ...(values ? { value: values } : {}) }];
    }
    case "Split": return splitInfos(node, opset, ins);
    case "Slice": return [sliceInfo(node, ins)];
    case "Expand": {
      const target = ins[1]?.value;
      if (xs === undefined || target === undefined) return [{ dtype: dt, shape: undefined }];
      return [{ dtype: dt, shape: broadcastShapes([xs, target]) }];
    }
    case "Gather": {
      const idx = ins[1];
      if (xs === undefined || idx?.shape === undefined) return [{ dtype: dt, shape: undefined }];
      const axis = normAxis(attrInt(node, "axis", 0), xs.length);
      const shape = [...xs.slice(0, axis), ...idx.shape, ...xs.slice(axis + 1)];
      let value: Dim[] | undefined;
      if (x?.value !== undefined && xs.length === 1 && idx.value !== undefined) {
        const n = staticDim(xs[0]);
        value = idx.value.map((d) => {
          const k = staticDim(d);
          return k === undefined || n === undefined ? undefined : x.value?.[k < 0 ? k + n : k];
        });
      }
      return [{ dtype: dt, shape, ...(value ? { value } : {}) }];
    }
    case "Range": {
      const [s, l, d] = [constNumbers(ins[0]), constNumbers(ins[1]), constNumbers(ins[2])];
      if (s === undefined || l === undefined || d === undefined) return [{ dtype: dt, shape: [undefined] }];
      const n = Math.max(0, Math.ceil(((l[0] ?? 0) - (s[0] ?? 0)) / (d[0] ?? 1)));
      const value = Array.from({ length: n }, (_, i) => dimOf((s[0] ?? 0) + i * (d[0] ?? 1)));
      return [{ dtype: dt, shape: [dimOf(n)], ...(n <= MAX_VALUE_ELEMENTS ? { value } : {}) }];
    }
    case "ReduceMean": case "ReduceSum": case "ReduceSumSquare": case "ReduceMax": case "ReduceMin":
    case "ReduceProd": case "ReduceL2": case "ReduceLogSumExp": {
      if (xs === undefined) return [{ dtype: dt, shape: undefined }];
      const axes = reduceAxes(node, opset, ins, xs.length);
      const keep = attrInt(node, "keepdims", 1) === 1;
      const shape = axes === undefined ? undefined : xs.flatMap((d, i) => (axes.includes(i) ? (keep ? [dimOf(1)] : []) : [d]));
      let value: Dim[] | undefined;
      if (op === "ReduceProd" && x?.value !== undefined && xs.length === 1 && !keep) value = [dimProduct(x.value)];
      return [{ dtype: dt, shape, ...(value ? { value } : {}) }];
    }
    case "ArgMax": case "ArgMin": {
      if (xs === undefined) return [{ dtype: OnnxDataType.INT64, shape: undefined }];
      const axis = normAxis(attrInt(node, "axis", 0), xs.length);
      const keep = attrInt(node, "keepdims", 1) === 1;
      return [{ dtype: OnnxDataType.INT64, shape: xs.flatMap((d, i) => (i === axis ? (keep ? [dimOf(1)] : []) : [d])) }];
    }
    case "Pad": {
      const pads = constNumbers(ins[1]);
      if (xs === undefined || pads === undefined) return [{ dtype: dt, shape: undefined }];
      const r = xs.length;
      const axes = node.input.length > 3 && node.input[3] !== "" ? constNumbers(ins[3])?.map((a) => normAxis(a, r)) : xs.map((_, i) => i);
      if (axes === undefined) return [{ dtype: dt, shape: undefined }];
      const shape = xs.map((d, i) => {
        const j = axes.indexOf(i);
        return j < 0 ? d : dimAdd(d, dimOf((pads[j] ?? 0) + (pads[j + axes.length] ?? 0)));
      });
      return [{ dtype: dt, shape }];
    }
    case "Tile": {
      const reps = constNumbers(ins[1]);
      if (xs === undefined || reps === undefined) return [{ dtype: dt, shape: undefined }];
      return [{ dtype: dt, shape: xs.map((d, i) => dimMul(d, dimOf(reps[i] ?? 1))) }];
    }
    case "NonZero": return [{ dtype: OnnxDataType.INT64, shape: xs ? [dimOf(xs.length), undefined] : undefined }];
    default: break;
  }
  if (broadcastOps.has(op)) {
    const operands = op === "Where" ? ins : ins;
    const shapes = operands.map((i) => i?.shape);
    const shape = shapes.every((s) => s !== undefined) ? broadcastShapes(shapes as Dim[][]) : undefined;
    const dtype = boolOps.has(op) ? OnnxDataType.BOOL : op === "Where" ? (ins[1]?.dtype ?? 0) : dt;
    return [{ dtype, shape, ...elementwiseValue(op, ins, shape) }];
  }
  if (sameShapeOps.has(op)) {
    const dtype = boolOps.has(op) ? OnnxDataType.BOOL : dt;
    const value = op === "Neg" && x?.value ? x.value.map(dimNeg) : op === "Identity" ? x?.value : undefined;
    return [{ dtype, shape: xs, ...(value ? { value } : {}) }];
  }
  return [];
}

function passValue(x: TensorInfo | undefined): { value?: readonly Dim[] } {
  return x?.value !== undefined ? { value: x.value } : {};
}

function constantInfo(node: NodeProto): TensorInfo {
  const t = attrTensor(node, "value");
  if (t !== undefined) {
    const dims = tensorDims(t);
    const n = dims.reduce((a, b) => a * b, 1);
    const value = n <= MAX_VALUE_ELEMENTS && t.dataType !== OnnxDataType.STRING ? tensorToNumbers(t).map(dimOf) : undefined;
    return { dtype: t.dataType, shape: dims.map(dimOf), ...(value ? { value } : {}) };
  }
  const a = node.attribute[0];
  if (a?.name === "value_int") return { dtype: OnnxDataType.INT64, shape: [], value: [dimOf(Number(a.i))] };
  if (a?.name === "value_ints") return { dtype: OnnxDataType.INT64, shape: [dimOf(a.ints.length)], value: a.ints.map((v) => dimOf(Number(v))) };
  if (a?.name === "value_float") return { dtype: OnnxDataType.FLOAT, shape: [], value: [dimOf(attrFloat(node, "value_float", 0))] };
  if (a?.name === "value_floats") return { dtype: OnnxDataType.FLOAT, shape: [dimOf(a.floats.length)], value: a.floats.map(dimOf) };
  return { dtype: 0, shape: undefined };
}

function elementwiseValue(op: string, ins: readonly (TensorInfo | undefined)[], shape: Dim[] | undefined): { value?: readonly Dim[] } {
  if (shape === undefined || shape.length > 1 || ins.some((i) => i?.value === undefined)) return {};
  const n = shape.length === 0 ? 1 : staticDim(shape[0]);
  if (n === undefined) return {};
  const at = (i: number, k: number): Dim => {
    const v = ins[i]?.value ?? [];
    return v.length === 1 ? v[0] : v[k];
  };
  const out: Dim[] = [];
  for (let k = 0; k < n; k++) {
    const a = at(0, k), b = at(1, k);
    switch (op) {
      case "Add": out.push(dimAdd(a, b)); break;
      case "Sub": out.push(dimAdd(a, dimNeg(b))); break;
      case "Mul": out.push(dimMul(a, b)); break;
      case "Div": out.push(dimDiv(a, b)); break;
      case "Equal": out.push(dimEq(a, b) ? dimOf(1) : dimNe(a, b) ? dimOf(0) : undefined); break;
      case "Where": {
        const c = staticDim(a);
        out.push(c === undefined ? undefined : c !== 0 ? b : at(2, k));
        break;
      }
      default: return {};
    }
  }
  return { value: out };
}

function splitInfos(node: NodeProto, opset: number, ins: readonly (TensorInfo | undefined)[]): TensorInfo[] {
  const x = ins[0];
  const xs = x?.shape;
  const dt = x?.dtype ?? 0;
  const n = node.output.length;
  if (xs === undefined) return new Array<TensorInfo>(n).fill({ dtype: dt, shape: undefined });
  const axis = normAxis(attrInt(node, "axis", 0), xs.length);
  const sizes = splitSizes(node, opset, ins, xs[axis]);
  return Array.from({ length: n }, (_, i) => ({ dtype: dt, shape: xs.map((d, j) => (j === axis ? (sizes?.[i] === undefined ? undefined : dimOf(sizes[i] ?? 0)) : d)) }));
}

function sliceInfo(node: NodeProto, ins: readonly (TensorInfo | undefined)[]): TensorInfo {
  const x = ins[0];
  const xs = x?.shape;
  const dt = x?.dtype ?? 0;
  const params = sliceParams(node, ins);
  if (xs === undefined || params === undefined) return { dtype: dt, shape: xs === undefined ? undefined : xs.map(() => undefined) };
  const shape: Dim[] = [...xs];
  for (const p of params) {
    if (p.end === Infinity) continue;
    shape[p.axis] = dimOf(Math.max(0, Math.ceil((p.end - p.start) / p.step)));
  }
  let value: Dim[] | undefined;
  const only = params[0];
  if (x?.value !== undefined && xs.length === 1 && params.length === 1 && only !== undefined && only.end !== Infinity) {
    value = [];
    for (let k = only.start; only.step > 0 ? k < only.end : k > only.end; k += only.step) value.push(x.value[k]);
  }
  return { dtype: dt, shape, ...(value ? { value } : {}) };
}

