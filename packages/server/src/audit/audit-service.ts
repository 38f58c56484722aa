import type { KeyObject } from "node:crypto";
import type { ServiceImpl } from "@connectrpc/connect";
import { signAuditHead, type AuditService } from "@sanctum/protocol";
import type { DatasetStore } from "../datasets/dataset-store.js";
import { assertDatasetOwner } from "../datasets/dataset-policy.js";
import { callerOf, noteObject } from "../rpc/call-context.js";
import { outcomeOf } from "../rpc/to-connect-error.js";
import { ServerError } from "../server-error.js";
import type { DatasetAuditLog } from "./dataset-audit-log.js";

/** What the audit service needs. */
export interface AuditServiceOptions {
  readonly datasets: DatasetStore;
  readonly audit: DatasetAuditLog;
  /** The attested TLS private key: the head is signed with it, so clients check it against the SPKI they pinned. */
  readonly signingKey: KeyObject;
  readonly now: () => Date;
}

/**
 * AuditService: a dataset's owner reads its whole audit chain and a head signed by the
 * attested server key. The read itself is appended first, so the log shows who read it.
 */
export function createAuditService(options: AuditServiceOptions): ServiceImpl<typeof AuditService> {
  return {
    async getAuditLog(req, ctx) {
      const caller = callerOf(ctx);
      if (req.dataset.length === 0) throw new ServerError("invalid-argument", "dataset is required: give a dataset id (ds_...)");
      noteObject(ctx, req.dataset.slice(0, 80));
      const dataset = options.datasets.get(req.dataset);
      if (dataset === undefined) throw new ServerError("not-found", `no dataset ${JSON.stringify(req.dataset.slice(0, 80))}`);
      try {
        assertDatasetOwner(dataset, caller, "read its audit log");
      } catch (err) {
        options.audit.append({ dataset: dataset.id, caller, action: "audit", outcome: outcomeOf(err) });
        throw err;
      }
      options.audit.append({ dataset: dataset.id, caller, action: "audit", outcome: "ok" });
      const { entries, head } = options.audit.read(dataset.id);
      const signed = signAuditHead({ type: "sanctum-audit-head", version: 1, dataset: dataset.id, seq: head.seq, hash: head.hash, time: options.now().toISOString() }, options.signingKey);
      return {
        entries: entries.map((e) => ({ ...e, seq: BigInt(e.seq) })),
        head: { payload: signed.payload, signature: signed.signature },
      };
    },
  };
}
