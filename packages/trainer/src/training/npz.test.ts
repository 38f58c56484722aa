import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { zipSync } from "fflate";
import { decodeNpy, decodeNpz, encodeNpz, type NpyArray } from "./npz.js";
import { TrainerError } from "../trainer-error.js";

// Test data lives in src/ (made by testdata/make-npz.py with NumPy); tests run from dist/.
const testdata = new URL("../../src/training/testdata/", import.meta.url);

for (const file of ["small.npz", "small-compressed.npz"]) {
  test(`decodeNpz reads NumPy's ${file}`, () => {
    const arrays = decodeNpz(readFileSync(new URL(file, testdata)));
    assert.deepEqual([...arrays.keys()].sort(), ["flags", "ids", "labels", "scalar", "x"]);
    const x = arrays.get("x")!;
    assert.equal(x.dtype, "float32");
    assert.deepEqual(x.shape, [2, 3]);
    assert.deepEqual(Array.from(x.data as Float32Array), [0, 0.25, 0.5, 0.75, 1, 1.25]);
    const labels = arrays.get("labels")!;
    assert.equal(labels.dtype, "int64");
    assert.deepEqual(Array.from(labels.data as BigInt64Array), [3n, -1n]);
    assert.equal(arrays.get("ids")!.dtype, "int32");
    assert.deepEqual(arrays.get("flags")!.shape, [3]);
    assert.equal(arrays.get("flags")!.dtype, "bool");
    assert.deepEqual(arrays.get("scalar")!.shape, []);
    assert.deepEqual(Array.from(arrays.get("scalar")!.data as Float64Array), [2.5]);
  });
}

test("encodeNpz round-trips through decodeNpz", () => {
  const arrays: Record<string, NpyArray> = {
    a: { dtype: "float32", shape: [3, 1], data: Float32Array.from([1, 2, 3]) },
    b: { dtype: "int64", shape: [2], data: BigInt64Array.from([5n, 6n]) },
    c: { dtype: "uint8", shape: [1], data: Uint8Array.from([255]) },
  };
  const back = decodeNpz(encodeNpz(arrays));
  assert.deepEqual(back.get("a"), arrays["a"]);
  assert.deepEqual(back.get("b"), arrays["b"]);
  assert.deepEqual(back.get("c"), arrays["c"]);
});

test("malformed npy/npz input fails with invalid-npz", () => {
  const isNpz = (e: unknown) => e instanceof TrainerError && e.code === "invalid-npz";
  assert.throws(() => decodeNpz(Uint8Array.from([1, 2, 3])), isNpz);
  assert.throws(() => decodeNpy(Uint8Array.from([0x93, 78, 85, 77, 80, 89, 9, 0, 0, 0])), isNpz);
  const good = encodeNpz({ a: { dtype: "float32", shape: [2], data: Float32Array.from([1, 2]) } });
  const npy = decodeNpzEntry(good);
  assert.throws(() => decodeNpy(npy.subarray(0, npy.length - 1), "a"), (e: unknown) => isNpz(e) && /array 'a'.*expected 8/.test((e as Error).message));
  const bigEndian = Buffer.from(npy).toString("latin1").replace("<f4", ">f4");
  assert.throws(() => decodeNpy(Uint8Array.from(Buffer.from(bigEndian, "latin1")), "a"), (e: unknown) => isNpz(e) && /unsupported dtype '>f4'/.test((e as Error).message));
});

function decodeNpzEntry(npz: Uint8Array): Uint8Array {
  // An uncompressed zip stores the .npy verbatim after the 30-byte local header and the name.
  const nameLength = npz[26]! | (npz[27]! << 8);
  const extraLength = npz[28]! | (npz[29]! << 8);
  const size = npz[18]! | (npz[19]! << 8) | (npz[20]! << 16);
  const start = 30 + nameLength + extraLength;
  return npz.slice(start, start + size);
}

test("an archive that unzips past the limit is refused before it is inflated", () => {
  // 40 MB of zeros deflate to a few KB: a small bomb.
  const bomb = zipSync({ "x.npy": new Uint8Array(40_000_000) }, { level: 9 });
  assert.ok(bomb.length < 100_000);
  assert.throws(() => decodeNpz(bomb, 10_000_000), (e: Error) => e instanceof TrainerError && e.code === "invalid-npz" && /unzips to 0\.04 GiB, more than the 0\.01 GiB/.test(e.message));
});
