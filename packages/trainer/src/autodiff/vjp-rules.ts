import { elementwiseRules } from "./vjp-elementwise.js";
import { linearRules } from "./vjp-linear.js";
import { normRules } from "./vjp-norm.js";
import { shapeRules } from "./vjp-shape.js";
import type { VjpRule } from "./vjp-context.js";

/** Gradient rules by ONNX op type (default domain). */
export const vjpRules: ReadonlyMap<string, VjpRule> = new Map(Object.entries({
  ...elementwiseRules,
  ...shapeRules,
  ...linearRules,
  ...normRules,
}));

/**
 * Ops whose outputs carry no gradient: shape arithmetic, comparisons, integer casts,
 * constants. A gradient never flows through them, so they need no rule.
 */
export const nonDifferentiableOps: ReadonlySet<string> = new Set([
  "Shape", "Size", "Constant", "ConstantOfShape", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
  "And", "Or", "Xor", "Not", "Range", "NonZero", "ArgMax", "ArgMin", "IsNaN", "IsInf", "Floor", "Ceil", "Round",
  "Sign", "OneHot", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli",
  "EyeLike",
]);
