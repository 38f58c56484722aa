import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blobAad, deriveBlobKey, seal, unseal } from "./seal.js";
import { createBlobStore } from "./blob-store.js";
import { removeStaleTempFiles, writeFileAtomic } from "./atomic-write.js";
import { createFileKeyProvider } from "./file-key-provider.js";
import { applyMigrations, openDatabase } from "./database.js";
import { MIGRATIONS } from "./migrations.js";
import { ServerError } from "../server-error.js";

const isCode = (code: string) => (err: unknown) => err instanceof ServerError && err.code === code;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "sanctum-storage-"));
}

describe("seal / unseal (AES-256-GCM)", () => {
  const key = deriveBlobKey(randomBytes(32));
  const plaintext = randomBytes(5000);

  it("round-trips and never contains the plaintext", () => {
    const sealed = seal(key, blobAad("model", "a"), plaintext);
    assert.equal(sealed.indexOf(plaintext.subarray(100, 132)), -1);
    assert.deepEqual(unseal(key, blobAad("model", "a"), sealed), plaintext);
  });

  it("uses a fresh nonce each time", () => {
    assert.notDeepEqual(seal(key, blobAad("model", "a"), plaintext), seal(key, blobAad("model", "a"), plaintext));
  });

  it("detects a flipped bit, truncation, another id or kind, and another key", () => {
    const sealed = seal(key, blobAad("model", "a"), plaintext);
    for (const at of [9, 20, 2000, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 1;
      assert.throws(() => unseal(key, blobAad("model", "a"), bad), isCode("storage-corrupt"), `bit flip at ${at}`);
    }
    assert.throws(() => unseal(key, blobAad("model", "a"), sealed.subarray(0, 20)), isCode("storage-corrupt"));
    assert.throws(() => unseal(key, blobAad("model", "b"), sealed), isCode("storage-corrupt"));
    assert.throws(() => unseal(key, blobAad("dataset", "a"), sealed), isCode("storage-corrupt"));
    assert.throws(() => unseal(deriveBlobKey(randomBytes(32)), blobAad("model", "a"), sealed), isCode("storage-corrupt"));
  });
});

describe("blob store", () => {
  it("stores sealed files, detects a blob moved to another id, and deletes", async () => {
    const dir = tempDir();
    try {
      const store = await createBlobStore({ dir, rootKey: randomBytes(32) });
      const data = randomBytes(3000);
      await store.put("model", "one", data);
      await store.put("model", "two", randomBytes(10));
      assert.deepEqual(await store.get("model", "one"), data);
      assert.deepEqual((await store.ids("model")).sort(), ["one", "two"]);
      assert.equal(readFileSync(join(dir, "model-one.sealed")).indexOf(data.subarray(0, 32)), -1);
      assert.equal(statSync(join(dir, "model-one.sealed")).mode & 0o777, 0o600);
      renameSync(join(dir, "model-one.sealed"), join(dir, "model-two.sealed"));
      await assert.rejects(store.get("model", "two"), isCode("storage-corrupt"));
      await assert.rejects(store.get("model", "one"), isCode("storage-corrupt"));
      await store.delete("model", "two");
      assert.deepEqual(await store.ids("model"), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("removes temp files a crash left, at open", async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir, ".model-x.sealed.abc.tmp"), "partial");
      await createBlobStore({ dir, rootKey: randomBytes(32) });
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("atomic writes", () => {
  it("writes the whole file, leaves no temp file, replaces an old version", async () => {
    const dir = tempDir();
    try {
      const path = join(dir, "f");
      await writeFileAtomic(path, Buffer.from("old"));
      await writeFileAtomic(path, Buffer.from("new content"));
      assert.equal(readFileSync(path, "utf8"), "new content");
      assert.deepEqual(readdirSync(dir), ["f"]);
      assert.equal(await removeStaleTempFiles(dir), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaves neither target nor temp file when the write fails", async () => {
    const dir = tempDir();
    try {
      await assert.rejects(writeFileAtomic(join(dir, "missing-subdir", "f"), Buffer.from("x")));
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("key file provider", () => {
  it("creates a 32-byte key with mode 0600 and reads the same key back", async () => {
    const dir = tempDir();
    try {
      const path = join(dir, "sealing.key");
      const first = await createFileKeyProvider({ path }).getRootKey();
      assert.equal(first.length, 32);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(await createFileKeyProvider({ path }).getRootKey(), first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a key file group or others can read, and a key of the wrong size", async () => {
    const dir = tempDir();
    try {
      const path = join(dir, "sealing.key");
      await createFileKeyProvider({ path }).getRootKey();
      for (const mode of [0o640, 0o604, 0o660]) {
        chmodSync(path, mode);
        await assert.rejects(createFileKeyProvider({ path }).getRootKey(), isCode("sealing-key"));
      }
      writeFileSync(path, randomBytes(16), { mode: 0o600 });
      chmodSync(path, 0o600);
      await assert.rejects(createFileKeyProvider({ path }).getRootKey(), (e: Error) => isCode("sealing-key")(e) && /16 bytes/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("database migrations", () => {
  it("applies each migration once, in WAL mode", () => {
    const dir = tempDir();
    try {
      const db = openDatabase({ path: join(dir, "db") });
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(applyMigrations(db, MIGRATIONS), 0);
      const next = Math.max(...MIGRATIONS.map((m) => m.version)) + 1;
      const extra = [...MIGRATIONS, { version: next, description: "a feature's table", sql: "CREATE TABLE test_feature (id TEXT PRIMARY KEY)" }];
      assert.equal(applyMigrations(db, extra), 1);
      assert.equal(applyMigrations(db, extra), 0);
      db.prepare("INSERT INTO test_feature (id) VALUES ('d')").run();
      db.close();
      // A server that does not know the newest migration refuses the data dir.
      assert.throws(() => openDatabase({ path: join(dir, "db") }), isCode("storage-corrupt"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
