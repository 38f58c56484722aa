import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import { TrainerError } from "../trainer-error.js";
import { attr, attrInt, attrInts, attrString } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";

/** Static geometry of a Conv node (PyTorch exports explicit pads). */
export interface ConvGeometry {
  readonly kernel: number[];
  readonly strides: number[];
  readonly pads: number[];
  readonly dilations: number[];
  readonly group: number;
}

/** Reads a Conv node's geometry; refuses auto_pad (PyTorch never emits it). */
export function convGeometry(node: NodeProto, weightShape: readonly number[]): ConvGeometry {
  const sp = weightShape.length - 2;
  const mode = attrString(node, "auto_pad", "NOTSET");
  if (mode !== "NOTSET" && mode !== "VALID") {
    throw new TrainerError("unsupported-op", `Conv node "${node.name}": auto_pad=${mode} is not differentiable here; export with explicit padding`);
  }
  return {
    kernel: attrInts(node, "kernel_shape") ?? weightShape.slice(2),
    strides: attrInts(node, "strides") ?? new Array<number>(sp).fill(1),
    pads: mode === "VALID" ? new Array<number>(2 * sp).fill(0) : (attrInts(node, "pads") ?? new Array<number>(2 * sp).fill(0)),
    dilations: attrInts(node, "dilations") ?? new Array<number>(sp).fill(1),
    group: attrInt(node, "group", 1),
  };
}

/**
 * im2col as a convolution: a depthwise Conv whose kernel is the identity over the kernel
 * window gives U[n, c*K + j, p] = x_pad[n, c, window(p) + offset(j)], K = prod(kernel),
 * matching the (c, kh, kw) flattening of a Conv weight. Returns U as [N, C*K, P].
 */
export function unfold(b: GraphBuilder, x: string, channels: number, geo: ConvGeometry): string {
  const k = geo.kernel.reduce((a, c) => a * c, 1);
  const eye = new Float32Array(channels * k * k);
  for (let c = 0; c < channels; c++) for (let j = 0; j < k; j++) eye[(c * k + j) * k + j] = 1;
  const kernel = b.f32(eye, [channels * k, 1, ...geo.kernel]);
  const u = b.op1("Conv", [x, kernel], [
    attr.ints("kernel_shape", geo.kernel), attr.ints("strides", geo.strides), attr.ints("pads", geo.pads),
    attr.ints("dilations", geo.dilations), attr.int("group", channels),
  ]);
  return b.reshape(u, [0, channels * k, -1]);
}

/**
 * Per-sample weight gradients of a Conv as [N, G, Cout/G, Cin/G*K]: g_n (per group) times
 * U_n^T, batched over samples and groups.
 */
export function perSampleConvGrad(b: GraphBuilder, x: string, g: string, wShape: readonly number[], geo: ConvGeometry): string {
  const [cout = 0, cg = 0] = wShape;
  const k = geo.kernel.reduce((a, c) => a * c, 1);
  const cin = cg * geo.group;
  const u = unfold(b, x, cin, geo);
  const ug = b.reshape(u, [0, geo.group, cg * k, -1]);
  const gg = b.reshape(g, [0, geo.group, cout / geo.group, -1]);
  return b.matmul(gg, b.transpose(ug, [0, 1, 3, 2]));
}
