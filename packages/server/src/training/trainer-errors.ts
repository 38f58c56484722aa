import { TrainerError } from "@sanctum/trainer";
import { ServerError } from "../server-error.js";

/**
 * Runs a trainer call, turning the trainer's errors about the user's model or data into
 * `invalid-argument` (their messages name ops, nodes, arrays and shapes, never values), and
 * anything else into `internal`.
 */
export async function toTrainerError<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw asServerError(err);
  }
}

/** The ServerError for an error raised while training. */
export function asServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  if (err instanceof TrainerError) {
    switch (err.code) {
      case "unsupported-op":
      case "batchnorm":
      case "invalid-model":
      case "invalid-argument":
      case "invalid-dataset":
      case "invalid-npz":
        return new ServerError("invalid-argument", err.message, { cause: err });
      case "cancelled":
        return new ServerError("failed-precondition", err.message, { cause: err });
      default:
        return new ServerError("internal", "the trainer failed", { cause: err });
    }
  }
  if (err instanceof RangeError) return new ServerError("invalid-argument", err.message, { cause: err });
  return new ServerError("internal", "training failed", { cause: err });
}
