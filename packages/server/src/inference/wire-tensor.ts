import type { Dtype } from "@sanctum/protocol";

/**
 * A tensor crossing the thread boundary: dtype, dims and its bytes in an ArrayBuffer of its
 * own (offset 0, so typed arrays of any element size can view it and it can be transferred
 * to a worker without a copy).
 */
export interface WorkerTensor {
  readonly dtype: Dtype;
  readonly dims: readonly number[];
  readonly buffer: ArrayBuffer;
}

/** Copies bytes (often a view into a request buffer, possibly unaligned) into their own buffer. */
export function toWorkerTensor(dtype: Dtype, dims: readonly number[], data: Uint8Array): WorkerTensor {
  const buffer = new ArrayBuffer(data.byteLength);
  new Uint8Array(buffer).set(data);
  return { dtype, dims, buffer };
}
