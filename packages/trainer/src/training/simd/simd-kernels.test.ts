import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createOptimizer, type OptimizerConfig } from "../optimizer.js";
import { arenaBytes, FloatArena } from "./float-arena.js";

const f = Math.fround;

function randomFloats(arena: FloatArena, n: number, seed: number): Float32Array {
  const a = arena.floats(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    a[i] = (s / 2147483648) * 4 - 2;
  }
  return a;
}

test("the committed kernels-binary.ts is what kernels.wat assembles to", () => {
  const script = fileURLToPath(new URL("../../../../../scripts/build-simd-kernels.mjs", import.meta.url));
  // Exits 1 with a message naming the fix when the binary is stale.
  execFileSync(process.execPath, [script, "--check"], { stdio: "pipe" });
});

test("arena arrays are 16-byte aligned, padded to 4 elements, zeroed and recognised", () => {
  const arena = new FloatArena(1024);
  const a = arena.floats(5);
  const b = arena.floats(3);
  assert.equal(a.byteOffset % 16, 0);
  assert.equal(b.byteOffset - a.byteOffset, arenaBytes(5));
  assert.deepEqual(Array.from(b), [0, 0, 0]);
  assert.ok(arena.owns(a) && arena.owns(b));
  assert.ok(!arena.owns(a.subarray(1)), "a view into an arena array does not own its padding");
  assert.ok(!arena.owns(new Float32Array(4)));
  assert.throws(() => arena.floats(20_000), /arena is full/, "an arena never grows: that would detach every view");
  assert.throws(() => new FloatArena(2 ** 33), /more than the trainer's 4 GiB/);
});

test("add_into and add_noise compute exactly what float64 JavaScript computes, lengths not multiples of 4", () => {
  for (const n of [1, 4, 7, 1030]) {
    const arena = new FloatArena(8 * arenaBytes(n));
    const dst = randomFloats(arena, n, 1);
    const src = randomFloats(arena, n, 2);
    const expected = dst.map((x, i) => f(x + src[i]!));
    arena.kernels.add_into(dst.byteOffset, src.byteOffset, n);
    assert.deepEqual(dst, expected);
    const z = arena.floats(n);
    for (let i = 0; i < n; i++) z[i] = Math.sin(i + 1) * 3;
    const noisy = dst.map((g, i) => f((g + 0.37 * z[i]!) * (1 / 3)));
    arena.kernels.add_noise(dst.byteOffset, z.byteOffset, n, 0.37, 1 / 3);
    assert.deepEqual(dst, noisy);
  }
});

test("sgd_momentum equals torch's float32 formula element by element", () => {
  const n = 37;
  const arena = new FloatArena(4 * arenaBytes(n));
  const p = randomFloats(arena, n, 3);
  const g = randomFloats(arena, n, 4);
  const buf = randomFloats(arena, n, 5);
  const [lr, wd, gs, keep, damp] = [f(0.1), f(0.01), f(0.25), f(0.9), f(0.8)];
  const ep = new Float32Array(n);
  const eb = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = f(f(gs * g[i]!) + f(wd * p[i]!));
    const b = f(f(keep * buf[i]!) + f(damp * d));
    eb[i] = b;
    ep[i] = f(p[i]! - f(lr * f(f(0 * d) + f(1 * b))));
  }
  arena.kernels.sgd_momentum(p.byteOffset, g.byteOffset, buf.byteOffset, n, lr, wd, gs, keep, damp, 0, 1);
  assert.deepEqual(buf, eb);
  assert.deepEqual(p, ep);
});

const CONFIGS: OptimizerConfig[] = [
  { kind: "sgd", lr: 0.1, weightDecay: 0.01 },
  { kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: true },
  { kind: "adam", lr: 0.01, weightDecay: 0.1 },
  { kind: "adamw", lr: 0.01 },
];

for (const config of CONFIGS) {
  test(`${config.kind} updates arrays in a shared arena exactly as through its own staging arena`, () => {
    const lengths = [3, 64, 9];
    const arena = new FloatArena(8 * lengths.reduce((n, l) => n + arenaBytes(l), 0));
    const shared = { params: lengths.map((l, k) => randomFloats(arena, l, 10 + k)), grads: lengths.map((l, k) => randomFloats(arena, l, 20 + k)) };
    const plain = { params: shared.params.map((p) => Float32Array.from(p)), grads: shared.grads.map((g) => Float32Array.from(g)) };
    const direct = createOptimizer(config, { arena });
    const staged = createOptimizer(config);
    for (let step = 0; step < 3; step++) {
      direct.step(shared.params, shared.grads, 0.5);
      staged.step(plain.params, plain.grads, 0.5);
    }
    shared.params.forEach((p, k) => assert.deepEqual(p, plain.params[k]));
    assert.deepEqual(plain.grads[1], shared.grads[1], "gradients are not modified");
    assert.throws(() => direct.step(shared.params, shared.grads, Number.NaN), /gradScale must be finite/);
  });
}
