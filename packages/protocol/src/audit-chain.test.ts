import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { AUDIT_GENESIS_HASH, hashDatasetAuditEntry, signAuditHead, verifyAuditLog, type DatasetAuditEntry } from "./audit-chain.js";

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));

function chain(n: number): DatasetAuditEntry[] {
  const out: DatasetAuditEntry[] = [];
  let prev = AUDIT_GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body = { seq, time: `2026-01-01T00:00:0${seq}Z`, dataset: "ds_1", caller: "ed25519:abc", action: "train", outcome: "ok", details: `{"run":"r${seq}"}` };
    const hash = hashDatasetAuditEntry(prev, body);
    out.push({ ...body, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

const headOf = (entries: DatasetAuditEntry[], dataset = "ds_1") =>
  signAuditHead(
    { type: "sanctum-audit-head", version: 1, dataset, seq: entries.length, hash: entries.at(-1)?.hash ?? AUDIT_GENESIS_HASH, time: "2026-01-01T00:00:00Z" },
    privateKey,
  );

test("an intact log with its signed head verifies", () => {
  const entries = chain(3);
  const result = verifyAuditLog(entries, headOf(entries), spki, "ds_1");
  assert.equal(result.verified, true);
  assert.equal(result.head?.seq, 3);
  assert.equal(verifyAuditLog([], headOf([]), spki, "ds_1").verified, true);
});

test("an altered entry is found by seq", () => {
  const entries = chain(3);
  const head = headOf(entries);
  const tampered = entries.map((e) => (e.seq === 2 ? { ...e, outcome: "permission-denied" } : e));
  const result = verifyAuditLog(tampered, head, spki, "ds_1");
  assert.equal(result.verified, false);
  assert.equal(result.brokenSeq, 2);
});

test("truncation, a foreign signature and another dataset's head are refused", () => {
  const entries = chain(3);
  assert.equal(verifyAuditLog(entries.slice(0, 2), headOf(entries), spki, "ds_1").verified, false);
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" });
  assert.equal(verifyAuditLog(entries, headOf(entries), new Uint8Array(other), "ds_1").verified, false);
  assert.equal(verifyAuditLog(entries, headOf(entries, "ds_2"), spki, "ds_1").verified, false);
  const reordered = [entries[1]!, entries[0]!, entries[2]!];
  assert.equal(verifyAuditLog(reordered, headOf(entries), spki, "ds_1").brokenSeq, 2);
});
