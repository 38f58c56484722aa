import { test } from "node:test";
import assert from "node:assert/strict";
import { createRealFft } from "./fft.js";
import { assertClose } from "./test-util.js";

test("real FFT matches the direct DFT and inverts", () => {
  for (const n of [4, 8, 64, 256]) {
    const fft = createRealFft(n);
    const x = Float64Array.from({ length: n }, (_, j) => Math.sin(j * 1.7) + (j % 3) * 0.25);
    const { re, im } = fft.forward(x);
    assert.equal(re.length, n / 2 + 1);
    for (let p = 0; p <= n / 2; p++) {
      const k = fft.binIndex(p);
      let sr = 0;
      let si = 0;
      for (let j = 0; j < n; j++) {
        sr += x[j]! * Math.cos((2 * Math.PI * j * k) / n);
        si -= x[j]! * Math.sin((2 * Math.PI * j * k) / n);
      }
      assertClose(re[p]!, sr, { absolute: 1e-11 }, `n ${n} re[${k}]`);
      assertClose(im[p]!, si, { absolute: 1e-11 }, `n ${n} im[${k}]`);
    }
    const back = fft.inverse({ re, im });
    for (let j = 0; j < n; j++) assertClose(back[j]!, x[j]!, { absolute: 1e-13 }, `n ${n} x[${j}]`);
  }
});

test("spectrum products are circular convolutions", () => {
  const n = 16;
  const fft = createRealFft(n);
  const a = Float64Array.from({ length: n }, (_, j) => (j < 3 ? 1 / 3 : 0));
  const fa = fft.forward(a);
  const re = new Float64Array(n / 2 + 1);
  const im = new Float64Array(n / 2 + 1);
  for (let k = 0; k <= n / 2; k++) {
    re[k] = fa.re[k]! * fa.re[k]! - fa.im[k]! * fa.im[k]!;
    im[k] = 2 * fa.re[k]! * fa.im[k]!;
  }
  const c = fft.inverse({ re, im });
  const expected = [1, 2, 3, 2, 1].map((v) => v / 9);
  for (let j = 0; j < n; j++) assertClose(c[j]!, expected[j] ?? 0, { absolute: 1e-15 });
  assert.throws(() => createRealFft(12), RangeError);
});

test("large sizes (cache-blocked stages): a shifted impulse has a pure phase spectrum", () => {
  const n = 2 ** 16;
  const fft = createRealFft(n);
  const j = 12345;
  const x = new Float64Array(n);
  x[j] = 1;
  const { re, im } = fft.forward(x);
  const seen = new Set<number>();
  for (let p = 0; p <= n / 2; p++) {
    const k = fft.binIndex(p);
    seen.add(k);
    const angle = (-2 * Math.PI * ((j * k) % n)) / n;
    if (Math.abs(re[p]! - Math.cos(angle)) > 1e-12 || Math.abs(im[p]! - Math.sin(angle)) > 1e-12) {
      assert.fail(`bin ${k} at ${p}: (${re[p]}, ${im[p]}) != (${Math.cos(angle)}, ${Math.sin(angle)})`);
    }
  }
  assert.equal(seen.size, n / 2 + 1);
  const y = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.01) * (i % 5));
  const back = fft.inverse(fft.forward(y));
  for (const i of [0, 1, 999, 32768, n - 1]) assertClose(back[i]!, y[i]!, { absolute: 1e-12 });
});

test("forwardInPlace matches forward on random input (against a direct DFT, 1e-12 relative)", () => {
  let state = 12345;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  for (const n of [8, 512, 4096]) {
    const fft = createRealFft(n);
    const x = Float64Array.from({ length: n }, next);
    const expected = fft.forward(x);
    const buffer = Float64Array.from(x);
    const out = { re: new Float64Array(n / 2 + 1).fill(7), im: new Float64Array(n / 2 + 1).fill(7) };
    fft.forwardInPlace(buffer, out);
    let scale = 0;
    for (const v of x) scale += Math.abs(v);
    for (let p = 0; p <= n / 2; p++) {
      const k = fft.binIndex(p);
      let sr = 0;
      let si = 0;
      for (let j = 0; j < n; j++) {
        const angle = (2 * Math.PI * ((j * k) % n)) / n;
        sr += x[j]! * Math.cos(angle);
        si -= x[j]! * Math.sin(angle);
      }
      assertClose(out.re[p]!, sr, { absolute: 1e-12 * scale }, `n ${n} re[${k}]`);
      assertClose(out.im[p]!, si, { absolute: 1e-12 * scale }, `n ${n} im[${k}]`);
      assert.equal(out.re[p], expected.re[p]);
      assert.equal(out.im[p], expected.im[p]);
    }
  }
  assert.throws(() => createRealFft(8).forwardInPlace(new Float64Array(8), { re: new Float64Array(4), im: new Float64Array(5) }), RangeError);
});
