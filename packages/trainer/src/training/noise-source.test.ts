import { test } from "node:test";
import assert from "node:assert/strict";
import { createInlineNoise, createPrefetchedNoise } from "./noise-source.js";
import { createSeededRandom } from "./random-source.js";
import { FloatArena } from "./simd/float-arena.js";
import { trainingArenaBytes } from "./training-engine.js";

test("prefetched noise: N(0, std^2) per element across steps, fresh draws each step", async () => {
  const noise = createPrefetchedNoise(150001, undefined);
  try {
    const a = new Float32Array(100000);
    const b = new Float32Array(50001).fill(10);
    noise.addTo([a, b], 3, 1);
    const first = Float32Array.from(a);
    noise.addTo([a, b], 3, 1);
    let sum = 0;
    let squares = 0;
    for (const v of b) {
      sum += v - 10;
      squares += (v - 10) ** 2;
    }
    // Two steps of std 3: std sqrt(18) ~ 4.243 on b; standard error ~ 4.243 / sqrt(2 * 50001) ~ 0.013.
    const std = Math.sqrt(squares / b.length);
    assert.ok(Math.abs(sum / b.length) < 0.06, `mean ${sum / b.length}`);
    assert.ok(Math.abs(std - Math.sqrt(18)) < 0.06, `std ${std}`);
    let changed = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== first[i]) changed++;
    assert.equal(changed, a.length, "the second step drew new noise");
    const c = new Float32Array(150001).fill(10);
    noise.addTo([c], 0, 0.5);
    assert.ok(c.every((v) => v === 5), "scale applies after the noise, in the same pass");
  } finally {
    await noise.close();
  }
});

test("prefetched noise is reproducible only with an explicit seed", async () => {
  const draw = async (seed: number | undefined) => {
    const noise = createPrefetchedNoise(1000, seed);
    const g = new Float32Array(1000);
    noise.addTo([g], 1, 1);
    noise.addTo([g], 1, 1);
    await noise.close();
    return Array.from(g);
  };
  assert.deepEqual(await draw(4), await draw(4));
  assert.notDeepEqual(await draw(undefined), await draw(undefined));
  const inline = new Float32Array(4);
  createInlineNoise(createSeededRandom(1, "noise")).addTo([inline], 1, 0.5);
  assert.ok(inline.every((v) => v !== 0));
});

test("gradients in a SIMD arena get exactly the noise the JavaScript path adds", async () => {
  const lengths = [7, 1000, 3];
  const arena = new FloatArena(trainingArenaBytes(lengths, true));
  const inArena = lengths.map((n) => arena.floats(n).fill(0.25));
  const plain = lengths.map((n) => new Float32Array(n).fill(0.25));
  const total = lengths.reduce((a, c) => a + c, 0);
  const viaKernel = createPrefetchedNoise(total, 9, arena);
  const viaLoop = createPrefetchedNoise(total, 9);
  try {
    for (let step = 0; step < 2; step++) {
      viaKernel.addTo(inArena, 0.7, 1 / 3);
      viaLoop.addTo(plain, 0.7, 1 / 3);
    }
    inArena.forEach((g, k) => assert.deepEqual(g, plain[k]));
    assert.ok(inArena[1]!.some((v) => v !== inArena[1]![0]), "noise was added");
  } finally {
    await viaKernel.close();
    await viaLoop.close();
  }
});
