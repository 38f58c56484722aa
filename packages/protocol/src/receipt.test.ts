import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKeyPairSync } from "node:crypto";
import { signReceipt, verifyReceiptSignature, type ReceiptPayload } from "./receipt.js";
import { ProtocolError } from "./protocol-error.js";
import { digestTensors } from "./tensor-digest.js";

describe("receipts", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const payload: ReceiptPayload = {
    type: "sanctum-prediction-receipt",
    version: 1,
    model: "m1",
    modelSha256: "ab".repeat(32),
    inputDigest: digestTensors({ x: { dtype: "float32", shape: [1], data: new Uint8Array(4) } }),
    outputDigest: "cd".repeat(32),
    time: "2026-11-24T00:00:00.000Z",
  };
  it("round-trips", () => {
    assert.deepEqual(verifyReceiptSignature(signReceipt(payload, privateKey), spki), payload);
  });
  it("detects a changed byte", () => {
    const r = signReceipt(payload, privateKey);
    const tampered = Buffer.from(r.payload);
    tampered[tampered.length - 5] ^= 1;
    assert.throws(() => verifyReceiptSignature({ payload: tampered, signature: r.signature }, spki), (e: unknown) => e instanceof ProtocolError && e.code === "receipt-invalid");
  });
  it("detects another server's key", () => {
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" });
    assert.throws(() => verifyReceiptSignature(signReceipt(payload, privateKey), other), ProtocolError);
  });
  it("digests do not depend on key order but do on content", () => {
    const x = { dtype: "float32" as const, shape: [1], data: new Uint8Array([0, 0, 128, 63]) };
    const y = { dtype: "int64" as const, shape: [1], data: new Uint8Array(8) };
    assert.equal(digestTensors({ x, y }), digestTensors({ y, x }));
    assert.notEqual(digestTensors({ x, y }), digestTensors({ x, y: { ...y, shape: [1, 1] } }));
  });
});
