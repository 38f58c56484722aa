import { test } from "node:test";
import assert from "node:assert/strict";
import { createSubsampledGaussianPrv } from "./subsampled-gaussian-prv.js";
import { logSub } from "./log-space.js";
import { normalSf } from "./erfc.js";
import { assertClose } from "./test-util.js";

/** P(T > t) by the textbook route: x(t), then one normal survival function per component. */
function referenceSf(q: number, sigma: number, t: number): number {
  if (t <= Math.log1p(-q)) return 1;
  const x = sigma * sigma * (logSub(t, Math.log1p(-q)) - Math.log(q)) + 0.5;
  return (1 - q) * normalSf(x / sigma) + q * normalSf((x - 1) / sigma);
}

test("the fused survival function (one shared exponential) matches two erfc evaluations", () => {
  for (const [q, sigma] of [
    [0.001, 1],
    [0.04, 1.5],
    [0.01, 0.5],
    [0.3, 3],
    [1e-6, 0.8],
    [0.999, 2],
    [0.02, 0.1],
    [0.5, 20],
  ] as const) {
    const prv = createSubsampledGaussianPrv(q, sigma);
    let checked = 0;
    for (let t = Math.log1p(-q) + 1e-7; t < 60; t = t < 0.01 ? t + 1e-4 : t * 1.05) {
      const expected = referenceSf(q, sigma, t);
      if (expected < 1e-290) break;
      assertClose(prv.sf(t), expected, { relative: 1e-12 }, `q ${q} sigma ${sigma} sf(${t})`);
      checked++;
    }
    assert.ok(checked > 20, `q ${q} sigma ${sigma}: ${checked} points`);
  }
});

test("survival function and CDF add up to 1 and bracket the support", () => {
  const prv = createSubsampledGaussianPrv(0.01, 1.1);
  for (const t of [-0.005, 0, 0.003, 0.02, 0.5, 2]) assertClose(prv.sf(t) + prv.cdf(t), 1, { absolute: 1e-15 }, `t ${t}`);
  assert.equal(prv.sf(Math.log1p(-0.01)), 1);
  assert.equal(prv.sf(1e6), 0);
});
