import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { decodeSafetensors, validateDatasetArrays, type DatasetService } from "@sanctum/protocol";
import type { DatasetAuditLog } from "../audit/dataset-audit-log.js";
import { callerOf, noteObject } from "../rpc/call-context.js";
import { outcomeOf } from "../rpc/to-connect-error.js";
import { ServerError } from "../server-error.js";
import type { BudgetLedgers } from "./budget-ledgers.js";
import { toDatasetInfo, toLedgerEntry } from "./dataset-info.js";
import { validateDatasetName } from "./dataset-name.js";
import { assertDatasetOwner, assertMayTrain, validateBudget, validateEpsilonLimit, validatePolicy } from "./dataset-policy.js";
import type { DatasetPolicy, DatasetRecord } from "./dataset-record.js";
import { newDatasetId, type DatasetStore } from "./dataset-store.js";
import { receiveDataset } from "./receive-dataset.js";

/** What the dataset service needs. */
export interface DatasetServiceOptions {
  readonly store: DatasetStore;
  readonly ledgers: BudgetLedgers;
  readonly audit: DatasetAuditLog;
  /** Largest dataset accepted, as safetensors bytes received. */
  readonly maxDatasetBytes: number;
  /** True while a training run uses the dataset (it cannot be deleted then). */
  readonly inUse: (datasetId: string) => boolean;
  readonly now: () => Date;
}

/**
 * DatasetService: upload (owner = uploader; records parsed and validated again here, sealed
 * at rest), list and describe (owner and trainers, metadata only), budget (owner only),
 * delete (owner only). Every access to a dataset, allowed or refused, goes to its audit chain.
 */
export function createDatasetService(options: DatasetServiceOptions): ServiceImpl<typeof DatasetService> {
  const { store, ledgers, audit } = options;

  /** Runs `check`; a refusal is written to the dataset's audit chain before it is thrown. */
  const guarded = (dataset: DatasetRecord, caller: string, action: string, check: () => void) => {
    try {
      check();
    } catch (err) {
      audit.append({ dataset: dataset.id, caller, action, outcome: outcomeOf(err) });
      throw err;
    }
  };
  const lookup = (ctx: HandlerContext, id: string, allowDeleted = false): DatasetRecord => {
    if (id.length === 0) throw new ServerError("invalid-argument", "dataset is required: give a dataset id (ds_...)");
    noteObject(ctx, id.slice(0, 80));
    if (allowDeleted) {
      const found = store.get(id);
      if (found !== undefined) return found;
    }
    return store.require(id);
  };

  return {
    async uploadDataset(requests, ctx) {
      const caller = callerOf(ctx);
      let name = "";
      let policy: DatasetPolicy = { trainers: [], weightsRelease: "owner" };
      const { header, bytes } = await receiveDataset(requests, {
        maxDatasetBytes: options.maxDatasetBytes,
        onHeader(h) {
          name = validateDatasetName(h.name);
          policy = validatePolicy(h.policy, caller);
          if (h.format !== "" && h.format !== "safetensors") {
            throw new ServerError("invalid-argument", `format must be "safetensors", got ${JSON.stringify(h.format.slice(0, 40))}: update the client`);
          }
          validateEpsilonLimit(h.epsilon);
          store.assertNameFree(caller, name);
        },
      });
      try {
        // Never trust the client's checks: parse and validate what actually arrived.
        const { tensors } = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        const summary = validateDatasetArrays(tensors);
        const budget = validateBudget(header.epsilon, header.delta, summary.rows);
        const record: DatasetRecord = {
          id: newDatasetId(),
          owner: caller,
          name,
          rows: summary.rows,
          arrays: summary.arrays,
          sizeBytes: bytes.byteLength,
          epsilonLimit: budget.epsilonLimit,
          delta: budget.delta,
          accountant: "rdp",
          policy,
          createdAt: options.now().toISOString(),
        };
        noteObject(ctx, record.id);
        await store.create(record, bytes);
        audit.append({
          dataset: record.id,
          caller,
          action: "upload",
          outcome: "ok",
          details: { name, rows: record.rows, epsilonLimit: record.epsilonLimit, delta: record.delta, trainers: policy.trainers, weightsRelease: policy.weightsRelease },
        });
        return { dataset: toDatasetInfo(record, caller, 0) };
      } finally {
        bytes.fill(0);
      }
    },

    async listDatasets(_req, ctx) {
      const caller = callerOf(ctx);
      return { datasets: store.listVisibleTo(caller).map((d) => toDatasetInfo(d, caller, ledgers.spent(d))) };
    },

    async getDataset(req, ctx) {
      const caller = callerOf(ctx);
      const dataset = lookup(ctx, req.dataset);
      guarded(dataset, caller, "describe", () => assertMayTrain(dataset, caller));
      return { dataset: toDatasetInfo(dataset, caller, ledgers.spent(dataset)) };
    },

    async getDatasetBudget(req, ctx) {
      const caller = callerOf(ctx);
      const dataset = lookup(ctx, req.dataset, true);
      guarded(dataset, caller, "budget", () => assertDatasetOwner(dataset, caller, "read its privacy ledger"));
      const entries = ledgers.entries(dataset.id);
      const spent = ledgers.spent(dataset);
      audit.append({ dataset: dataset.id, caller, action: "budget", outcome: "ok" });
      return {
        dataset: dataset.id,
        epsilonLimit: dataset.epsilonLimit,
        delta: dataset.delta,
        epsilonSpent: spent,
        epsilonRemaining: Math.max(0, dataset.epsilonLimit - spent),
        accountant: dataset.accountant,
        entries: entries.map((e) => toLedgerEntry(e, ledgers.epsilonOf(dataset, e))),
      };
    },

    async deleteDataset(req, ctx) {
      const caller = callerOf(ctx);
      const dataset = lookup(ctx, req.dataset);
      guarded(dataset, caller, "delete", () => {
        assertDatasetOwner(dataset, caller, "delete it");
        if (options.inUse(dataset.id)) {
          throw new ServerError("failed-precondition", `dataset ${dataset.id} is used by a training run in progress: wait for it to end, then delete`);
        }
      });
      await store.delete(dataset.id, options.now());
      audit.append({ dataset: dataset.id, caller, action: "delete", outcome: "ok" });
      return { id: dataset.id };
    },
  };
}
