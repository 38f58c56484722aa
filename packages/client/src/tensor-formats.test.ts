import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { zipSync } from "fflate";
import { DTYPES, type Dtype } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { floatToHalf, halfToFloat } from "./float16.js";
import { decodeJsonTensors, encodeJsonTensors } from "./json-tensors.js";
import { decodeNpy, encodeNpy } from "./npy.js";
import { decodeNpz, encodeNpz } from "./npz.js";
import { readTensorFile, writeTensorFile } from "./tensor-file.js";
import { createTensor, fromWireTensor, toWireTensor, type TypedTensor } from "./typed-tensor.js";

const FIXTURES = new URL("../../../fixtures/inference/", import.meta.url);

/** One 2x3 tensor of each dtype with edge values. */
function sample(dtype: Dtype): TypedTensor {
  const shape = [2, 3];
  switch (dtype) {
    case "float32": return createTensor(dtype, Float32Array.from([0, -0, 1.5, -3.25e38, 1e-40, Infinity]), shape);
    case "float64": return createTensor(dtype, Float64Array.from([0, -1.5, Math.PI, 5e-324, -Infinity, NaN]), shape);
    case "float16": return createTensor(dtype, Uint16Array.from([0x0000, 0x8000, 0x3c00, 0x7bff, 0x0001, 0xfc00]), shape);
    case "int8": return createTensor(dtype, Int8Array.from([-128, -1, 0, 1, 2, 127]), shape);
    case "int16": return createTensor(dtype, Int16Array.from([-32768, -1, 0, 1, 2, 32767]), shape);
    case "int32": return createTensor(dtype, Int32Array.from([-2147483648, -1, 0, 1, 2, 2147483647]), shape);
    case "int64": return createTensor(dtype, BigInt64Array.from([-(2n ** 63n), -1n, 0n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n]), shape);
    case "uint8": return createTensor(dtype, Uint8Array.from([0, 1, 2, 127, 128, 255]), shape);
    case "uint16": return createTensor(dtype, Uint16Array.from([0, 1, 2, 32767, 32768, 65535]), shape);
    case "uint32": return createTensor(dtype, Uint32Array.from([0, 1, 2, 2147483647, 2147483648, 4294967295]), shape);
    case "uint64": return createTensor(dtype, BigUint64Array.from([0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]), shape);
    case "bool": return createTensor(dtype, Uint8Array.from([0, 1, 1, 0, 0, 1]), shape);
  }
}

/** JSON has no negative zero (JSON.stringify(-0) is "0"): the one value a JSON round trip changes. */
function jsonable(t: TypedTensor): TypedTensor {
  if (t.dtype === "float32" || t.dtype === "float64") return { ...t, data: t.data.map((v) => (Object.is(v, -0) ? 0 : v)) } as TypedTensor;
  if (t.dtype === "float16") return { ...t, data: t.data.map((v) => (v === 0x8000 ? 0 : v)) };
  return t;
}

function sameTensor(actual: TypedTensor, expected: TypedTensor): void {
  assert.equal(actual.dtype, expected.dtype);
  assert.deepEqual(actual.shape, expected.shape);
  assert.deepEqual(Buffer.from(actual.data.buffer, actual.data.byteOffset, actual.data.byteLength), Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength));
}

function npyWithHeader(header: string, body: Uint8Array): Uint8Array {
  const padded = header + " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + padded.length + body.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, padded.length, true);
  out.set(new TextEncoder().encode(padded), 10);
  out.set(body, 10 + padded.length);
  return out;
}

describe("npy", () => {
  for (const dtype of DTYPES) {
    it(`round-trips ${dtype} bit for bit`, () => sameTensor(decodeNpy(encodeNpy(sample(dtype))), sample(dtype)));
  }
  it("writes headers numpy accepts: 64-byte aligned data, 1-D and scalar shapes", () => {
    const bytes = encodeNpy(createTensor("float32", Float32Array.from([1, 2, 3]), [3]));
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    assert.equal((10 + headerLength) % 64, 0);
    assert.match(new TextDecoder().decode(bytes.subarray(10, 10 + headerLength)), /'shape': \(3,\)/);
    sameTensor(decodeNpy(encodeNpy(createTensor("int32", Int32Array.from([7]), []))), createTensor("int32", Int32Array.from([7]), []));
  });
  it("converts big-endian arrays", () => {
    const body = new Uint8Array([0x3f, 0x80, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00]);
    const t = decodeNpy(npyWithHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", body));
    assert.deepEqual(Array.from(t.data as Float32Array), [1, -2]);
  });
  it("refuses Fortran order with a message that says what to do", () => {
    const bytes = npyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", new Uint8Array(8));
    assert.throws(() => decodeNpy(bytes, "'x.npy'"), (e: unknown) => e instanceof ClientError && e.code === "invalid-file" && /ascontiguousarray/.test(e.message));
  });
  it("refuses unsupported dtypes, truncated data and non-npy bytes", () => {
    const complex = npyWithHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8));
    assert.throws(() => decodeNpy(complex), { code: "invalid-file", message: /'<c8'/ });
    const short = npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(8));
    assert.throws(() => decodeNpy(short), { code: "invalid-file", message: /needs 12 data bytes/ });
    assert.throws(() => decodeNpy(new TextEncoder().encode("{\"x\": 1}")), { code: "invalid-file" });
  });
  it("refuses bool elements other than 0 and 1", () => {
    const bytes = npyWithHeader("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([1, 7]));
    assert.throws(() => decodeNpy(bytes), { code: "invalid-tensor" });
  });
});

describe("npz", () => {
  it("refuses an archive that unzips past the limit before inflating it", () => {
    // 40 MB of zeros deflate to a few KB: a small zip bomb.
    const bomb = zipSync({ "x.npy": new Uint8Array(40_000_000) }, { level: 9 });
    assert.ok(bomb.length < 100_000);
    assert.throws(() => decodeNpz(bomb, "bomb.npz", 10_000_000), (e: Error) => e instanceof ClientError && /^bomb\.npz unzips to 0\.04 GiB, more than the 0\.01 GiB/.test(e.message));
  });

  const all = Object.fromEntries(DTYPES.map((d) => [`t_${d}`, sample(d)]));
  for (const compress of [false, true]) {
    it(`round-trips every dtype (${compress ? "compressed" : "stored"})`, () => {
      const back = decodeNpz(encodeNpz(all, { compress }));
      assert.deepEqual(Object.keys(back).sort(), Object.keys(all).sort());
      for (const [name, t] of Object.entries(all)) sameTensor(back[name]!, t);
    });
  }
  it("reads numpy.savez files (the fixtures) equal to their JSON twins", () => {
    for (const name of ["dtypes", "text", "mlp"]) {
      const npz = decodeNpz(readFileSync(new URL(`${name}.inputs.npz`, FIXTURES)));
      const json = decodeJsonTensors(readFileSync(new URL(`${name}.inputs.json`, FIXTURES), "utf8"));
      assert.deepEqual(Object.keys(npz).sort(), Object.keys(json).sort());
      for (const key of Object.keys(npz)) sameTensor(npz[key]!, json[key]!);
    }
  });
  it("refuses a non-zip file and a zip of non-arrays", () => {
    assert.throws(() => decodeNpz(new Uint8Array([1, 2, 3, 4])), { code: "invalid-file" });
  });
});

describe("JSON tensors", () => {
  for (const dtype of DTYPES) {
    it(`round-trips ${dtype}`, () => {
      const text = JSON.stringify(encodeJsonTensors({ t: sample(dtype) }));
      sameTensor(decodeJsonTensors(text).t!, jsonable(sample(dtype)));
    });
  }
  it("writes int64 beyond 2^53 as strings and safe ones as numbers", () => {
    const json = encodeJsonTensors({ t: sample("int64") });
    assert.deepEqual(json.t!.data.slice(2, 5), [0, 2 ** 53 - 1, "9007199254740993"]);
  });
  it("writes bools as booleans, non-finite floats as strings, float16 as its value", () => {
    assert.deepEqual(encodeJsonTensors({ b: sample("bool") }).b!.data.slice(0, 2), [false, true]);
    assert.deepEqual(encodeJsonTensors({ f: sample("float64") }).f!.data.slice(4), ["-Infinity", "NaN"]);
    assert.deepEqual(encodeJsonTensors({ h: sample("float16") }).h!.data.slice(2, 4), [1, 65504]);
  });
  it("accepts nested data", () => {
    const t = decodeJsonTensors('{"x":{"dtype":"int32","shape":[2,2],"data":[[1,2],[3,4]]}}').x!;
    assert.deepEqual(Array.from(t.data as Int32Array), [1, 2, 3, 4]);
  });
  it("names the tensor and the problem in errors", () => {
    const cases: [string, RegExp][] = [
      ['{"x":{"dtype":"complex64","shape":[1],"data":[1]}}', /tensor 'x'.*dtype must be one of/],
      ['{"x":{"dtype":"float32","shape":[3],"data":[1,2]}}', /holds 3 elements but data has 2/],
      ['{"x":{"dtype":"int8","shape":[1],"data":[300]}}', /data\[0\] is out of the int8 range/],
      ['{"x":{"dtype":"int64","shape":[1],"data":[1.5]}}', /data\[0\] must be an integer/],
      ['{"x":{"dtype":"float32","shape":[-1],"data":[]}}', /shape must be/],
      ["not json", /not valid JSON/],
    ];
    for (const [text, message] of cases) assert.throws(() => decodeJsonTensors(text, "'in.json'"), { code: "invalid-file", message });
  });
});

describe("float16", () => {
  it("converts every finite half exactly both ways", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfToFloat(bits);
      if (Number.isNaN(value)) continue;
      assert.equal(floatToHalf(value), bits === 0x8000 ? 0x8000 : bits);
    }
  });
  it("rounds to nearest even and overflows to infinity", () => {
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00);
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(floatToHalf(70000), 0x7c00);
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  });
});

describe("wire tensors", () => {
  it("round-trip every dtype, from unaligned wire bytes too", () => {
    for (const dtype of DTYPES) {
      const wire = toWireTensor(sample(dtype));
      const shifted = new Uint8Array(wire.data.byteLength + 1).subarray(1);
      shifted.set(wire.data);
      sameTensor(fromWireTensor("t", { ...wire, data: shifted }), sample(dtype));
    }
  });
  it("createTensor checks the typed array and the element count", () => {
    assert.throws(() => createTensor("float32", new Float64Array(2) as unknown as Float32Array, [2]), { code: "invalid-tensor", message: /Float32Array/ });
    assert.throws(() => createTensor("float32", new Float32Array(3), [2, 2]), { code: "invalid-tensor", message: /holds 4 elements/ });
  });
});

describe("tensor files", () => {
  it("write and read .npz, .json and .npy with mode 0600", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sanctum-client-"));
    try {
      const tensors = { a: sample("float32"), b: sample("int64") };
      for (const ext of ["npz", "json"]) {
        const path = join(dir, `out.${ext}`);
        await writeTensorFile(path, tensors);
        assert.equal(statSync(path).mode & 0o777, 0o600);
        const back = await readTensorFile(path);
        assert.ok(back.format !== "npy");
        sameTensor(back.tensors.a!, ext === "json" ? jsonable(tensors.a) : tensors.a);
        sameTensor(back.tensors.b!, tensors.b);
      }
      await writeTensorFile(join(dir, "one.npy"), { a: tensors.a });
      const one = await readTensorFile(join(dir, "one.npy"));
      assert.ok(one.format === "npy");
      sameTensor(one.tensor, tensors.a);
      await assert.rejects(writeTensorFile(join(dir, "two.npy"), tensors), { code: "invalid-argument" });
      await assert.rejects(readTensorFile(join(dir, "x.csv")), { code: "invalid-file", message: /\.npz/ });
      await assert.rejects(readTensorFile(join(dir, "missing.npz")), { code: "invalid-file" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
