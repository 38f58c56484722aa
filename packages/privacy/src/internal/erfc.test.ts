import { test } from "node:test";
import assert from "node:assert/strict";
import { erfc, logErfc } from "./erfc.js";
import { logAdd, logSub } from "./log-space.js";
import { assertClose } from "./test-util.js";

// Reference values from scipy.special.erfc and log(2) + log_ndtr(-x sqrt 2) (SciPy 1.10).
const ERFC: [number, number][] = [
  [-3, 1.9999779095030015],
  [-1, 1.8427007929497148],
  [-0.3, 1.3286267594591274],
  [0, 1],
  [0.2, 0.7772974107895215],
  [0.5, 0.4795001221869535],
  [1, 0.15729920705028516],
  [2, 0.004677734981047266],
  [3.5, 7.430983723414129e-7],
  [5, 1.5374597944280347e-12],
  [10, 2.0884875837625446e-45],
  [26, 5.663192408856145e-296],
];

test("erfc matches SciPy to 1e-14 relative across its three intervals", () => {
  for (const [x, expected] of ERFC) assertClose(erfc(x), expected, { relative: 1e-14 }, `erfc(${x})`);
  assert.equal(erfc(40), 0);
  assert.equal(erfc(-40), 2);
});

test("logErfc stays finite and accurate where erfc underflows", () => {
  for (const [x, expected] of ERFC) assertClose(logErfc(x), Math.log(expected), { absolute: 1e-14, relative: 1e-14 }, `logErfc(${x})`);
  assertClose(logErfc(30), -903.9741171106442, { relative: 1e-14 });
  assertClose(logErfc(100), -10005.177585122668, { relative: 1e-14 });
  assertClose(logErfc(1e4), -100000009.78270535, { relative: 1e-14 });
  assertClose(logErfc(-0.5), 0.4190391477755596, { relative: 1e-14 });
  assert.equal(logErfc(-30), Math.LN2);
});

test("log-space addition and subtraction", () => {
  assertClose(logAdd(Math.log(2), Math.log(3)), Math.log(5), { absolute: 1e-15 });
  assert.equal(logAdd(-Infinity, 1.5), 1.5);
  assertClose(logAdd(1000, 1000), 1000 + Math.LN2, { absolute: 1e-12 });
  assertClose(logSub(Math.log(5), Math.log(3)), Math.log(2), { absolute: 1e-15 });
  assertClose(logSub(1e-20, 0), Math.log(1e-20), { relative: 1e-12 });
  assert.equal(logSub(2, 2), -Infinity);
  assert.ok(Number.isNaN(logSub(1, 2)));
});
