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

/** The elements of a float32 or float64 tensor as numbers. */
export function floatsOf(t: { readonly dtype: string; readonly data: Uint8Array }): number[] {
  const b = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out: number[] = [];
  if (t.dtype === "float32") for (let i = 0; i < b.length; i += 4) out.push(b.readFloatLE(i));
  else if (t.dtype === "float64") for (let i = 0; i < b.length; i += 8) out.push(b.readDoubleLE(i));
  else throw new Error(`not a float tensor: ${t.dtype}`);
  return out;
}
