import type { NodeProto } from "../onnx/gen/onnx_pb.js";
import type { GraphBuilder } from "./graph-builder.js";
import { scanChunks, scanRows } from "./row-chunks.js";
import type { TensorInfo } from "./tensor-info.js";

/**
 * An exact GELU as torch.onnx exports nn.GELU(): y = (x * (Erf(x / sqrt2) + 1)) * 0.5, five
 * elementwise nodes whose rules, chained, make nine passes over the activation in the
 * backward and keep four intermediate tensors alive. Matched as a whole, its gradient takes
 * eight passes from x alone (see geluGradient).
 */
export interface GeluMatch {
  /** x, the GELU's input. */
  readonly x: string;
  /** The four nodes before the last Mul: the backward skips them. */
  readonly inner: ReadonlySet<NodeProto>;
}

const SQRT2 = Math.SQRT2;
/** ln(2 / sqrt(pi)): folds erf's derivative constant into the exponent. */
const LN_TWO_OVER_SQRT_PI = Math.log(2 / Math.sqrt(Math.PI));

/** What the matcher reads about the forward graph. */
export interface GeluGraph {
  readonly nodes: readonly NodeProto[];
  readonly info: (name: string) => TensorInfo;
  readonly isActivation: (name: string) => boolean;
}

/** Every exact GELU whose inner tensors feed nothing else, by its last node. */
export function findGelus(g: GeluGraph): Map<NodeProto, GeluMatch> {
  const producer = new Map<string, NodeProto>();
  const uses = new Map<string, number>();
  for (const n of g.nodes) {
    n.output.forEach((o) => producer.set(o, n));
    n.input.forEach((i) => uses.set(i, (uses.get(i) ?? 0) + 1));
  }
  const scalar = (name: string): number | undefined => {
    const v = g.info(name).value;
    return v?.length === 1 && v[0]?.p === 0 ? v[0].c : undefined;
  };
  const near = (name: string, want: number): boolean => {
    const c = scalar(name);
    return c !== undefined && Math.abs(c - want) <= 1e-6 * Math.abs(want);
  };
  // The operand of a commutative node that is not the constant `want`, if the other is.
  const otherThan = (n: NodeProto, want: number): string | undefined => {
    const [p, q] = n.input;
    if (p === undefined || q === undefined || n.input.length !== 2) return undefined;
    if (near(q, want)) return p;
    if (near(p, want)) return q;
    return undefined;
  };
  const only = (name: string | undefined, op: string): NodeProto | undefined => {
    if (name === undefined || uses.get(name) !== 1) return undefined;
    const n = producer.get(name);
    return n?.opType === op && n.domain === "" ? n : undefined;
  };
  const found = new Map<NodeProto, GeluMatch>();
  for (const last of g.nodes) {
    if (last.opType !== "Mul" || last.domain !== "") continue;
    const mul = only(otherThan(last, 0.5), "Mul");
    if (mul === undefined) continue;
    for (const [x, a] of [[mul.input[0], mul.input[1]], [mul.input[1], mul.input[0]]] as const) {
      const add = only(a, "Add");
      const erf = add === undefined ? undefined : only(otherThan(add, 1), "Erf");
      const scaleNode = erf === undefined ? undefined : only(erf.input[0], erf.input[0] !== undefined && producer.get(erf.input[0])?.opType === "Div" ? "Div" : "Mul");
      if (x === undefined || a === undefined || add === undefined || erf === undefined || scaleNode === undefined) continue;
      const scaled = scaleNode.opType === "Div"
        ? (scaleNode.input[0] === x && near(scaleNode.input[1] ?? "", SQRT2))
        : otherThan(scaleNode, 1 / SQRT2) === x;
      if (!scaled || !g.isActivation(x)) continue;
      found.set(last, { x, inner: new Set([scaleNode, erf, add, mul]) });
      break;
    }
  }
  return found;
}

/** The rows a GELU's input is made of when the graph is built for one physical batch. */
export interface RowLayout {
  /** The input's static shape. */
  readonly shape: readonly number[];
  /** Product of all but the last dimension. */
  readonly rows: number;
  /** The last dimension. */
  readonly width: number;
}

/**
 * dL/dx = dL/dy * (0.5 (1 + erf(u)) + x exp(-x^2 / 2) / sqrt(2 pi)) with u = x / sqrt2, that is
 * (0.5 dL/dy) * (erf(u) + u exp(ln(2 / sqrt(pi)) - u^2) + 1), recomputed from x alone: the
 * forward's inner tensors then feed nothing else, so onnxruntime fuses them into one Gelu
 * kernel (one pass instead of five), and the backward's two extra passes cost less.
 * With `rows` (a graph built for one physical batch) and a large activation, the chain runs
 * by chunks of rows in a Scan (row-chunks.ts).
 */
export function geluGradient(b: GraphBuilder, m: GeluMatch, gradY: string, rows?: RowLayout): string {
  // 0.5 dL/dy outside the Scan: onnxruntime folds the scale into the MatMul that produced dL/dy.
  const half = b.scale(gradY, 0.5);
  const chunks = rows === undefined ? undefined : scanChunks(rows.rows, rows.width);
  if (rows === undefined || chunks === undefined) return geluChain(b, m.x, half);
  const flat = (t: string): string => b.reshape(t, [rows.rows, rows.width]);
  const out = scanRows(b, [flat(m.x), flat(half)], rows.rows, [rows.width, rows.width], rows.width, chunks, (body, [x = "", g = ""]) => geluChain(body, x, g));
  return b.reshape(out, [...rows.shape]);
}

/** The gradient's elementwise chain, dL/dx from x and 0.5 dL/dy. */
function geluChain(b: GraphBuilder, x: string, halfGrad: string): string {
  const u = b.scale(x, Math.SQRT1_2);
  const e = b.op1("Exp", [b.sub(b.f32(LN_TWO_OVER_SQRT_PI), b.mul(u, u))]);
  return b.mul(halfGrad, b.op1("Sum", [b.op1("Erf", [u]), b.mul(u, e), b.f32(1)]));
}
