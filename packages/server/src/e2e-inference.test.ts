import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { computeReportData, verifyEvidence, DEFAULT_POLICY } from "@sanctum/attestation";
import { digestTensors, generateIdentity, verifyReceiptSignature, type Tensor } from "@sanctum/protocol";
import { createSanctumServer, type SanctumServer } from "./index.js";
import { createTestClient, type TestClient } from "./test-support/test-client.js";
import { fixtureBytes, fixtureNpz, floatsOf as floats, maxExcess } from "./test-support/fixtures.js";
import { uploadStream, wireTensors as wire } from "./test-support/upload-stream.js";
import { expectCode as rejects } from "./test-support/expect-code.js";

const owner = generateIdentity();
const friend = generateIdentity();
const stranger = generateIdentity();

describe("server end to end (simulation, loopback)", () => {
  let server: SanctumServer;
  let dir: string;
  let asOwner: TestClient;
  let asFriend: TestClient;
  let asStranger: TestClient;
  const ids: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sanctum-e2e-"));
    server = await createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" });
    asOwner = createTestClient(server, { identity: owner });
    asFriend = createTestClient(server, { identity: friend });
    asStranger = createTestClient(server, { identity: stranger });
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves evidence bound to its TLS key and the nonce, and says it is insecure", async () => {
    const nonce = new Uint8Array(randomBytes(32));
    const anonymous = createTestClient(server);
    const res = await anonymous.attestation.getEvidence({ nonce });
    assert.equal(res.platform, "simulation");
    assert.equal(res.insecure, true);
    assert.equal(res.configDigest, server.configDigest);
    assert.equal(anonymous.lastHeaders()?.get("sanctum-platform"), "simulation");
    assert.equal(anonymous.lastHeaders()?.get("sanctum-insecure"), "true");
    const bundle = {
      platform: "simulation" as const,
      report: res.report,
      certificates: res.certificates,
      serverVersion: res.serverVersion,
      configDigest: res.configDigest,
    };
    const verified = await verifyEvidence(bundle, {
      policy: { ...DEFAULT_POLICY, allowSimulation: true },
      expectedReportData: computeReportData(server.spki, nonce),
    });
    assert.equal(verified.verified, true, JSON.stringify(verified.problems));
    const otherNonce = await verifyEvidence(bundle, {
      policy: { ...DEFAULT_POLICY, allowSimulation: true },
      expectedReportData: computeReportData(server.spki, new Uint8Array(32)),
    });
    assert.equal(otherNonce.verified, false);
  });

  it("rejects a nonce that is not 32 bytes", async () => {
    await rejects(createTestClient(server).attestation.getEvidence({ nonce: new Uint8Array(31) }), Code.InvalidArgument, /nonce/);
  });

  it("uploads every fixture model with its signature", async () => {
    for (const name of ["mlp", "cnn", "text", "two_outputs", "dtypes"]) {
      const res = await asOwner.models.uploadModel(uploadStream(name, fixtureBytes(`${name}.onnx`), { allow: [friend.publicKey] }));
      assert.ok(res.model !== undefined);
      assert.match(res.model.id, /^mdl_[0-9a-f]{32}$/);
      assert.equal(res.model.name, name);
      assert.equal(res.model.owner, owner.publicKey);
      assert.deepEqual(res.model.access?.allow, [friend.publicKey]);
      ids[name] = res.model.id;
    }
    const mlp = (await asOwner.models.getModel({ model: "mlp" })).model!;
    assert.equal(mlp.inputs.length, 1);
    assert.equal(mlp.inputs[0]!.name, "x");
    assert.equal(mlp.inputs[0]!.dtype, "float32");
    assert.deepEqual(mlp.inputs[0]!.shape.map((d) => d.value.value), ["batch", 16n]);
    const text = (await asOwner.models.getModel({ model: ids["text"]! })).model!;
    assert.deepEqual(text.inputs.map((i) => [i.name, i.dtype]), [["input_ids", "int64"], ["attention_mask", "int64"]]);
    const two = (await asOwner.models.getModel({ model: "two_outputs" })).model!;
    assert.deepEqual(two.outputs.map((o) => [o.name, o.dtype]), [["scores", "float32"], ["label", "int64"]]);
  });

  for (const [name, inputs, outputs] of [
    ["mlp", "mlp.inputs.npz", "mlp.outputs.npz"],
    ["cnn", "cnn.inputs.npz", "cnn.outputs.npz"],
    ["text", "text.inputs.npz", "text.outputs.npz"],
    ["text", "text.padded.inputs.npz", "text.padded.outputs.npz"],
    ["two_outputs", "two_outputs.inputs.npz", "two_outputs.outputs.npz"],
  ] as const) {
    it(`predicts ${inputs} equal to PyTorch within 1e-4`, async () => {
      const expected = fixtureNpz(outputs);
      const res = await asFriend.models.predict({ model: ids[name]!, inputs: wire(fixtureNpz(inputs)) });
      assert.deepEqual(Object.keys(res.outputs).sort(), Object.keys(expected).sort());
      for (const [out, want] of Object.entries(expected)) {
        const got = res.outputs[out]!;
        assert.deepEqual(got.shape.map(Number), want.shape, `${out} shape`);
        if (want.dtype === "float32" || want.dtype === "float64") {
          assert.equal(maxExcess(floats(got), floats(want), 1e-4, 1e-4), 0, `${out} differs from PyTorch`);
        } else {
          assert.equal(got.dtype, want.dtype);
          assert.deepEqual(Buffer.from(got.data), Buffer.from(want.data), `${out} differs from PyTorch`);
        }
      }
    });
  }

  it("carries every dtype through exactly", async () => {
    const inputs = fixtureNpz("dtypes.inputs.npz");
    const expected = fixtureNpz("dtypes.outputs.npz");
    const res = await asOwner.models.predict({ model: "dtypes", inputs: wire(inputs) });
    assert.equal(Object.keys(res.outputs).length, 12);
    for (const [out, want] of Object.entries(expected)) {
      const got = res.outputs[out]!;
      assert.equal(got.dtype, want.dtype, out);
      assert.deepEqual(Buffer.from(got.data), Buffer.from(want.data), out);
    }
  });

  it("signs a receipt over the model and the digests of inputs and outputs", async () => {
    const inputs = wire(fixtureNpz("mlp.inputs.npz"));
    const res = await asOwner.models.predict({ model: ids["mlp"]!, inputs, receipt: true });
    assert.ok(res.receipt !== undefined);
    const payload = verifyReceiptSignature(res.receipt, server.spki);
    const model = (await asOwner.models.getModel({ model: ids["mlp"]! })).model!;
    assert.equal(payload.model, model.id);
    assert.equal(payload.modelSha256, model.sha256);
    const raw = (ts: Record<string, Tensor>) =>
      Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, { dtype: t.dtype as "float32", shape: t.shape.map(Number), data: t.data }]));
    assert.equal(payload.inputDigest, digestTensors(raw(inputs)));
    assert.equal(payload.outputDigest, digestTensors(raw(res.outputs)));
    const plain = await asOwner.models.predict({ model: ids["mlp"]!, inputs });
    assert.equal(plain.receipt, undefined);
  });

  it("refuses bytes that are not ONNX, and truncated ONNX", async () => {
    await rejects(asOwner.models.uploadModel(uploadStream("junk", Buffer.from("definitely not a model"))), Code.InvalidArgument, /not a valid ONNX model/);
    const cnn = fixtureBytes("cnn.onnx");
    await rejects(asOwner.models.uploadModel(uploadStream("cut", cnn.subarray(0, cnn.length >> 1))), Code.InvalidArgument, /not a valid ONNX model/);
    const names = (await asOwner.models.listModels({})).models.map((m) => m.name);
    assert.ok(!names.includes("junk") && !names.includes("cut"));
  });

  it("refuses a name the owner already uses, and bad names", async () => {
    await rejects(asOwner.models.uploadModel(uploadStream("mlp", fixtureBytes("mlp.onnx"))), Code.AlreadyExists, /pick another name|delete/);
    await rejects(asOwner.models.uploadModel(uploadStream("", fixtureBytes("mlp.onnx"))), Code.InvalidArgument, /name/);
    await rejects(asOwner.models.uploadModel(uploadStream("../etc", fixtureBytes("mlp.onnx"))), Code.InvalidArgument, /name/);
    // Another owner may use the same name.
    const res = await asStranger.models.uploadModel(uploadStream("mlp", fixtureBytes("mlp.onnx")));
    assert.equal(res.model?.owner, stranger.publicKey);
    await asStranger.models.deleteModel({ model: res.model!.id });
  });

  it("refuses an allow-list entry that is not a public key id, naming it", async () => {
    await rejects(
      asOwner.models.uploadModel(uploadStream("m2", fixtureBytes("mlp.onnx"), { allow: [friend.publicKey, "ed25519:nope"] })),
      Code.InvalidArgument,
      /access\.allow\[1\] "ed25519:nope"/,
    );
  });

  it("lets only the owner and the allow-list query a model", async () => {
    const inputs = wire(fixtureNpz("mlp.inputs.npz"));
    const denied = await rejects(asStranger.models.predict({ model: ids["mlp"]!, inputs }), Code.PermissionDenied, /owner/);
    assert.match(denied.rawMessage, new RegExp(stranger.publicKey));
    await rejects(asStranger.models.predict({ model: "mlp", inputs }), Code.PermissionDenied);
    await rejects(asStranger.models.getModel({ model: ids["mlp"]! }), Code.PermissionDenied);
    assert.deepEqual((await asStranger.models.listModels({})).models, []);
    const friendView = (await asFriend.models.listModels({})).models;
    assert.equal(friendView.length, 5);
    assert.equal(friendView[0]!.access, undefined, "only the owner sees the access fields");
    await rejects(asFriend.models.deleteModel({ model: ids["mlp"]! }), Code.PermissionDenied, /only the owner/);
  });

  it("lets anyone query a public model", async () => {
    const res = await asOwner.models.uploadModel(uploadStream("public-mlp", fixtureBytes("mlp.onnx"), { public: true }));
    const out = await asStranger.models.predict({ model: "public-mlp", inputs: wire(fixtureNpz("mlp.inputs.npz")) });
    assert.ok(out.outputs["logits"] !== undefined);
    assert.equal((await asStranger.models.listModels({})).models.length, 1);
    await asOwner.models.deleteModel({ model: res.model!.id });
    await rejects(asStranger.models.predict({ model: res.model!.id, inputs: wire(fixtureNpz("mlp.inputs.npz")) }), Code.NotFound);
  });

  it("answers NotFound for an unknown model (errors carry the platform headers too)", async () => {
    const err = await rejects(asOwner.models.predict({ model: "no-such-model", inputs: {} }), Code.NotFound, /sanctum model list/);
    assert.equal(err.metadata.get("sanctum-platform"), "simulation");
    assert.equal(err.metadata.get("sanctum-insecure"), "true");
    await rejects(asOwner.models.getModel({ model: "mdl_" + "0".repeat(32) }), Code.NotFound);
  });

  it("checks inputs against the model and names the input", async () => {
    const x = fixtureNpz("mlp.inputs.npz")["x"]!;
    const t = (dtype: string, shape: number[], data: Uint8Array): Tensor => ({ $typeName: "sanctum.v1.Tensor", dtype, shape: shape.map(BigInt), data });
    const m = ids["mlp"]!;
    await rejects(asOwner.models.predict({ model: m, inputs: { y: t("float32", x.shape, x.data) } }), Code.InvalidArgument, /unknown input "y".*x \(float32 \[batch, 16\]\)/);
    await rejects(asOwner.models.predict({ model: m, inputs: {} }), Code.InvalidArgument, /missing input "x"/);
    await rejects(asOwner.models.predict({ model: m, inputs: { x: t("float64", x.shape, x.data) } }), Code.InvalidArgument, /"x": expected dtype float32, given float64/);
    await rejects(asOwner.models.predict({ model: m, inputs: { x: t("float32", [48], x.data) } }), Code.InvalidArgument, /"x": expected rank 2/);
    await rejects(asOwner.models.predict({ model: m, inputs: { x: t("float32", [4, 12], x.data) } }), Code.InvalidArgument, /"x": dimension 1 must be 16, given 12/);
    await rejects(asOwner.models.predict({ model: m, inputs: { x: t("float32", [2, 16], x.data) } }), Code.InvalidArgument, /"x": shape \[2, 16\] of float32 needs 128 bytes, given 192/);
    const ids_ = fixtureNpz("text.inputs.npz");
    const mask = ids_["attention_mask"]!;
    await rejects(
      asOwner.models.predict({ model: ids["text"]!, inputs: { input_ids: t("int64", ids_["input_ids"]!.shape, ids_["input_ids"]!.data), attention_mask: t("int64", [1, 18], mask.data) } }),
      Code.InvalidArgument,
      /"attention_mask": dimension 0 \(batch\) is 1 but batch is 3 in input "input_ids"/,
    );
  });

  it("refuses calls without a valid token for this server", async () => {
    const inputs = wire(fixtureNpz("mlp.inputs.npz"));
    await rejects(createTestClient(server).models.listModels({}), Code.Unauthenticated, /missing access token/);
    await rejects(createTestClient(server, { identity: owner, audience: "sanctum-spki:" + "0".repeat(64) }).models.listModels({}), Code.Unauthenticated, /another server key/);
    await rejects(createTestClient(server, { identity: owner, tokenNow: new Date(Date.now() - 600_000) }).models.predict({ model: ids["mlp"]!, inputs }), Code.Unauthenticated, /expired/);
    // Signed by the friend's key but claiming to be the owner.
    const forged = { publicKey: owner.publicKey, privateKey: friend.privateKey };
    await rejects(createTestClient(server, { identity: forged }).models.predict({ model: ids["mlp"]!, inputs }), Code.Unauthenticated, /signature/);
  });

  it("speaks the Connect protocol too", async () => {
    const viaConnect = createTestClient(server, { identity: owner, protocol: "connect" });
    const res = await viaConnect.models.predict({ model: ids["mlp"]!, inputs: wire(fixtureNpz("mlp.inputs.npz")) });
    assert.equal(res.outputs["logits"]?.shape.map(Number).join(","), "3,4");
    assert.equal(viaConnect.lastHeaders()?.get("sanctum-platform"), "simulation");
  });

  it("keeps an intact hash-chained audit log of every call, without data", () => {
    const audit = server.internals.audit;
    assert.equal(audit.verify(), undefined);
    const entries = audit.list({ limit: 10_000 });
    assert.ok(entries.some((e) => e.method === "ModelService/Predict" && e.caller === friend.publicKey && e.object === ids["mlp"] && e.outcome === "ok"));
    assert.ok(entries.some((e) => e.method === "ModelService/Predict" && e.caller === stranger.publicKey && e.outcome === "permission_denied"));
    assert.ok(entries.some((e) => e.method === "AttestationService/GetEvidence" && e.caller === "anonymous"));
    assert.ok(entries.some((e) => e.outcome === "unauthenticated"));
    assert.ok(!entries.some((e) => e.outcome === "not_handled"), "calls that reached the handlers are not counted as refused");
    server.internals.db.prepare("UPDATE audit_log SET outcome = 'ok' WHERE seq = 2").run();
    assert.equal(audit.verify(), 2);
  });
});
