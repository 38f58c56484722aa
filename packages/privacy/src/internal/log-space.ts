/**
 * Arithmetic on numbers held as their natural logarithms, so that sums of terms like
 * exp(700) or exp(-900) neither overflow nor underflow. -Infinity stands for zero.
 */

/** log(exp(x) + exp(y)). */
export function logAdd(x: number, y: number): number {
  const a = Math.min(x, y);
  const b = Math.max(x, y);
  if (a === -Infinity) return b;
  // exp(a) + exp(b) = exp(b) * (1 + exp(a - b)), with a - b <= 0.
  return b + Math.log1p(Math.exp(a - b));
}

/**
 * log(exp(x) - exp(y)) for x >= y. Returns NaN when x < y (a negative result), so callers
 * can detect cancellation and fail closed instead of using a wrong value.
 */
export function logSub(x: number, y: number): number {
  if (y === -Infinity) return x;
  if (x < y) return Number.NaN;
  if (x === y) return -Infinity;
  const d = x - y;
  // exp(x) - exp(y) = exp(x) * (1 - exp(-d)); log1p(-exp(-d)) is accurate for large d and
  // log(-expm1(-d)) for small d (Maechler 2012, "Accurately computing log(1 - exp(-|a|))").
  return x + (d > Math.LN2 ? Math.log1p(-Math.exp(-d)) : Math.log(-Math.expm1(-d)));
}
