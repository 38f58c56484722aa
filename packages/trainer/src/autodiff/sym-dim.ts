/**
 * A tensor dimension as a monomial `c * B^p` in the symbolic batch size B, or undefined when
 * unknown. Shapes of PyTorch exports are static except for the batch axis, and the only
 * symbolic sizes that appear are multiples of B (B*H heads, L*B rows), so monomials suffice.
 */
export type Dim = { readonly c: number; readonly p: number } | undefined;

/** A static dimension. */
export function dimOf(c: number): Dim {
  return { c, p: 0 };
}

/** The batch dimension B. */
export const BATCH: Dim = { c: 1, p: 1 };

/** A dimension's size when the batch has `batch` rows (a graph built for one physical batch), or undefined if unknown. */
export function dimAtBatch(d: Dim, batch: number): number | undefined {
  return d === undefined ? undefined : d.c * batch ** d.p;
}

/** The static value of a dimension, or undefined if symbolic or unknown. */
export function staticDim(d: Dim): number | undefined {
  return d !== undefined && d.p === 0 ? d.c : undefined;
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (a === undefined || b === undefined) return undefined;
  if (a.c === 0 || b.c === 0) return { c: 0, p: 0 };
  return { c: a.c * b.c, p: a.p + b.p };
}

/** Integer (floor) division as ONNX Div on int64; undefined when not exactly representable. */
export function dimDiv(a: Dim, b: Dim): Dim {
  if (a === undefined || b === undefined || b.c === 0) return undefined;
  if (a.p === b.p) return { c: Math.trunc(a.c / b.c), p: 0 };
  if (a.p > b.p && Number.isInteger(a.c / b.c)) return { c: a.c / b.c, p: a.p - b.p };
  return undefined;
}

export function dimAdd(a: Dim, b: Dim): Dim {
  if (a === undefined || b === undefined) return undefined;
  if (a.p === b.p) return { c: a.c + b.c, p: a.p };
  if (a.c === 0) return b;
  if (b.c === 0) return a;
  return undefined;
}

export function dimNeg(a: Dim): Dim {
  return a === undefined ? undefined : { c: -a.c, p: a.p };
}

/** Whether two dimensions are known to be equal (B is treated as an unknown positive integer). */
export function dimEq(a: Dim, b: Dim): boolean {
  return a !== undefined && b !== undefined && a.c === b.c && (a.p === b.p || a.c === 0);
}

/** Whether two dimensions are known to differ (B >= 1 never equals a constant in practice). */
export function dimNe(a: Dim, b: Dim): boolean {
  if (a === undefined || b === undefined) return false;
  if (a.p === b.p) return a.c !== b.c;
  return true;
}

/** Product of dimensions. */
export function dimProduct(ds: readonly Dim[]): Dim {
  let acc: Dim = dimOf(1);
  for (const d of ds) acc = dimMul(acc, d);
  return acc;
}

/** The product of static dimensions, or undefined if any is symbolic or unknown. */
export function staticProduct(ds: readonly Dim[]): number | undefined {
  let acc = 1;
  for (const d of ds) {
    const v = staticDim(d);
    if (v === undefined) return undefined;
    acc *= v;
  }
  return acc;
}
