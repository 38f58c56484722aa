import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateIdentity } from "@sanctum/protocol";
import { createSanctumServer } from "./index.js";
import { createTestClient } from "./test-support/test-client.js";
import { fixtureBytes, fixtureNpz } from "./test-support/fixtures.js";
import { uploadStream, wireTensors } from "./test-support/upload-stream.js";
import { eventually } from "./test-support/expect-code.js";

const owner = generateIdentity();

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe("sealed storage across restarts", () => {
  const dir = mkdtempSync(join(tmpdir(), "sanctum-persist-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps models across a restart, with no plaintext model bytes anywhere on disk", async () => {
    const cnn = fixtureBytes("cnn.onnx");
    const inputs = wireTensors(fixtureNpz("cnn.inputs.npz"));
    const first = await createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" });
    let id: string;
    let before: Uint8Array;
    try {
      const client = createTestClient(first, { identity: owner });
      id = (await client.models.uploadModel(uploadStream("cnn", cnn))).model!.id;
      before = (await client.models.predict({ model: id, inputs })).outputs["logits"]!.data;
    } finally {
      await first.close();
    }

    // Distinctive runs of the model's bytes (weights, graph strings) must not appear in any file,
    // including the SQLite WAL, while the server is stopped.
    const probes = [64, cnn.length >> 2, cnn.length >> 1, cnn.length - 96].map((at) => cnn.subarray(at, at + 32));
    const files = allFiles(dir);
    assert.ok(files.some((f) => f.endsWith(".sealed")), "a sealed blob exists");
    for (const file of files) {
      const content = readFileSync(file);
      for (const probe of probes) assert.equal(content.indexOf(probe), -1, `plaintext model bytes found in ${file}`);
    }
    assert.equal(statSync(join(dir, "sealing.key")).mode & 0o777, 0o600);

    const second = await createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" });
    try {
      assert.notDeepEqual(second.spki, first.spki, "a fresh TLS key at every start");
      const client = createTestClient(second, { identity: owner });
      const listed = (await client.models.listModels({})).models;
      assert.deepEqual(listed.map((m) => [m.id, m.name]), [[id, "cnn"]]);
      const after = (await client.models.predict({ model: "cnn", inputs })).outputs["logits"]!.data;
      assert.deepEqual(Buffer.from(after), Buffer.from(before));
      assert.equal(second.internals.audit.verify(), undefined, "the audit chain continues intact");
      assert.ok(second.internals.audit.list({ limit: 1000 }).length >= 4);
    } finally {
      await second.close();
    }
  });

  it("refuses a data dir another server uses, and says which port is taken", async () => {
    const first = await createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" });
    const other = mkdtempSync(join(tmpdir(), "sanctum-persist-other-"));
    try {
      await assert.rejects(
        createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" }),
        (err: { code?: string; message: string }) => err.code === "data-dir-in-use" && new RegExp(`pid ${process.pid}`).test(err.message),
      );
      const port = Number(new URL(first.url).port);
      await assert.rejects(
        createSanctumServer({ platform: "simulation", port, dataDir: other, logLevel: "silent" }),
        (err: { code?: string; message: string }) => err.code === "invalid-options" && /port is in use; pick another --port/.test(err.message),
      );
      // The failed start released its lock: the other dir is free again.
      const third = await createSanctumServer({ platform: "simulation", port: 0, dataDir: other, logLevel: "silent" });
      await third.close();
    } finally {
      await first.close();
      rmSync(other, { recursive: true, force: true });
    }
    // A lock left by a process that is gone is taken over.
    writeFileSync(join(dir, "sanctum.lock"), "999999999\n");
    const again = await createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" });
    await again.close();
  });

  it("refuses to start when the sealing key file is readable by others", async () => {
    const { chmodSync } = await import("node:fs");
    chmodSync(join(dir, "sealing.key"), 0o644);
    await assert.rejects(
      createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" }),
      (err: { code?: string; message: string }) => err.code === "sealing-key" && /chmod 600/.test(err.message),
    );
    chmodSync(join(dir, "sealing.key"), 0o600);
  });

  it("lets calls in flight finish when it closes, then refuses new connections", async () => {
    const server = await createSanctumServer({ platform: "simulation", port: 0, dataDir: dir, logLevel: "silent" });
    const client = createTestClient(server, { identity: owner });
    const inputs = wireTensors(fixtureNpz("cnn.inputs.npz"));
    await client.models.predict({ model: "cnn", inputs }); // warm: session loaded
    const seen = server.internals.calls().received;
    const inFlight = Promise.all(Array.from({ length: 8 }, () => client.models.predict({ model: "cnn", inputs })));
    // Close once the server has received all 8 (those it never saw would be refused, safe to retry).
    await eventually(() => server.internals.calls().received - seen >= 8, "the server received the 8 calls");
    await server.close();
    const results = await inFlight;
    assert.equal(results.length, 8);
    for (const r of results) assert.deepEqual(r.outputs["logits"]?.shape.map(Number), [3, 10]);
    await assert.rejects(createTestClient(server, { identity: owner }).models.listModels({}));
  });
});
