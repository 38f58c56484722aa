import { isPublicKeyId } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";
import { MAX_ALLOW_ENTRIES } from "./upload-limits.js";
import type { ModelAccess, ModelRecord } from "./model-record.js";

/** Whether `caller` may run predictions on (and read the description of) `model`. */
export function mayQuery(model: ModelRecord, caller: string): boolean {
  return model.owner === caller || model.access.public || model.access.allow.includes(caller);
}

/** Throws `permission-denied` unless `caller` may query `model`; the message says who may. */
export function assertMayQuery(model: ModelRecord, caller: string): void {
  if (mayQuery(model, caller)) return;
  throw new ServerError(
    "permission-denied",
    `model ${model.id} may be queried only by its owner${model.access.allow.length > 0 ? " and its allow-list" : ""}, ` +
      `and you (${caller}) are not among them: ask the owner to upload it with --allow ${caller} or --public`,
  );
}

/**
 * Throws `permission-denied` unless `caller` owns `model`. The owner is named only to callers
 * who may query the model; a stranger gets {@link assertMayQuery}'s refusal, which does not
 * say who owns a private model.
 */
export function assertOwner(model: ModelRecord, caller: string, action: string): void {
  if (model.owner === caller) return;
  assertMayQuery(model, caller);
  throw new ServerError(
    "permission-denied",
    `only the owner of model ${model.id} (${model.owner}) may ${action} it; you are ${caller}`,
  );
}

/**
 * Checks the access an uploader asks for: `public` and an allow-list are exclusive, and each
 * allow entry must be a public key id as printed by `sanctum keygen`. Duplicates and the owner
 * are dropped (the owner always may).
 */
export function validateAccess(access: { public: boolean; allow: readonly string[] } | undefined, owner: string): ModelAccess {
  if (access === undefined) return { public: false, allow: [] };
  if (access.public && access.allow.length > 0) {
    throw new ServerError("invalid-argument", "access: give either public or an allow-list, not both");
  }
  if (access.allow.length > MAX_ALLOW_ENTRIES) {
    throw new ServerError("invalid-argument", `access.allow: at most ${MAX_ALLOW_ENTRIES} identities, got ${access.allow.length}`);
  }
  for (const [i, id] of access.allow.entries()) {
    if (!isPublicKeyId(id)) {
      throw new ServerError(
        "invalid-argument",
        `access.allow[${i}] ${JSON.stringify(id.slice(0, 80))} is not a public key id: expected 'ed25519:' and 43 base64url characters, as printed by 'sanctum keygen'`,
      );
    }
  }
  return { public: access.public, allow: [...new Set(access.allow)].filter((id) => id !== owner) };
}
