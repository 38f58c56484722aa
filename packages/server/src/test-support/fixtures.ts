import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readNpz, type NpyArray } from "./npz.js";

/** The repository's fixtures/inference folder (dist/test-support -> ../../../../fixtures). */
export const INFERENCE_FIXTURES = fileURLToPath(new URL("../../../../fixtures/inference/", import.meta.url));

export function fixtureBytes(name: string): Buffer {
  return readFileSync(INFERENCE_FIXTURES + name);
}

export function fixtureNpz(name: string): Record<string, NpyArray> {
  return readNpz(fixtureBytes(name));
}

/** Compares float outputs with |a - b| <= atol + rtol * |b|. Returns the worst excess (0 when within). */
export function maxExcess(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (!(excess <= 0)) worst = Math.max(worst, Number.isNaN(excess) ? Infinity : excess);
  }
  return worst;
}
