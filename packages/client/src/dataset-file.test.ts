import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decodeSafetensors, encodeSafetensors } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { DATASET_UPLOAD_FORMAT, encodeDatasetUpload, readDatasetFile } from "./dataset-file.js";
import { encodeNpz } from "./npz.js";
import { createTensor } from "./typed-tensor.js";

const dir = mkdtempSync(join(tmpdir(), "sanctum-dataset-file-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const arrays = { x: createTensor("float32", Float32Array.of(1, 2, 3, 4), [2, 2]), labels: createTensor("int64", BigInt64Array.of(0n, 1n), [2]) };
const isCode = (code: string, pattern?: RegExp) => (err: unknown) => err instanceof ClientError && err.code === code && (pattern === undefined || pattern.test(err.message));

describe("dataset files", () => {
  it("reads .npz, .safetensors and .csv into the same arrays", async () => {
    writeFileSync(join(dir, "d.npz"), encodeNpz(arrays));
    const raw = { x: { dtype: "float32" as const, shape: [2, 2], data: new Uint8Array(arrays.x.data.buffer) }, labels: { dtype: "int64" as const, shape: [2], data: new Uint8Array(arrays.labels.data.buffer) } };
    writeFileSync(join(dir, "d.safetensors"), encodeSafetensors(raw));
    writeFileSync(join(dir, "d.csv"), "a,b,y\n1,2,0\n3,4,1\n");
    for (const [file, options] of [["d.npz", {}], ["d.safetensors", {}], ["d.csv", { label: "y" }]] as const) {
      const t = await readDatasetFile(join(dir, file), options);
      assert.deepEqual([...(t["x"]!.data as Float32Array)], [1, 2, 3, 4], file);
      assert.deepEqual([...(t["labels"]!.data as BigInt64Array)], [0n, 1n], file);
    }
  });

  it("refuses unknown extensions, a CSV without --label, and --label on other formats", async () => {
    await assert.rejects(readDatasetFile(join(dir, "d.parquet")), isCode("invalid-file", /\.npz or \.safetensors/));
    await assert.rejects(readDatasetFile(join(dir, "d.csv")), isCode("invalid-argument", /--label COLUMN/));
    await assert.rejects(readDatasetFile(join(dir, "d.npz"), { label: "y" }), isCode("invalid-argument", /apply to \.csv files only/));
  });

  it("encodes the upload as safetensors after the server's checks", () => {
    const { bytes, summary } = encodeDatasetUpload(arrays);
    assert.equal(summary.rows, 2);
    const decoded = decodeSafetensors(bytes);
    assert.deepEqual(decoded.metadata, { format: DATASET_UPLOAD_FORMAT });
    assert.deepEqual(Object.keys(decoded.tensors).sort(), ["labels", "x"]);
    const nan = { ...arrays, x: createTensor("float32", Float32Array.of(1, Number.NaN, 3, 4), [2, 2]) };
    assert.throws(() => encodeDatasetUpload(nan), isCode("invalid-file", /'x' holds NaN in record 0/));
    assert.throws(() => encodeDatasetUpload({ x: arrays.x }), isCode("invalid-file", /no 'labels'/));
  });
});
