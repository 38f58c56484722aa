/**
 * Stable codes of {@link TrainerError}, so callers can `switch (err.code)`.
 * (Shared file: each trainer helper adds its codes to this union only.)
 */
export type TrainerErrorCode =
  | "unsupported-op"
  | "batchnorm"
  | "invalid-model"
  | "invalid-argument"
  | "invalid-dataset"
  | "invalid-npz"
  | "cancelled"
  | "worker-failed";

/**
 * Errors of the training engine: model analysis, graph building, datasets and the training
 * loop. Messages say what was wrong and what to do; they never contain data values or weights.
 */
export class TrainerError extends Error {
  override readonly name = "TrainerError";
  readonly code: TrainerErrorCode;

  constructor(code: TrainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
