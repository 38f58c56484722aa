import { DTYPE_BYTES, isDtype, type Dtype } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";
import type { TensorSpecRecord } from "../models/model-record.js";

/** A tensor as it arrives on the wire (protobuf-es gives int64 dims as bigint). */
export interface IncomingTensor {
  readonly dtype: string;
  readonly shape: readonly bigint[];
  readonly data: Uint8Array;
}

/** An input that passed {@link validateInputs}: dims as numbers, dtype known. */
export interface CheckedTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Largest size of one dimension we accept (onnxruntime indexes with int64, but no real tensor needs more). */
const MAX_DIM = 2 ** 31 - 1;
const MAX_DIM_BIGINT = BigInt(MAX_DIM);

/**
 * Checks inputs against a model's declared inputs before anything runs: every declared name
 * given and no other, the dtype, the rank, every fixed dimension, each symbolic dimension the
 * same size wherever it appears (e.g. `batch` across ids and mask), and a byte length that
 * matches the shape. Errors name the input and say expected vs given.
 */
export function validateInputs(
  specs: readonly TensorSpecRecord[],
  inputs: Readonly<Record<string, IncomingTensor>>,
): Record<string, CheckedTensor> {
  const declared = new Set(specs.map((s) => s.name));
  // Only error messages need this; built on demand, not on every call.
  const expected = () => specs.map((s) => `${s.name} (${s.dtype} ${formatShape(s.shape)})`).join(", ");
  for (const name of Object.keys(inputs)) {
    if (!declared.has(name)) {
      throw invalid(`unknown input ${JSON.stringify(name)}: the model takes ${expected()}`);
    }
  }
  const symbols = new Map<string, { size: number; input: string }>();
  const checked: Record<string, CheckedTensor> = {};
  for (const spec of specs) {
    const t = inputs[spec.name];
    if (t === undefined) throw invalid(`missing input ${JSON.stringify(spec.name)}: the model takes ${expected()}`);
    if (!isDtype(t.dtype)) {
      throw invalid(`input ${JSON.stringify(spec.name)}: unknown dtype ${JSON.stringify(t.dtype.slice(0, 40))}, expected ${spec.dtype}`);
    }
    if (t.dtype !== spec.dtype) throw invalid(`input ${JSON.stringify(spec.name)}: expected dtype ${spec.dtype}, given ${t.dtype}`);
    const shape: number[] = [];
    for (const [axis, d] of t.shape.entries()) {
      if (d < 0n || d > MAX_DIM_BIGINT) {
        throw invalid(`input ${JSON.stringify(spec.name)}: dimension ${axis} is ${d}, expected a size in [0, ${MAX_DIM}]`);
      }
      shape.push(Number(d));
    }
    // An empty declared shape may mean "unknown rank" in onnxruntime's metadata: onnxruntime then checks.
    if (spec.shape.length > 0) {
      if (shape.length !== spec.shape.length) {
        throw invalid(
          `input ${JSON.stringify(spec.name)}: expected rank ${spec.shape.length} ${formatShape(spec.shape)}, given rank ${shape.length} ${formatShape(shape)}`,
        );
      }
      for (const [axis, want] of spec.shape.entries()) {
        const got = shape[axis]!;
        if (typeof want === "number") {
          if (got !== want) {
            throw invalid(
              `input ${JSON.stringify(spec.name)}: dimension ${axis} must be ${want}, given ${got} (expected ${formatShape(spec.shape)}, given ${formatShape(shape)})`,
            );
          }
        } else if (want !== "?") {
          const seen = symbols.get(want);
          if (seen === undefined) symbols.set(want, { size: got, input: spec.name });
          else if (seen.size !== got) {
            throw invalid(
              `input ${JSON.stringify(spec.name)}: dimension ${axis} (${want}) is ${got} but ${want} is ${seen.size} in input ${JSON.stringify(seen.input)}`,
            );
          }
        }
      }
    }
    const elements = shape.reduce((a, b) => a * b, 1);
    const bytes = elements * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw invalid(
        `input ${JSON.stringify(spec.name)}: shape ${formatShape(shape)} of ${t.dtype} needs ${bytes} bytes, given ${t.data.byteLength}`,
      );
    }
    checked[spec.name] = { dtype: t.dtype, shape, data: t.data };
  }
  return checked;
}

/** `[batch, 16]` */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

function invalid(message: string): ServerError {
  return new ServerError("invalid-argument", message);
}
