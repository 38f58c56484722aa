import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { validateInputs, type IncomingTensor } from "./validate-inputs.js";
import type { TensorSpecRecord } from "../models/model-record.js";
import { ServerError } from "../server-error.js";

const specs: TensorSpecRecord[] = [
  { name: "ids", dtype: "int64", shape: ["batch", "seq"] },
  { name: "mask", dtype: "int64", shape: ["batch", "seq"] },
  { name: "scale", dtype: "float16", shape: [1, 3] },
];

const t = (dtype: string, shape: number[], bytes: number): IncomingTensor => ({ dtype, shape: shape.map(BigInt), data: new Uint8Array(bytes) });
const good = () => ({ ids: t("int64", [2, 5], 80), mask: t("int64", [2, 5], 80), scale: t("float16", [1, 3], 6) });

function fails(inputs: Record<string, IncomingTensor>, pattern: RegExp) {
  assert.throws(
    () => validateInputs(specs, inputs),
    (err: unknown) => err instanceof ServerError && err.code === "invalid-argument" && pattern.test(err.message),
  );
}

describe("validateInputs", () => {
  it("accepts matching inputs and returns numeric shapes", () => {
    const out = validateInputs(specs, good());
    assert.deepEqual(out["ids"]!.shape, [2, 5]);
    assert.equal(out["scale"]!.dtype, "float16");
  });

  it("names unknown and missing inputs and lists what the model takes", () => {
    fails({ ...good(), extra: t("int64", [1], 8) }, /unknown input "extra": the model takes ids \(int64 \[batch, seq\]\)/);
    const { mask: _mask, ...rest } = good();
    fails(rest, /missing input "mask"/);
  });

  it("checks dtype, rank, fixed dims, consistent symbolic dims and byte length", () => {
    fails({ ...good(), scale: t("float32", [1, 3], 12) }, /"scale": expected dtype float16, given float32/);
    fails({ ...good(), scale: t("bfloat16", [1, 3], 6) }, /"scale": unknown dtype "bfloat16", expected float16/);
    fails({ ...good(), ids: t("int64", [10], 80) }, /"ids": expected rank 2 \[batch, seq\], given rank 1 \[10\]/);
    fails({ ...good(), scale: t("float16", [1, 4], 8) }, /"scale": dimension 1 must be 3, given 4/);
    fails({ ...good(), mask: t("int64", [2, 6], 96) }, /"mask": dimension 1 \(seq\) is 6 but seq is 5 in input "ids"/);
    fails({ ...good(), ids: t("int64", [2, 5], 79) }, /"ids": shape \[2, 5\] of int64 needs 80 bytes, given 79/);
  });

  it("refuses negative and absurd dimensions", () => {
    fails({ ...good(), ids: { dtype: "int64", shape: [-1n, 5n], data: new Uint8Array(0) } }, /dimension 0 is -1/);
    fails({ ...good(), ids: { dtype: "int64", shape: [2n ** 40n, 5n], data: new Uint8Array(0) } }, /dimension 0 is 1099511627776/);
  });

  it("accepts empty batches and any size for unnamed dynamic dims", () => {
    const anyDim: TensorSpecRecord[] = [{ name: "x", dtype: "bool", shape: ["?", 2] }];
    assert.equal(validateInputs(anyDim, { x: t("bool", [0, 2], 0) })["x"]!.data.byteLength, 0);
    assert.equal(validateInputs(anyDim, { x: t("bool", [7, 2], 14) })["x"]!.shape[0], 7);
  });
});
