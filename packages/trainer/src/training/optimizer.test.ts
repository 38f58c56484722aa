import { test } from "node:test";
import assert from "node:assert/strict";
import { createOptimizer, type OptimizerConfig } from "./optimizer.js";

// Produced by testdata/optimizer-reference.py with torch 1.13 (three steps of torch.optim).
const TORCH: Record<string, number[][]> = {"sgd": [[0.49000000953674316, -1.2300000190734863, 1.9700000286102295, 0.04000000283122063], [0.4950000047683716, -1.2799999713897705, 1.9450000524520874, 0.027500003576278687], [0.39500001072883606, -1.1799999475479126, 1.9450000524520874, -0.17249999940395355]], "sgd_momentum_wd": [[0.4894999861717224, -1.2287499904632568, 1.968000054359436, 0.04000000283122063], [0.48410943150520325, -1.253519058227539, 1.9149287939071655, 0.06471399962902069], [0.3888222277164459, -1.184683084487915, 1.8654413223266602, -0.0931016355752945]], "sgd_nesterov": [[0.49050000309944153, -1.2309999465942383, 1.971500039100647, 0.03799999877810478], [0.4912000000476837, -1.2703999280929565, 1.9356000423431396, 0.04232499748468399], [0.39458000659942627, -1.1883599758148193, 1.9145400524139404, -0.13815751671791077]], "adam": [[0.49000000953674316, -1.2400000095367432, 1.9900000095367432, 0.009999999776482582], [0.4873366355895996, -1.244422197341919, 1.980088233947754, 0.014174701645970345], [0.4807594418525696, -1.2404171228408813, 1.972426414489746, 0.00858331099152565]], "adam_wd": [[0.49000006914138794, -1.2400000095367432, 1.9900000095367432, 0.009999975562095642], [0.4837515354156494, -1.2418330907821655, 1.9800714254379272, 0.01364193856716156], [0.47612321376800537, -1.2358994483947754, 1.9711638689041138, 0.0072625079192221165]], "adamw": [[0.4895000159740448, -1.2387499809265137, 1.9880000352859497, 0.009999999776482582], [0.48634713888168335, -1.2419334650039673, 1.9761003255844116, 0.014164701104164124], [0.4792836010456085, -1.2366864681243896, 1.9664623737335205, 0.008559146896004677]]};
const P0 = [0.5, -1.25, 2.0, 0.0];
const GRADS = [[0.1, -0.2, 0.3, -0.4], [-0.05, 0.5, 0.25, 0.125], [1.0, -1.0, 0.0, 2.0]];
const CONFIGS: Record<string, OptimizerConfig> = {
  sgd: { kind: "sgd", lr: 0.1 },
  sgd_momentum_wd: { kind: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.01, dampening: 0.1 },
  sgd_nesterov: { kind: "sgd", lr: 0.05, momentum: 0.9, nesterov: true },
  adam: { kind: "adam", lr: 0.01 },
  adam_wd: { kind: "adam", lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 },
  adamw: { kind: "adamw", lr: 0.01, weightDecay: 0.1 },
};

for (const [name, config] of Object.entries(CONFIGS)) {
  test(`optimizer ${name} matches torch.optim for three steps`, () => {
    const p = Float32Array.from(P0);
    const optimizer = createOptimizer(config);
    for (let s = 0; s < GRADS.length; s++) {
      const grad = Float32Array.from(GRADS[s]!);
      optimizer.step([p], [grad]);
      assert.deepEqual(Array.from(grad), Array.from(Float32Array.from(GRADS[s]!)), "grads must not be modified");
      const expected = TORCH[name]![s]!;
      for (let i = 0; i < p.length; i++) {
        const tol = 2e-6 + 1e-6 * Math.abs(expected[i]!);
        assert.ok(Math.abs(p[i]! - expected[i]!) <= tol, `${name} step ${s + 1} element ${i}: ${p[i]} vs torch ${expected[i]}`);
      }
    }
    assert.equal(optimizer.steps, 3);
  });
}

test("optimizer keeps separate state per parameter", () => {
  const a = Float32Array.from([1, 2]);
  const b = Float32Array.from([3]);
  const optimizer = createOptimizer({ kind: "sgd", lr: 1, momentum: 0.5 });
  optimizer.step([a, b], [Float32Array.from([1, 1]), Float32Array.from([2])]);
  optimizer.step([a, b], [Float32Array.from([1, 1]), Float32Array.from([2])]);
  // buf1 = g, buf2 = 0.5 g + g = 1.5 g: total update 2.5 g.
  assert.deepEqual(Array.from(a), [1 - 2.5, 2 - 2.5]);
  assert.deepEqual(Array.from(b), [3 - 5]);
});

test("optimizer options are validated with their ranges", () => {
  assert.throws(() => createOptimizer({ kind: "sgd", lr: 0 }), (e: Error) => e instanceof RangeError && /lr must be > 0/.test(e.message));
  assert.throws(() => createOptimizer({ kind: "sgd", lr: 0.1, momentum: 1 }), /momentum must be in \[0, 1\)/);
  assert.throws(() => createOptimizer({ kind: "sgd", lr: 0.1, nesterov: true }), /nesterov needs momentum > 0/);
  assert.throws(() => createOptimizer({ kind: "adam", lr: 0.1, betas: [0.9, 1] }), /betas\[1\] must be in \[0, 1\)/);
  assert.throws(() => createOptimizer({ kind: "adamw", lr: 0.1, eps: 0 }), /eps must be > 0/);
  assert.equal(createOptimizer({ kind: "adamw", lr: 0.1 }).config.weightDecay, 0.01);
  const o = createOptimizer({ kind: "sgd", lr: 0.1 });
  assert.throws(() => o.step([new Float32Array(2)], [new Float32Array(3)]), /param 0 has 2 elements but its gradient 3/);
});
