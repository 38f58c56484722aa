// End to end through the real server (simulation, loopback port 0) and the real SDK: every
// inference fixture against PyTorch's outputs, the registry, access policies, and each bad
// input of issue 2 answered with a clear error while the server stays healthy.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { ClientError, connect, createTensor, decodeNpz, type SanctumClient, type TensorMap, type TypedTensor } from "@sanctum/client";
import { generateIdentity } from "@sanctum/protocol";
import type { SanctumServer } from "@sanctum/server";
import { startMitmProxy } from "../../client/dist/test-support/mitm-proxy.js";
import { clientErrorCode as code, startLoopbackServer, type LoopbackServer } from "./test-support/loopback-server.js";

const FIXTURES = new URL("../../../fixtures/inference/", import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
const npz = (name: string) => decodeNpz(fixture(name), name);
const MAX_MODEL_BYTES = 2 * 1024 * 1024;
const MAX_REQUEST_BYTES = 256 * 1024;

const owner = generateIdentity();
const friend = generateIdentity();
const stranger = generateIdentity();

/** Largest |actual - expected| / max(1, |expected|) (the fixtures' tolerance measure). */
function maxError(actual: TypedTensor, expected: TypedTensor): number {
  assert.equal(actual.dtype, expected.dtype);
  assert.deepEqual(actual.shape, expected.shape);
  let worst = 0;
  const a = Array.from(actual.data as ArrayLike<number | bigint>, Number);
  const e = Array.from(expected.data as ArrayLike<number | bigint>, Number);
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / Math.max(1, Math.abs(e[i]!)));
  return worst;
}

describe("SDK end to end against the real server", () => {
  let env: LoopbackServer | undefined;
  let server: SanctumServer;
  let asOwner: SanctumClient;
  let asFriend: SanctumClient;
  let asStranger: SanctumClient;
  const mlpInputs = npz("mlp.inputs.npz");

  /** The server still answers: a prediction with the MLP works. */
  async function healthy(): Promise<void> {
    const r = await asOwner.models.predict("mlp", mlpInputs);
    assert.ok(maxError(r.outputs["logits"]!, npz("mlp.outputs.npz")["logits"]!) <= 1e-4);
  }

  before(async () => {
    env = await startLoopbackServer({
      dirPrefix: "sanctum-sdk-e2e-",
      identities: [owner, friend, stranger],
      server: { maxModelBytes: MAX_MODEL_BYTES, maxRequestBytes: MAX_REQUEST_BYTES },
    });
    server = env.server;
    asOwner = env.as(owner);
    asFriend = env.as(friend);
    asStranger = env.as(stranger);
  });

  after(() => env?.close());

  it("uploads every fixture and describes its inputs and outputs", async () => {
    for (const name of ["mlp", "cnn", "text", "two_outputs", "dtypes"]) {
      const info = await asOwner.models.upload(fixture(`${name}.onnx`), { name });
      assert.equal(info.name, name);
      assert.equal(info.owner, owner.publicKey);
      assert.match(info.sha256, /^[0-9a-f]{64}$/);
    }
    const text = await asOwner.models.get("text");
    assert.deepEqual(text.inputs, [
      { name: "input_ids", dtype: "int64", shape: ["batch", "seq"] },
      { name: "attention_mask", dtype: "int64", shape: ["batch", "seq"] },
    ]);
    const two = await asOwner.models.get("two_outputs");
    assert.deepEqual(two.outputs.map((o) => [o.name, o.dtype]), [["scores", "float32"], ["label", "int64"]]);
    assert.deepEqual((await asOwner.models.list()).map((m) => m.name).sort(), ["cnn", "dtypes", "mlp", "text", "two_outputs"]);
  });

  for (const [model, inputs, outputs] of [
    ["mlp", "mlp.inputs.npz", "mlp.outputs.npz"],
    ["cnn", "cnn.inputs.npz", "cnn.outputs.npz"],
    ["text", "text.inputs.npz", "text.outputs.npz"],
    ["text", "text.padded.inputs.npz", "text.padded.outputs.npz"],
    ["two_outputs", "two_outputs.inputs.npz", "two_outputs.outputs.npz"],
  ] as const) {
    it(`predicts ${inputs} equal to PyTorch within 1e-4`, async () => {
      const result = await asOwner.models.predict(model, npz(inputs));
      const expected = npz(outputs);
      assert.deepEqual(Object.keys(result.outputs).sort(), Object.keys(expected).sort());
      for (const [name, tensor] of Object.entries(expected)) assert.ok(maxError(result.outputs[name]!, tensor) <= 1e-4, name);
    });
  }

  it("carries every dtype through bit for bit", async () => {
    const inputs = npz("dtypes.inputs.npz");
    const expected = npz("dtypes.outputs.npz");
    const result = await asOwner.models.predict("dtypes", inputs);
    assert.equal(Object.keys(expected).length, 12);
    for (const [name, t] of Object.entries(expected)) {
      const got = result.outputs[name]!;
      assert.equal(got.dtype, t.dtype, name);
      assert.deepEqual(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), name);
    }
  });

  it("returns a receipt already checked against this exchange", async () => {
    const result = await asOwner.models.predict("mlp", mlpInputs, { receipt: true });
    assert.ok(result.receipt !== undefined);
    assert.deepEqual(result.receipt.serverSpki, server.spki);
    assert.deepEqual(result.receipt.evidence.binding?.spki, server.spki);
  });

  it("lets only the owner query by default; --allow and --public open it", async () => {
    await assert.rejects(asStranger.models.predict("mlp", mlpInputs), code("permission-denied", /ask the owner to upload it with --allow/));
    const shared = await asOwner.models.upload(fixture("mlp.onnx"), { name: "mlp-shared", access: { allow: [friend.publicKey] } });
    assert.deepEqual(shared.access, { public: false, allow: [friend.publicKey] });
    await asFriend.models.predict(shared.id, mlpInputs);
    await assert.rejects(asStranger.models.predict(shared.id, mlpInputs), code("permission-denied"));
    await assert.rejects(asFriend.models.delete(shared.id), (e: unknown) => e instanceof ClientError && (e.code === "permission-denied" || e.code === "not-found"));
    const open = await asOwner.models.upload(fixture("mlp.onnx"), { name: "mlp-public", access: { public: true } });
    const r = await asStranger.models.predict(open.id, mlpInputs);
    assert.ok(maxError(r.outputs["logits"]!, npz("mlp.outputs.npz")["logits"]!) <= 1e-4);
    assert.equal(await asOwner.models.delete("mlp-public"), open.id);
    await assert.rejects(asOwner.models.get(open.id), code("not-found"));
  });

  it("refuses bytes that are not ONNX, and truncated ONNX", async () => {
    await assert.rejects(asOwner.models.upload(new TextEncoder().encode("this is not a model"), { name: "junk" }), code("invalid-argument"));
    const cnn = fixture("cnn.onnx");
    await assert.rejects(asOwner.models.upload(cnn.subarray(0, cnn.byteLength / 2), { name: "half" }), code("invalid-argument"));
    await healthy();
  });

  it("refuses a model over --max-model-bytes, counted on bytes received", async () => {
    await assert.rejects(asOwner.models.upload(new Uint8Array(MAX_MODEL_BYTES + 1), { name: "huge" }), code("resource-exhausted", /--max-model-bytes/));
    await healthy();
  });

  it("keeps nothing of an upload cut mid-way", async () => {
    const controller = new AbortController();
    const upload = asOwner.models.upload(new Uint8Array(MAX_MODEL_BYTES - 1024), {
      name: "cut",
      signal: controller.signal,
      onProgress: (sent) => {
        if (sent >= 1024 * 1024) controller.abort();
      },
    });
    await assert.rejects(upload, code("cancelled"));
    assert.equal((await asOwner.models.list()).some((m) => m.name === "cut"), false);
    await healthy();
  });

  it("answers an unknown model with not-found", async () => {
    await assert.rejects(asOwner.models.predict("no-such-model", mlpInputs), code("not-found", /sanctum model list/));
    await assert.rejects(asOwner.models.delete("no-such-model"), code("not-found"));
  });

  it("names the input when its name, dtype or shape is wrong", async () => {
    const x = mlpInputs["x"]!;
    await assert.rejects(asOwner.models.predict("mlp", { y: x }), code("invalid-argument", /"y"/));
    const asF64 = createTensor("float64", Float64Array.from(x.data as Float32Array), x.shape);
    await assert.rejects(asOwner.models.predict("mlp", { x: asF64 }), code("invalid-argument", /"x".*float32/));
    const wrongShape = createTensor("float32", new Float32Array(3 * 12), [3, 12]);
    await assert.rejects(asOwner.models.predict("mlp", { x: wrongShape }), code("invalid-argument", /"x"/));
    await healthy();
  });

  it("refuses a request over --max-request-bytes", async () => {
    const big: TensorMap = { x: createTensor("float32", new Float32Array(8192 * 16), [8192, 16]) };
    await assert.rejects(asOwner.models.predict("mlp", big), code("resource-exhausted"));
    await healthy();
  });

  it("refuses a simulation server unless allowed", async () => {
    await assert.rejects(connect(server.url, { identity: owner }), code("simulation-refused", /--allow-simulation/));
  });

  it("refuses a man in the middle with another key; it sees no model bytes", async () => {
    const proxy = await startMitmProxy(Number(new URL(server.url).port));
    try {
      const marker = new TextEncoder().encode("SANCTUM-MODEL-MARKER-".repeat(20));
      await assert.rejects(
        connect(proxy.url, { identity: owner, allowSimulation: true }).then((c) => c.models.upload(marker)),
        code("server-key-mismatch", /nothing was sent/),
      );
      assert.equal(proxy.seenFromClient().includes(Buffer.from(marker.subarray(0, 40))), false);
      await healthy();
    } finally {
      await proxy.close();
    }
  });
});
