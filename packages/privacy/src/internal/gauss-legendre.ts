/**
 * Gauss-Legendre quadrature on [-1, 1]: nodes by Newton's method on the Legendre
 * polynomial from the Chebyshev initial guess (Golub-Welsch accuracy for n <= 64).
 */
export interface QuadratureRule {
  readonly nodes: Float64Array;
  readonly weights: Float64Array;
}

export function gaussLegendre(n: number): QuadratureRule {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iter = 0; iter < 100; iter++) {
      // Three-term recurrence for P_n(x) and P_{n-1}(x).
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      derivative = (n * (x * p1 - p0)) / (x * x - 1);
      const step = p1 / derivative;
      x -= step;
      if (Math.abs(step) < 1e-16) break;
    }
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    const w = 2 / ((1 - x * x) * derivative * derivative);
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}

/** Integral of f over [a, b] by `panels` equal panels of the rule. */
export function integrate(f: (x: number) => number, a: number, b: number, panels: number, rule: QuadratureRule): number {
  if (!(b > a)) return 0;
  const width = (b - a) / panels;
  let total = 0;
  for (let p = 0; p < panels; p++) {
    const mid = a + (p + 0.5) * width;
    let sum = 0;
    for (let k = 0; k < rule.nodes.length; k++) sum += rule.weights[k]! * f(mid + 0.5 * width * rule.nodes[k]!);
    total += 0.5 * width * sum;
  }
  return total;
}
