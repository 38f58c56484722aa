import { TrainerError } from "../trainer-error.js";
import { attr, attrFloat, attrInt, attrInts, attrString } from "./attributes.js";
import { blockedRows, convGeometry, convGradRows, convWeightGrad } from "./conv-unfold.js";
import { summedGroupedConvWeightGrad } from "./conv-per-sample-grouped.js";
import { separableMaxPool, separableMaxPoolGrad } from "./max-pool-grad.js";
import { polyphaseConvInputGrad } from "./nchwc-conv-grad.js";
import { blockedConvWeightGrad } from "./nchwc-conv-weight-grad.js";
import { samplesAsChannelsWeightGrad } from "./nchwc-samples-weight-grad.js";
import { type Dim } from "./sym-dim.js";
import { broadcastShapes } from "./shape-helpers.js";
import { type VjpContext, type VjpRule, gradOf, reduceToShape, shapeOf, staticShape } from "./vjp-context.js";

function swapLast(rank: number): number[] {
  const p = Array.from({ length: rank }, (_, i) => i);
  p[rank - 1] = rank - 2;
  p[rank - 2] = rank - 1;
  return p;
}

const matmul: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const [a = "", w = ""] = node.input;
  const g = gradOf(ctx);
  const as = shapeOf(ctx, a), ws = shapeOf(ctx, w);
  if (as.length < 2 || ws.length < 2) {
    throw new TrainerError("unsupported-op", `MatMul node "${node.name}": 1-D operands are not differentiable here`);
  }
  const batch = broadcastShapes([as.slice(0, -2), ws.slice(0, -2)]);
  const out: (string | undefined)[] = [undefined, undefined];
  if (ctx.want[0]) {
    const da = b.matmul(g, b.transpose(w, swapLast(ws.length)));
    out[0] = reduceToShape(ctx, da, [...batch, as[as.length - 2], as[as.length - 1]], a);
  }
  if (ctx.want[1]) {
    if (ws.length === 2) {
      // Fold every leading axis into the rows: one Gemm, A^T G (what ORT runs fastest).
      const k = staticShape(ctx, w)[0] ?? 0, n = staticShape(ctx, w)[1] ?? 0;
      out[1] = b.op1("Gemm", [b.reshape(a, [-1, k]), b.reshape(g, [-1, n])], [attr.int("transA", 1)]);
    } else {
      const dw = b.matmul(b.transpose(a, swapLast(as.length)), g);
      out[1] = reduceToShape(ctx, dw, [...batch, ws[ws.length - 2], ws[ws.length - 1]], w);
    }
  }
  return out;
};

const gemm: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const [a = "", w = "", c] = node.input;
  const g = gradOf(ctx);
  const alpha = attrFloat(node, "alpha", 1), beta = attrFloat(node, "beta", 1);
  const ta = attrInt(node, "transA", 0), tb = attrInt(node, "transB", 0);
  const out: (string | undefined)[] = node.input.map(() => undefined);
  const gemmOp = (p: string, q: string, tp: number, tq: number, k: number): string =>
    b.op1("Gemm", [p, q], [attr.float("alpha", k), attr.int("transA", tp), attr.int("transB", tq)]);
  if (ctx.want[0]) out[0] = ta === 0 ? gemmOp(g, w, 0, tb === 1 ? 0 : 1, alpha) : gemmOp(w, g, tb, 1, alpha);
  if (ctx.want[1]) out[1] = tb === 0 ? gemmOp(a, g, ta === 1 ? 0 : 1, 0, alpha) : gemmOp(g, a, 1, ta, alpha);
  if (c !== undefined && c !== "" && ctx.want[2]) {
    out[2] = reduceToShape(ctx, b.scale(g, beta), shapeOf(ctx, node.output[0] ?? ""), c);
  }
  return out;
};

const conv: VjpRule = (ctx) => {
  const { b, node } = ctx;
  const [x = "", w = "", bias] = node.input;
  const g = gradOf(ctx);
  const ws = staticShape(ctx, w);
  const geo = convGeometry(node, ws);
  const xs = staticSpatial(ctx, x);
  const ys = staticSpatial(ctx, node.output[0] ?? "");
  const out: (string | undefined)[] = node.input.map(() => undefined);
  if (ctx.want[0]) {
    const sp = ws.length - 2;
    const outputPadding = xs.map((n, i) => {
      const s = geo.strides[i] ?? 1, d = geo.dilations[i] ?? 1, k = geo.kernel[i] ?? 1;
      return n - ((( ys[i] ?? 0) - 1) * s - (geo.pads[i] ?? 0) - (geo.pads[i + sp] ?? 0) + d * (k - 1) + 1);
    });
    if (outputPadding.some((p, i) => p < 0 || p >= Math.max(geo.strides[i] ?? 1, geo.dilations[i] ?? 1))) {
      throw new TrainerError("unsupported-op", `Conv node "${node.name}": its geometry has no ConvTranspose inverse`);
    }
    out[0] = polyphaseConvInputGrad(b, g, w, geo, ws, xs, ys) ?? b.op1("ConvTranspose", [g, w], [
      attr.ints("kernel_shape", geo.kernel), attr.ints("strides", geo.strides), attr.ints("pads", geo.pads),
      attr.ints("dilations", geo.dilations), attr.int("group", geo.group), attr.ints("output_padding", outputPadding),
    ]);
  }
  const wantBias = bias !== undefined && bias !== "" && ctx.want[2] === true;
  const blocked = (ctx.want[1] || wantBias)
    ? summedGroupedConvWeightGrad(b, x, g, xs, ys, ws, geo, ctx.batchSize) ?? samplesAsChannelsWeightGrad(b, x, xs, g, ys, ws, geo, ctx.batchSize) ?? blockedConvWeightGrad(b, x, xs, g, ys, ws, geo, ctx.batchSize)
    : undefined;
  if (blocked !== undefined) {
    if (ctx.want[1]) out[1] = blocked.weight;
    if (wantBias) out[2] = blocked.bias;
    return out;
  }
  if (ctx.want[1]) out[1] = convWeightGrad(b, x, xs, g, ys, ws, geo);
  if (wantBias) {
    const cout = ws[0] ?? 0;
    // With the weight's gradient wanted, its channels-first copy of g is there: one flattened
    // axis to sum (multi-axis ReduceSum is slower in onnxruntime).
    out[2] = ctx.want[1] || blockedRows(b, cout, geo.group, ys)
      ? b.reduceSum(b.reshape(convGradRows(b, g, cout, geo.group, ys), [cout, -1]), [1], false)
      : b.reduceSum(g, [0, ...Array.from({ length: ws.length - 2 }, (_, i) => i + 2)], false);
  }
  return out;
};

function staticSpatial(ctx: VjpContext, name: string): number[] {
  const s = shapeOf(ctx, name).slice(2) as Dim[];
  return s.map((d) => {
    if (d === undefined || d.p !== 0) throw new TrainerError("unsupported-op", `${ctx.node.opType} node "${ctx.node.name}": spatial sizes must be static`);
    return d.c;
  });
}

/**
 * MaxPool backward: stride-1 pools by separable stages (max-pool-grad.ts); others as col2im: for each kernel offset j, the window's gradient is kept where
 * the window's argmax (MaxPool's Indices output, flat, taken mod H*W) is the input position
 * at offset j; a depthwise ConvTranspose with one-hot kernels then adds every offset's
 * contribution back at its input position. Elementwise ops and one ConvTranspose, all
 * parallel (onnxruntime's ScatterElements with reduction is not).
 */
const maxPool: VjpRule = (ctx) => {
  const { b, node } = ctx;
  if (!ctx.want[0]) return [undefined];
  const x = node.input[0] ?? "";
  if (separableMaxPool(node)) return [separableMaxPoolGrad(b, node, x, gradOf(ctx), staticSpatial(ctx, x), staticShape(ctx, x, 1)[0] ?? 0, ctx.batchSize)];
  const idx = node.output[1];
  if (idx === undefined || idx === "") throw new Error("internal: MaxPool without indices");
  if (attrInt(node, "storage_order", 0) !== 0) throw new TrainerError("unsupported-op", `MaxPool node "${node.name}": storage_order=1`);
  if (attrString(node, "auto_pad", "NOTSET") !== "NOTSET") throw new TrainerError("unsupported-op", `MaxPool node "${node.name}": auto_pad`);
  const xs = staticSpatial(ctx, x);
  const ys = staticSpatial(ctx, node.output[0] ?? "");
  const channels = staticShape(ctx, x, 1)[0] ?? 1;
  const sp = xs.length;
  const kernel = attrInts(node, "kernel_shape") ?? [];
  const strides = attrInts(node, "strides") ?? new Array<number>(sp).fill(1);
  const pads = attrInts(node, "pads") ?? new Array<number>(2 * sp).fill(0);
  const dil = attrInts(node, "dilations") ?? new Array<number>(sp).fill(1);
  const nIn = xs.reduce((a, c) => a * c, 1);
  const nOut = ys.reduce((a, c) => a * c, 1);
  const k = kernel.reduce((a, c) => a * c, 1);
  // position[j, o] = flat input position of offset j in window o (-1 in the padding).
  const position = new Array<number>(k * nOut).fill(-1);
  for (let q = 0; q < nOut; q++) {
    const o: number[] = new Array<number>(sp).fill(0);
    let r = q;
    for (let d = sp - 1; d >= 0; d--) { o[d] = r % (ys[d] ?? 1); r = Math.floor(r / (ys[d] ?? 1)); }
    for (let j = 0; j < k; j++) {
      let rj = j, flat = 0, stride = 1, inside = true;
      for (let d = sp - 1; d >= 0; d--) {
        const kj = rj % (kernel[d] ?? 1);
        rj = Math.floor(rj / (kernel[d] ?? 1));
        const i = (o[d] ?? 0) * (strides[d] ?? 1) - (pads[d] ?? 0) + kj * (dil[d] ?? 1);
        if (i < 0 || i >= (xs[d] ?? 0)) inside = false;
        flat += i * stride;
        stride *= xs[d] ?? 1;
      }
      if (inside) position[j * nOut + q] = flat;
    }
  }
  // Flat index of each (n, c) plane's first element: subtracting it is cheaper than Mod.
  const planes = b.op1("Mul", [b.op1("Range", [b.i64([0], []), b.op1("ReduceProd", [b.op1("Shape", [idx], [attr.int("end", 2)])], [attr.int("keepdims", 0)]), b.i64([1], [])]), b.i64([nIn], [])]);
  const local = b.unsqueeze(b.sub(b.reshape(idx, [-1, nOut]), b.unsqueeze(planes, [1])), [1]);
  const hit = b.cast(b.op1("Equal", [local, b.i64(position, [k, nOut])]), 1);
  const kept = b.mul(hit, b.unsqueeze(b.reshape(gradOf(ctx), [-1, nOut]), [1]));
  const cols = b.reshape(kept, [-1, channels * k, ...ys]);
  const eye = new Float32Array(channels * k * k);
  for (let c = 0; c < channels; c++) for (let j = 0; j < k; j++) eye[(c * k + j) * k + j] = 1;
  const outputPadding = xs.map((n, i) => n - (((ys[i] ?? 0) - 1) * (strides[i] ?? 1) - (pads[i] ?? 0) - (pads[i + sp] ?? 0) + (dil[i] ?? 1) * ((kernel[i] ?? 1) - 1) + 1));
  if (outputPadding.some((v, i) => v < 0 || v >= Math.max(strides[i] ?? 1, dil[i] ?? 1))) {
    throw new TrainerError("unsupported-op", `MaxPool node "${node.name}": ceil_mode geometry is not differentiable here`);
  }
  return [b.op1("ConvTranspose", [cols, b.f32(eye, [channels * k, 1, ...kernel])], [
    attr.ints("kernel_shape", kernel), attr.ints("strides", strides), attr.ints("pads", pads), attr.ints("dilations", dil),
    attr.int("group", channels), attr.ints("output_padding", outputPadding),
  ])];
};

const averagePool: VjpRule = (ctx) => {
  const { b, node } = ctx;
  if (!ctx.want[0]) return [undefined];
  const x = node.input[0] ?? "";
  const xs = [0, ...staticShape(ctx, x, 1)];
  const ch = xs[1] ?? 1;
  const kernel = attrInts(node, "kernel_shape") ?? [];
  const sp = kernel.length;
  const strides = attrInts(node, "strides") ?? new Array<number>(sp).fill(1);
  const pads = attrInts(node, "pads") ?? new Array<number>(2 * sp).fill(0);
  if (attrString(node, "auto_pad", "NOTSET") !== "NOTSET") throw new TrainerError("unsupported-op", `AveragePool node "${node.name}": auto_pad`);
  const k = kernel.reduce((p, c) => p * c, 1);
  const ys = staticShape(ctx, node.output[0] ?? "", 2);
  const outputPadding = xs.slice(2).map((n, i) => n - (((ys[i] ?? 0) - 1) * (strides[i] ?? 1) - (pads[i] ?? 0) - (pads[i + sp] ?? 0) + (kernel[i] ?? 1)));
  if (outputPadding.some((p, i) => p < 0 || p >= (strides[i] ?? 1))) {
    throw new TrainerError("unsupported-op", `AveragePool node "${node.name}": ceil_mode geometry is not differentiable here`);
  }
  const geometry = [attr.ints("kernel_shape", kernel), attr.ints("strides", strides), attr.ints("pads", pads)];
  let g = gradOf(ctx);
  const padded = pads.some((p) => p !== 0);
  const ones = b.f32(new Float32Array(ch * k).fill(1), [ch, 1, ...kernel]);
  if (padded && attrInt(node, "count_include_pad", 0) === 0) {
    // Divisor of each window = number of real (unpadded) elements in it.
    const one = b.f32(new Float32Array(xs.slice(2).reduce((p, c) => p * c, 1)).fill(1), [1, 1, ...xs.slice(2)]);
    const count = b.op1("Conv", [one, b.f32(new Float32Array(k).fill(1), [1, 1, ...kernel])], geometry);
    g = b.div(g, count);
  } else {
    g = b.scale(g, 1 / k);
  }
  return [b.op1("ConvTranspose", [g, ones], [...geometry, attr.int("group", ch), attr.ints("output_padding", outputPadding)])];
};

/** Rules for MatMul, Gemm, Conv and pooling. */
export const linearRules: Readonly<Record<string, VjpRule>> = {
  MatMul: matmul,
  Gemm: gemm,
  Conv: conv,
  MaxPool: maxPool,
  AveragePool: averagePool,
};
