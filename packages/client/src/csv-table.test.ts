import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientError } from "./client-error.js";
import { parseCsvDataset, parseCsvRecords } from "./csv-table.js";

const refused = (code: string, pattern: RegExp) => (err: unknown) => err instanceof ClientError && err.code === code && pattern.test(err.message);

describe("CSV datasets", () => {
  it("splits quoted fields with commas, doubled quotes and line breaks, CRLF and a BOM", () => {
    const records = parseCsvRecords('\ufeffa,"b,c"\r\n"x ""y""","multi\nline"\r\n\r\n');
    assert.deepEqual(records.map((r) => r.cells), [["a", "b,c"], ['x "y"', "multi\nline"]]);
    assert.deepEqual(records.map((r) => r.line), [1, 2]);
  });

  it("reads features as float32 [N, F] and integer labels as int64 [N]", () => {
    const t = parseCsvDataset('f1,"f 2",target\n1.5,2,0\r\n-3e2,.5,1\n', { label: "target" });
    assert.equal(t["x"]!.dtype, "float32");
    assert.deepEqual(t["x"]!.shape, [2, 2]);
    assert.deepEqual([...(t["x"]!.data as Float32Array)], [1.5, 2, -300, 0.5]);
    assert.equal(t["labels"]!.dtype, "int64");
    assert.deepEqual([...(t["labels"]!.data as BigInt64Array)], [0n, 1n]);
  });

  it("picks and orders --features, and makes non-integer labels float32 [N, 1]", () => {
    const t = parseCsvDataset("a,b,c,y\n1,2,3,0.5\n4,5,6,1.5\n", { label: "y", features: ["c", "a"] });
    assert.deepEqual([...(t["x"]!.data as Float32Array)], [3, 1, 6, 4]);
    assert.equal(t["labels"]!.dtype, "float32");
    assert.deepEqual(t["labels"]!.shape, [2, 1]);
  });

  it("refuses non-numeric and empty cells naming row, line and column but not the value", () => {
    assert.throws(() => parseCsvDataset("a,y\n1,0\nsecret-value,1\n", { label: "y" }), (err: unknown) =>
      refused("invalid-file", /row 2 \(line 3\), column 'a' is not a number/)(err) && !(err as Error).message.includes("secret-value"));
    assert.throws(() => parseCsvDataset("a,y\n1,\n", { label: "y" }), refused("invalid-file", /row 1 \(line 2\), column 'y' is empty/));
    assert.throws(() => parseCsvDataset("a,y\nNaN,0\n", { label: "y" }), refused("invalid-file", /not a number/));
    assert.throws(() => parseCsvDataset("a,y\n1e39,0\n", { label: "y" }), refused("invalid-file", /float32 range/));
  });

  it("refuses a missing label column, unknown features, ragged rows, duplicate headers and open quotes", () => {
    assert.throws(() => parseCsvDataset("a,b\n1,2\n", { label: "y" }), refused("invalid-argument", /no such column/));
    assert.throws(() => parseCsvDataset("a,y\n1,2\n", { label: "y", features: ["z"] }), refused("invalid-argument", /no column 'z'/));
    assert.throws(() => parseCsvDataset("a,y\n1,2,3\n", { label: "y" }), refused("invalid-file", /3 cells but the header has 2/));
    assert.throws(() => parseCsvDataset("a,a,y\n1,2,3\n", { label: "y" }), refused("invalid-file", /twice/));
    assert.throws(() => parseCsvDataset('a,y\n"1,2\n', { label: "y" }), refused("invalid-file", /never closed/));
    assert.throws(() => parseCsvDataset("a,y\n", { label: "y" }), refused("invalid-file", /no data rows/));
  });
});
