import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { generateIdentity, type UploadModelRequest } from "@sanctum/protocol";
import { createSanctumServer, type SanctumServer } from "./index.js";
import { createTestClient, type TestClient } from "./test-support/test-client.js";
import { fixtureBytes, fixtureNpz } from "./test-support/fixtures.js";
import { chunkMessage, headerMessage, uploadStream, wireTensors } from "./test-support/upload-stream.js";
import { eventually, expectCode } from "./test-support/expect-code.js";

const owner = generateIdentity();

describe("size limits and broken uploads", () => {
  let server: SanctumServer;
  let dir: string;
  let client: TestClient;
  const uploadCalls = () => server.internals.audit.list({ limit: 100_000 }).filter((e) => e.method === "ModelService/UploadModel").length;
  const blobFiles = () => readdirSync(join(dir, "blobs"));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sanctum-limits-"));
    server = await createSanctumServer({
      platform: "simulation",
      port: 0,
      dataDir: dir,
      logLevel: "silent",
      maxModelBytes: 50_000,
      maxRequestBytes: 4096,
    });
    client = createTestClient(server, { identity: owner });
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("cuts a model over --max-model-bytes on the bytes received, whatever the stream would still send", async () => {
    let sent = 0;
    async function* endless(): AsyncIterable<UploadModelRequest> {
      yield headerMessage("too-big");
      const chunk = new Uint8Array(16 * 1024);
      // Far more than the limit: the server must stop it on what it received.
      for (sent = 0; sent < 100_000; sent++) yield chunkMessage(chunk);
    }
    await expectCode(client.models.uploadModel(endless()), Code.ResourceExhausted, /50000 bytes \(--max-model-bytes\)/);
    assert.ok(sent < 1000, `the client was allowed to send ${sent} chunks`);
    await expectCode(client.models.uploadModel(uploadStream("text", fixtureBytes("text.onnx"), undefined, 16 * 1024)), Code.ResourceExhausted);
    assert.deepEqual((await client.models.listModels({})).models, []);
    assert.deepEqual(blobFiles(), []);
  });

  it("refuses a chunk over 1 MiB", async () => {
    const big = new Uint8Array((1 << 20) + 1);
    await expectCode(client.models.uploadModel((async function* () { yield headerMessage("big-chunk"); yield chunkMessage(big); })()), Code.InvalidArgument, /at most 1048576 bytes/);
  });

  it("refuses chunks before the header, and a stream without one", async () => {
    await expectCode(client.models.uploadModel((async function* () { yield chunkMessage(new Uint8Array(10)); })()), Code.InvalidArgument, /first message must be the header/);
    await expectCode(client.models.uploadModel((async function* () { yield headerMessage("empty"); })()), Code.InvalidArgument, /no model bytes/);
  });

  it("leaves no model and no file behind when the upload stream is cut mid-way", async () => {
    const before = uploadCalls();
    const mlp = fixtureBytes("mlp.onnx");
    async function* cut(): AsyncIterable<UploadModelRequest> {
      yield headerMessage("cut");
      yield chunkMessage(mlp.subarray(0, 1000));
      await new Promise((r) => setTimeout(r, 100));
      throw new Error("connection lost");
    }
    await assert.rejects(client.models.uploadModel(cut()));
    await eventually(() => uploadCalls() > before, "the server ended the cut upload");
    assert.deepEqual((await client.models.listModels({})).models, []);
    assert.deepEqual(blobFiles(), []);
    // The name is still free, and the server still healthy.
    const ok = await client.models.uploadModel(uploadStream("cut", mlp));
    assert.equal(ok.model?.name, "cut");
    assert.equal(blobFiles().length, 1);
    await client.models.deleteModel({ model: "cut" });
    assert.deepEqual(blobFiles(), []);
  });

  for (const protocol of ["grpc", "connect"] as const) {
    it(`refuses a predict request over --max-request-bytes (${protocol}), naming the limit and the flag`, async () => {
      const c = createTestClient(server, { identity: owner, protocol });
      const up = await c.models.uploadModel(uploadStream(`cnn-${protocol}`, fixtureBytes("cnn.onnx")));
      const inputs = wireTensors(fixtureNpz("cnn.inputs.npz")); // 3 x 784 float32 = 9408 bytes
      await expectCode(c.models.predict({ model: up.model!.id, inputs }), Code.ResourceExhausted, /4096 bytes \(--max-request-bytes\)/);
      // Refused before authentication, and still in the audit log.
      await eventually(
        () => server.internals.audit.list({ limit: 100_000 }).some((e) => e.method === "ModelService/Predict" && e.caller === "anonymous" && e.outcome === "resource_exhausted"),
        "the refused request is audited",
      );
      const image = inputs["image"]!;
      const one = { image: { ...image, shape: [1n, 1n, 28n, 28n], data: image.data.subarray(0, 784 * 4) } };
      const res = await c.models.predict({ model: up.model!.id, inputs: one });
      assert.deepEqual(res.outputs["logits"]?.shape.map(Number), [1, 10]);
    });
  }
});
