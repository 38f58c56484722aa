import { test } from "node:test";
import assert from "node:assert/strict";
import { createSecureRandom, createSeededRandom } from "./random-source.js";

test("seeded streams are reproducible and separated by stream name", () => {
  const a = createSeededRandom(42, "sampling");
  const b = createSeededRandom(42, "sampling");
  const c = createSeededRandom(42, "init");
  const d = createSeededRandom(43, "sampling");
  const xa = Array.from({ length: 20000 }, () => a.nextUint32());
  const xb = Array.from({ length: 20000 }, () => b.nextUint32());
  assert.deepEqual(xa, xb, "same seed and stream must repeat (across pool refills too)");
  assert.notDeepEqual(xa.slice(0, 8), Array.from({ length: 8 }, () => c.nextUint32()));
  assert.notDeepEqual(xa.slice(0, 8), Array.from({ length: 8 }, () => d.nextUint32()));
  assert.equal(a.secure, false);
});

test("secure source is flagged secure and does not repeat", () => {
  const s = createSecureRandom();
  const t = createSecureRandom();
  assert.equal(s.secure, true);
  assert.notDeepEqual(Array.from({ length: 8 }, () => s.nextUint32()), Array.from({ length: 8 }, () => t.nextUint32()));
});

test("nextOpenUnit is uniform in the open interval (0, 1)", () => {
  const r = createSeededRandom("unit", "test");
  const n = 200000;
  let sum = 0;
  let min = 1;
  let max = 0;
  const bins = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    const u = r.nextOpenUnit();
    sum += u;
    min = Math.min(min, u);
    max = Math.max(max, u);
    bins[Math.floor(u * 10)]!++;
  }
  assert.ok(min > 0 && max < 1);
  assert.ok(Math.abs(sum / n - 0.5) < 0.005, `mean ${sum / n}`);
  for (const b of bins) assert.ok(Math.abs(b / n - 0.1) < 0.005, `bin ${b / n}`);
});

test("nextInt is unbiased and validates its bound", () => {
  const r = createSeededRandom(7, "int");
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[r.nextInt(3)]!++;
  for (const c of counts) assert.ok(Math.abs(c / 30000 - 1 / 3) < 0.015, `share ${c / 30000}`);
  assert.throws(() => r.nextInt(0), RangeError);
  assert.throws(() => r.nextInt(1.5), RangeError);
});
