// The server's operator limits (--max-dataset-bytes, --max-training-runs) as clients meet them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTensor } from "@sanctum/client";
import { generateIdentity } from "@sanctum/protocol";
import { effectiveConfiguration, resolveServerOptions } from "@sanctum/server";
import { clientErrorCode as code, startLoopbackServer, type LoopbackServer } from "./test-support/loopback-server.js";

const owner = generateIdentity();

describe("server limits", () => {
  let env: LoopbackServer;
  before(async () => {
    env = await startLoopbackServer({ dirPrefix: "sanctum-limits-", identities: [owner], server: { maxDatasetBytes: 1024 * 1024, maxTrainingRuns: 1 } });
  });
  after(() => env?.close());

  it("refuses a dataset over --max-dataset-bytes, naming the flag, and takes one under it", async () => {
    const rows = 3000; // 3000 x 100 float32 = 1.2 MB as safetensors
    const big = { x: createTensor("float32", new Float32Array(rows * 100), [rows, 100]), labels: createTensor("int64", new BigInt64Array(rows), [rows]) };
    await assert.rejects(env.as(owner).datasets.upload(big, { name: "big", epsilon: 1 }), code("resource-exhausted", /limit of 1048576 bytes .*--max-dataset-bytes/));
    const small = { x: createTensor("float32", new Float32Array(1000 * 100), [1000, 100]), labels: createTensor("int64", new BigInt64Array(1000), [1000]) };
    assert.equal((await env.as(owner).datasets.upload(small, { name: "small", epsilon: 1 })).rows, 1000);
  });

  it("checks the limits' ranges and puts the dataset limit in the attested configuration", () => {
    assert.throws(() => resolveServerOptions({ maxDatasetBytes: 1000 }), /maxDatasetBytes \(--max-dataset-bytes\)/);
    assert.throws(() => resolveServerOptions({ maxTrainingRuns: 0 }), /maxTrainingRuns \(--max-training-runs\)/);
    const o = resolveServerOptions({ maxDatasetBytes: 2 ** 30 * 4 });
    assert.equal(effectiveConfiguration(o)["maxDatasetBytes"], 2 ** 32);
    assert.equal(effectiveConfiguration(o)["sealingKey"], "key-file");
  });
});
