import { createHash } from "node:crypto";
import type { Dtype } from "./dtype.js";

/** A tensor as raw little-endian bytes, the form digests and receipts speak of. */
export interface RawTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/**
 * SHA-256 (hex) of a set of named tensors, independent of the order they were given in.
 * Each tensor contributes its name, dtype, shape and bytes, each length-prefixed, so two
 * different sets can never encode to the same byte string.
 */
export function digestTensors(tensors: Readonly<Record<string, RawTensor>>): string {
  const hash = createHash("sha256");
  hash.update("sanctum-tensors-v1");
  for (const name of Object.keys(tensors).sort()) {
    const tensor = tensors[name]!;
    for (const field of [name, tensor.dtype, JSON.stringify(tensor.shape)]) {
      const bytes = Buffer.from(field, "utf8");
      hash.update(u64(bytes.length));
      hash.update(bytes);
    }
    hash.update(u64(tensor.data.byteLength));
    hash.update(tensor.data);
  }
  return hash.digest("hex");
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
