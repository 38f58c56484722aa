import type { Client } from "@connectrpc/connect";
import { verifyAuditLog, type AuditHeadPayload, type AuditService, type DatasetAuditEntry } from "@sanctum/protocol";
import { ClientError } from "./client-error.js";
import { callTrainingRpc } from "./map-training-error.js";

/** A dataset's audit log as received, and what this client verified about it. */
export interface DatasetAuditLog {
  readonly dataset: string;
  readonly entries: readonly DatasetAuditEntry[];
  /** True only when the head's signature (by the attested server key), every hash and every link check out. */
  readonly verified: boolean;
  /** The signed head, when its signature verified. */
  readonly head?: AuditHeadPayload;
  /** Seq of the first entry that does not check out. */
  readonly brokenSeq?: number;
  /** Why verification failed. */
  readonly problem?: string;
}

/** Audit logs of your datasets. */
export interface AuditApi {
  /**
   * Fetches a dataset's audit log (owner only) and verifies it here: the chain is recomputed
   * from its first entry and its end compared with the head the attested server key signed.
   * A log that does not verify is returned with `verified: false` and the broken entry.
   */
  dataset(id: string): Promise<DatasetAuditLog>;
}

/** What the audit API needs from the attested connection. */
export interface AuditApiContext {
  readonly rpc: Client<typeof AuditService>;
  readonly url: string;
  /** The attested server key: the only key a head may be signed with. */
  readonly spki: Uint8Array;
  readonly ensureOpen: () => void;
}

export function createAuditApi(ctx: AuditApiContext): AuditApi {
  return {
    async dataset(id) {
      if (typeof id !== "string" || id.trim() === "") throw new ClientError("invalid-argument", "dataset id must be a non-empty string (ds_...)");
      const response = await callTrainingRpc(ctx, `read the audit log of dataset ${id}`, () => ctx.rpc.getAuditLog({ dataset: id }));
      const entries: DatasetAuditEntry[] = response.entries.map((e) => ({
        seq: Number(e.seq),
        time: e.time,
        dataset: e.dataset,
        caller: e.caller,
        action: e.action,
        outcome: e.outcome,
        details: e.details,
        prevHash: e.prevHash,
        hash: e.hash,
      }));
      if (response.head === undefined) return { dataset: id, entries, verified: false, problem: "the server sent no signed head" };
      const result = verifyAuditLog(entries, { payload: response.head.payload, signature: response.head.signature }, ctx.spki, id);
      return {
        dataset: id,
        entries,
        verified: result.verified,
        ...(result.head === undefined ? {} : { head: result.head }),
        ...(result.brokenSeq === undefined ? {} : { brokenSeq: result.brokenSeq }),
        ...(result.reason === undefined ? {} : { problem: result.reason }),
      };
    },
  };
}
