import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateIdentity } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { connect } from "./connect.js";
import { decodeReceiptFile, encodeReceiptFile, verifyReceiptFile } from "./receipt-file.js";
import { startFakeServer, type FakeServer } from "./test-support/fake-server.js";
import { startMitmProxy, startTcpForwarder } from "./test-support/mitm-proxy.js";
import { createTensor } from "./typed-tensor.js";

const identity = generateIdentity();
// A recognizable model: if these bytes ever reach a man in the middle, the test sees them.
const MARKER = Buffer.from("SANCTUM-SECRET-MODEL-BYTES-".repeat(40));

function isClientError(code: string) {
  return (err: unknown) => err instanceof ClientError && err.code === code;
}

describe("attested channel", () => {
  let server: FakeServer;
  before(async () => {
    server = await startFakeServer();
  });
  after(() => server.close());

  it("attests, pins, and then carries tokens; uploads stream in chunks of at most 1 MiB with progress", async () => {
    const client = await connect(server.url, { identity, allowSimulation: true });
    try {
      assert.equal(client.attestation.verified, true);
      assert.equal(client.attestation.platform, "simulation");
      assert.deepEqual(client.serverSpki, server.spki);
      assert.deepEqual(client.evidence.binding?.spki, server.spki);
      assert.equal(client.evidence.binding?.nonce.byteLength, 32);
      const progress: number[] = [];
      const model = new Uint8Array(2.5 * 1024 * 1024).fill(7);
      const info = await client.models.upload(model, { name: "echo", onProgress: (sent, total) => {
        assert.equal(total, model.byteLength);
        progress.push(sent);
      } });
      assert.equal(info.owner, identity.publicKey);
      assert.deepEqual(server.chunkSizes, [1048576, 1048576, 524288]);
      assert.deepEqual(progress, [1048576, 2097152, model.byteLength]);
      assert.ok(server.callers.every((c) => c === identity.publicKey));
      assert.equal((await client.models.list()).length, 1);
      await assert.rejects(client.models.get("nope"), isClientError("not-found"));
    } finally {
      client.close();
    }
  });

  it("predicts with a receipt that verifies offline and catches tampering", async () => {
    const client = await connect(server.url, { identity, allowSimulation: true });
    try {
      const x = createTensor("float32", Float32Array.from([1, 2, 3, 4]), [2, 2]);
      const ids = createTensor("int64", BigInt64Array.from([1n, 2n ** 60n]), [1, 2]);
      const result = await client.models.predict("echo", { x, ids }, { receipt: true });
      assert.deepEqual(Array.from(result.outputs["echo_x"]!.data as Float32Array), [1, 2, 3, 4]);
      assert.deepEqual(Array.from(result.outputs["echo_ids"]!.data as BigInt64Array), [1n, 2n ** 60n]);
      assert.ok(result.receipt !== undefined);
      const file = decodeReceiptFile(encodeReceiptFile(result.receipt));
      const ok = await verifyReceiptFile(file, { allowSimulation: true, inputs: { x, ids }, outputs: result.outputs });
      assert.deepEqual(ok.problems, []);
      assert.equal(ok.valid, true);
      assert.equal(ok.statement?.model, "m1");

      const strict = await verifyReceiptFile(file);
      assert.deepEqual(strict.problems.map((p) => p.code), ["evidence-simulation-refused"]);

      const otherInputs = await verifyReceiptFile(file, { allowSimulation: true, inputs: { x: createTensor("float32", Float32Array.from([1, 2, 3, 5]), [2, 2]), ids } });
      assert.deepEqual(otherInputs.problems.map((p) => p.code), ["input-digest"]);

      const payload = Buffer.from(file.receipt.payload).toString("utf8").replace(/"model":"m1"/, '"model":"m2"');
      const forged = await verifyReceiptFile({ ...file, receipt: { ...file.receipt, payload: Buffer.from(payload) } }, { allowSimulation: true });
      assert.deepEqual(forged.problems.map((p) => p.code), ["signature"]);
      assert.equal(forged.statement, undefined);

      const other = await startFakeServer();
      const foreignKey = other.spki;
      await other.close();
      const moved = await verifyReceiptFile({ ...file, serverSpki: foreignKey }, { allowSimulation: true });
      assert.deepEqual(moved.problems.map((p) => p.code).sort(), ["binding", "signature"]);

      const report = new Uint8Array(file.evidence.report);
      report[report.length - 1]! ^= 1;
      const badEvidence = await verifyReceiptFile({ ...file, evidence: { ...file.evidence, report } }, { allowSimulation: true });
      assert.deepEqual(badEvidence.problems.map((p) => p.code), ["evidence-signature"]);
    } finally {
      client.close();
    }
  });

  it("refuses a simulation server unless allowed, and sends nothing but the evidence request", async () => {
    const fresh = await startFakeServer();
    try {
      await assert.rejects(connect(fresh.url, { identity }), (err: unknown) => isClientError("simulation-refused")(err) && /--allow-simulation/.test((err as Error).message));
      await assert.rejects(connect(fresh.url, { identity, policy: { ...(await import("@sanctum/attestation")).DEFAULT_POLICY } }), isClientError("simulation-refused"));
      assert.deepEqual(fresh.calls, ["GetEvidence", "GetEvidence"]);
      assert.deepEqual(fresh.callers, []);
    } finally {
      await fresh.close();
    }
  });

  it("refuses tampered evidence and sends nothing else", async () => {
    const tampered = await startFakeServer({
      tamper: (e) => {
        const report = new Uint8Array(e.report);
        report[10]! ^= 0x01; // inside the signed JSON body
        return { ...e, report };
      },
    });
    try {
      await assert.rejects(connect(tampered.url, { identity, allowSimulation: true }), isClientError("attestation-failed"));
      assert.deepEqual(tampered.calls, ["GetEvidence"]);
    } finally {
      await tampered.close();
    }
  });

  it("refuses evidence claiming other server facts than it signs", async () => {
    const lying = await startFakeServer({ tamper: (e) => ({ ...e, serverVersion: "9.9.9" }) });
    try {
      await assert.rejects(connect(lying.url, { identity, allowSimulation: true }), isClientError("attestation-failed"));
      assert.deepEqual(lying.calls, ["GetEvidence"]);
    } finally {
      await lying.close();
    }
  });

  it("refuses a man in the middle presenting another key; the proxy sees no model bytes and no token", async () => {
    const fresh = await startFakeServer();
    const proxy = await startMitmProxy(fresh.port);
    try {
      await assert.rejects(
        connect(proxy.url, { identity, allowSimulation: true }).then((c) => c.models.upload(MARKER)),
        isClientError("server-key-mismatch"),
      );
      const seen = proxy.seenFromClient();
      assert.ok(seen.length > 0, "the proxy relayed the evidence request");
      assert.equal(seen.includes(MARKER.subarray(0, 64)), false);
      assert.equal(seen.includes(Buffer.from("authorization")), false);
      assert.deepEqual(fresh.calls, ["GetEvidence"]);
    } finally {
      await proxy.close();
      await fresh.close();
    }
  });

  it("refuses a different key after attestation (the pin holds across reconnects)", async () => {
    const a = await startFakeServer();
    const b = await startFakeServer();
    const forwarder = await startTcpForwarder(a.port);
    try {
      const client = await connect(forwarder.url, { identity, allowSimulation: true });
      assert.equal((await client.models.list()).length, 1);
      forwarder.switchTo(b.port);
      // The first call may still meet the dropped connection; the one after must meet the pin.
      let failure: unknown = await client.models.upload(MARKER).catch((e: unknown) => e);
      if (failure instanceof ClientError && (failure.code === "cancelled" || failure.code === "unavailable")) {
        failure = await client.models.upload(MARKER).catch((e: unknown) => e);
      }
      assert.ok(isClientError("server-key-mismatch")(failure), String(failure));
      assert.deepEqual(b.calls, []);
      client.close();
      await assert.rejects(client.models.list(), isClientError("closed"));
    } finally {
      await forwarder.close();
      await a.close();
      await b.close();
    }
  });

  it("maps a refused token to unauthenticated, keeping the server's reason", async () => {
    const skewed = await startFakeServer({ tokenNow: new Date(Date.now() + 600_000) });
    try {
      const client = await connect(skewed.url, { identity, allowSimulation: true });
      await assert.rejects(client.models.list(), (err: unknown) => isClientError("unauthenticated")(err) && /expired.*clock/.test((err as Error).message));
      client.close();
    } finally {
      await skewed.close();
    }
  });

  it("says what to do when the server cannot be reached or the URL is wrong", async () => {
    await assert.rejects(connect("https://127.0.0.1:1", { identity }), (err: unknown) => isClientError("unavailable")(err) && /check the URL/.test((err as Error).message));
    await assert.rejects(connect("http://127.0.0.1:9443", { identity }), isClientError("invalid-argument"));
    await assert.rejects(connect("not a url", { identity }), isClientError("invalid-argument"));
  });
});
