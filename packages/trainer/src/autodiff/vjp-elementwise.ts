import { TrainerError } from "../trainer-error.js";
import { attrFloat, attrInt, attrString } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";
import { constNumbers, normAxis } from "./shape-helpers.js";
import { type VjpContext, type VjpRule, gradOf, reduceToShape, shapeOf } from "./vjp-context.js";

/**
 * Gradient of a broadcasting binary op with respect to operand `i`, before the sum over
 * broadcast axes (shaped like the output). Used by the plain rule and by per-sample norms.
 */
export function binaryUnreduced(ctx: VjpContext, i: number, g: string): string {
  const { b, node } = ctx;
  const [x0 = "", x1 = ""] = node.input;
  const y = node.output[0] ?? "";
  switch (node.opType) {
    case "Add": case "Sum": return g;
    case "Sub": return i === 0 ? g : b.neg(g);
    case "Mul": return b.mul(g, i === 0 ? x1 : x0);
    case "Div": return i === 0 ? b.div(g, x1) : b.neg(b.div(b.mul(g, y), x1));
    case "Pow": {
      if (i === 0) {
        const e = constNumbers(ctx.info(x1));
        if (e !== undefined && e.length === 1 && e[0] === 2) return b.mul(g, b.scale(x0, 2));
        if (e !== undefined && e.length === 1 && e[0] === 1) return g;
        return b.mul(g, b.mul(x1, b.op1("Pow", [x0, b.sub(x1, b.f32(1))])));
      }
      return b.mul(g, b.mul(y, b.op1("Log", [x0])));
    }
    case "PRelu": {
      const positive = b.op1("Greater", [x0, b.f32(0)]);
      return i === 0 ? b.op1("Where", [positive, g, b.mul(g, x1)]) : b.op1("Where", [positive, b.f32(0), b.mul(g, x0)]);
    }
    case "Max": case "Min": {
      // Ties split the gradient evenly, as torch.maximum / torch.minimum do.
      const [mine, other] = i === 0 ? [x0, x1] : [x1, x0];
      const wins = b.cast(b.op1(node.opType === "Max" ? "Greater" : "Less", [mine, other]), 1);
      const ties = b.scale(b.cast(b.op1("Equal", [mine, other]), 1), 0.5);
      return b.mul(g, b.add(wins, ties));
    }
    case "Where": {
      const zero = b.f32(0);
      return i === 1 ? b.op1("Where", [x0, g, zero]) : b.op1("Where", [x0, zero, g]);
    }
    default: break;
  }
  throw new Error(`internal: no binary rule for ${node.opType}`);
}

const binary: VjpRule = (ctx) => {
  const g = gradOf(ctx);
  const outShape = shapeOf(ctx, ctx.node.output[0] ?? "");
  return ctx.node.input.map((name, i) => {
    if (!ctx.want[i]) return undefined;
    if (ctx.node.opType === "Where" && i === 0) return undefined;
    return reduceToShape(ctx, binaryUnreduced(ctx, i, g), outShape, name);
  });
};

function unary(f: (ctx: VjpContext, g: string, x: string, y: string) => string): VjpRule {
  return (ctx) => {
    if (!ctx.want[0]) return ctx.node.input.map(() => undefined);
    const g = gradOf(ctx);
    return [f(ctx, g, ctx.node.input[0] ?? "", ctx.node.output[0] ?? ""), ...ctx.node.input.slice(1).map(() => undefined)];
  };
}

/** The derivative of Tanh (1 - y^2) or Sigmoid (y (1 - y)) in terms of its output y. */
export function derivativeFromOutput(b: GraphBuilder, op: "Tanh" | "Sigmoid", y: string): string {
  return op === "Tanh" ? b.sub(b.f32(1), b.mul(y, y)) : b.mul(y, b.sub(b.f32(1), y));
}

const where0 = (ctx: VjpContext, cond: string, g: string, other: string): string => ctx.b.op1("Where", [cond, g, other]);

/** Rules for elementwise ops (unary activations, broadcasting arithmetic, Softmax, Dropout, Cast). */
export const elementwiseRules: Readonly<Record<string, VjpRule>> = {
  Add: binary, Sub: binary, Mul: binary, Div: binary, Pow: binary, Where: binary, PRelu: binary, Max: binary, Min: binary,
  Sum: binary,
  Neg: unary((ctx, g) => ctx.b.neg(g)),
  Identity: unary((_ctx, g) => g),
  Relu: unary((ctx, g, _x, y) => where0(ctx, ctx.b.op1("Greater", [y, ctx.b.f32(0)]), g, ctx.b.f32(0))),
  LeakyRelu: unary((ctx, g, x) => {
    const alpha = attrFloat(ctx.node, "alpha", 0.01);
    return where0(ctx, ctx.b.op1("Greater", [x, ctx.b.f32(0)]), g, ctx.b.scale(g, alpha));
  }),
  Sigmoid: unary((ctx, g, _x, y) => (ctx.b.appliedDerivatives.has(y) ? g : ctx.b.mul(g, derivativeFromOutput(ctx.b, "Sigmoid", y)))),
  Tanh: unary((ctx, g, _x, y) => (ctx.b.appliedDerivatives.has(y) ? g : ctx.b.mul(g, derivativeFromOutput(ctx.b, "Tanh", y)))),
  Erf: unary((ctx, g, x) => {
    const { b } = ctx;
    // d erf(x)/dx = 2/sqrt(pi) e^{-x^2} = e^{ln(2/sqrt(pi)) - x^2}: one pass fewer.
    return b.mul(g, b.op1("Exp", [b.sub(b.f32(Math.log(2 / Math.sqrt(Math.PI))), b.mul(x, x))]));
  }),
  Elu: unary((ctx, g, x, y) => {
    const alpha = attrFloat(ctx.node, "alpha", 1);
    const { b } = ctx;
    return where0(ctx, b.op1("Greater", [x, b.f32(0)]), g, b.mul(g, b.add(y, b.f32(alpha))));
  }),
  Softplus: unary((ctx, g, x) => ctx.b.mul(g, ctx.b.op1("Sigmoid", [x]))),
  HardSigmoid: unary((ctx, g, _x, y) => {
    const { b } = ctx;
    const alpha = attrFloat(ctx.node, "alpha", 0.2);
    const inside = b.op1("And", [b.op1("Greater", [y, b.f32(0)]), b.op1("Less", [y, b.f32(1)])]);
    return where0(ctx, inside, b.scale(g, alpha), b.f32(0));
  }),
  HardSwish: unary((ctx, g, x) => {
    const { b } = ctx;
    // y = x * clip(x/6 + 1/2, 0, 1): slope 0 below -3, 1 above 3, x/3 + 1/2 between.
    const inside = b.op1("And", [b.op1("Greater", [x, b.f32(-3)]), b.op1("Less", [x, b.f32(3)])]);
    const outside = b.cast(b.op1("Greater", [x, b.f32(0)]), 1);
    return b.mul(g, b.op1("Where", [inside, b.add(b.scale(x, 1 / 3), b.f32(0.5)), outside]));
  }),
  Gelu: unary((ctx, g, x) => {
    const { b } = ctx;
    if (attrString(ctx.node, "approximate", "none") === "tanh") {
      // y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
      const k = Math.sqrt(2 / Math.PI);
      const x2 = b.mul(x, x);
      const t = b.op1("Tanh", [b.scale(b.mul(x, b.add(b.f32(1), b.scale(x2, 0.044715))), k)]);
      const du = b.scale(b.add(b.f32(1), b.scale(x2, 3 * 0.044715)), k);
      const d = b.add(b.scale(b.add(b.f32(1), t), 0.5), b.mul(b.scale(x, 0.5), b.mul(b.sub(b.f32(1), b.mul(t, t)), du)));
      return b.mul(g, d);
    }
    // y = x Phi(x): dy/dx = Phi(x) + x phi(x).
    const cdf = b.scale(b.add(b.f32(1), b.op1("Erf", [b.scale(x, Math.SQRT1_2)])), 0.5);
    const pdf = b.op1("Exp", [b.sub(b.f32(-0.5 * Math.log(2 * Math.PI)), b.scale(b.mul(x, x), 0.5))]);
    return b.mul(g, b.add(cdf, b.mul(x, pdf)));
  }),
  Exp: unary((ctx, g, _x, y) => ctx.b.mul(g, y)),
  Log: unary((ctx, g, x) => ctx.b.div(g, x)),
  Sqrt: unary((ctx, g, _x, y) => ctx.b.div(ctx.b.scale(g, 0.5), y)),
  Abs: unary((ctx, g, x) => ctx.b.mul(g, ctx.b.op1("Sign", [x]))),
  Reciprocal: unary((ctx, g, _x, y) => ctx.b.neg(ctx.b.mul(g, ctx.b.mul(y, y)))),
  Clip: unary((ctx, g, x) => {
    const { b, node } = ctx;
    // torch.clamp's backward passes the gradient where min <= x <= max.
    let keep: string | undefined;
    const lo = node.input[1], hi = node.input[2];
    if (lo !== undefined && lo !== "") keep = b.op1("GreaterOrEqual", [x, lo]);
    if (hi !== undefined && hi !== "") {
      const le = b.op1("LessOrEqual", [x, hi]);
      keep = keep === undefined ? le : b.op1("And", [keep, le]);
    }
    return keep === undefined ? g : where0(ctx, keep, g, b.f32(0));
  }),
  Softmax: unary((ctx, g, _x, y) => {
    const { b } = ctx;
    const axis = softmaxAxis(ctx);
    return b.mul(y, b.sub(g, b.reduceSum(b.mul(g, y), [axis], true)));
  }),
  LogSoftmax: unary((ctx, g, _x, y) => {
    const { b } = ctx;
    const axis = softmaxAxis(ctx);
    return b.sub(g, b.mul(b.op1("Exp", [y]), b.reduceSum(g, [axis], true)));
  }),
  Cast: unary((ctx, g, x) => {
    const from = ctx.info(x).dtype;
    return from === ctx.info(ctx.node.output[0] ?? "").dtype ? g : ctx.b.cast(g, from);
  }),
  Dropout: (ctx) => {
    const { b, node } = ctx;
    if (!ctx.want[0]) return node.input.map(() => undefined);
    const g = gradOf(ctx);
    const mask = node.output[1];
    const training = node.input[2] !== undefined && node.input[2] !== "" ? constNumbers(ctx.info(node.input[2])) : [0];
    if (training === undefined) {
      throw new TrainerError("unsupported-op", `Dropout node "${node.name}": training_mode must be a constant`);
    }
    if (training[0] === 0 || mask === undefined || mask === "") return [g, ...node.input.slice(1).map(() => undefined)];
    const ratioIn = node.input[1];
    const ratio = ratioIn !== undefined && ratioIn !== "" ? constNumbers(ctx.info(ratioIn)) : [0.5];
    let scaled: string;
    if (ratio !== undefined) {
      const r = ratio[0] ?? 0.5;
      // PyTorch exports Dropout(p=0) too; its mask is all ones, so the gradient passes as is.
      if (r === 0) return [g, ...node.input.slice(1).map(() => undefined)];
      scaled = b.scale(g, r >= 1 ? 0 : 1 / (1 - r));
    } else {
      scaled = b.div(g, b.sub(b.f32(1), ratioIn ?? ""));
    }
    return [b.mul(scaled, b.cast(mask, 1)), ...node.input.slice(1).map(() => undefined)];
  },
};

function softmaxAxis(ctx: VjpContext): number {
  const rank = shapeOf(ctx, ctx.node.input[0] ?? "").length;
  return normAxis(attrInt(ctx.node, "axis", -1), rank);
}
