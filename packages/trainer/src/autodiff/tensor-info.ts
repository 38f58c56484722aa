import type { Dim } from "./sym-dim.js";

/**
 * Where the batch lives in a tensor: dimension `axis` has size outer * B * inner and the
 * index along it is (o * B + b) * inner + i. PyTorch's MultiheadAttention merges B with the
 * heads (inner = H) or with the sequence (outer = L), so both factors are needed to expose B.
 */
export interface BatchAxis {
  readonly axis: number;
  readonly outer: number;
}

/** What the builder knows about a tensor before running anything. */
export interface TensorInfo {
  /** ONNX data type number; 0 when unknown. */
  readonly dtype: number;
  /** Dimensions, or undefined when even the rank is unknown. */
  readonly shape: readonly Dim[] | undefined;
  /** Flattened element values for small tensors known at build time (constants, shape arithmetic). */
  readonly value?: readonly Dim[];
  /** The batch axis, for tensors with exactly one dimension that is a multiple of B. */
  readonly batch?: BatchAxis;
}
