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
