import { Code, ConnectError } from "@connectrpc/connect";
import { ClientError, type ClientErrorCode } from "./client-error.js";
import { mapCallError } from "./map-connect-error.js";

const HINTS: Partial<Record<Code, readonly [ClientErrorCode, string]>> = {
  [Code.PermissionDenied]: ["permission-denied", "the owner's policy does not allow it (the message says who may); ask the dataset's owner if you need that access"],
  [Code.NotFound]: ["not-found", "check the id ('sanctum dataset list' shows the datasets you may use)"],
  [Code.ResourceExhausted]: ["resource-exhausted", "the server refused to spend more: see the message ('sanctum dataset budget ID' shows a ledger to its owner)"],
  [Code.FailedPrecondition]: ["failed-precondition", "resolve the conflict the message names and retry"],
  [Code.AlreadyExists]: ["failed-precondition", "choose another name, or delete the existing one first"],
  [Code.InvalidArgument]: ["invalid-argument", "fix the request as the message says"],
};

/**
 * Turns a failed dataset, training or audit call into a {@link ClientError}, with hints about
 * datasets and budgets; transport failures (unreachable, pin mismatch) are mapped as every
 * other call's.
 */
export function mapTrainingCallError(err: unknown, action: string, serverUrl: string): ClientError {
  if (err instanceof ClientError) return err;
  const connectError = ConnectError.from(err);
  const hint = HINTS[connectError.code];
  if (hint === undefined) return mapCallError(err, action, serverUrl);
  const text = connectError.rawMessage;
  return new ClientError(hint[0], `${action} failed${text === "" ? "" : `: ${text}`}; ${hint[1]}`, { cause: err });
}

/** What {@link callTrainingRpc} needs of a client: whether it is still open, and its URL for messages. */
export interface TrainingCallContext {
  readonly url: string;
  readonly ensureOpen: () => void;
}

/** Runs one dataset, training or audit RPC on an open client, mapping its failure as {@link mapTrainingCallError}. */
export async function callTrainingRpc<T>(ctx: TrainingCallContext, action: string, run: () => Promise<T>): Promise<T> {
  ctx.ensureOpen();
  try {
    return await run();
  } catch (err) {
    throw mapTrainingCallError(err, action, ctx.url);
  }
}
