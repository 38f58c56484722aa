import assert from "node:assert/strict";

/** Asserts |actual - expected| <= absolute + relative * |expected|. */
export function assertClose(actual: number, expected: number, tolerance: { absolute?: number; relative?: number }, message?: string): void {
  const { absolute = 0, relative = 0 } = tolerance;
  const bound = absolute + relative * Math.abs(expected);
  assert.ok(
    Number.isFinite(actual) && Math.abs(actual - expected) <= bound,
    `${message ?? "value"}: expected ${expected} +- ${bound}, got ${actual}`,
  );
}

/** Deterministic uniform numbers in [0, 1) (xorshift32), so a failing random test reproduces. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}
