import { create } from "@bufbuild/protobuf";
import { DatasetInfoSchema, LedgerEntrySchema, type DatasetInfo, type LedgerEntry } from "@sanctum/protocol";
import type { LedgerEntryRecord } from "./budget-ledgers.js";
import type { DatasetRecord } from "./dataset-record.js";

/** The wire description of a dataset: metadata only. Only its owner sees the trainer list. */
export function toDatasetInfo(dataset: DatasetRecord, caller: string, epsilonSpent: number): DatasetInfo {
  const owner = dataset.owner === caller;
  return create(DatasetInfoSchema, {
    id: dataset.id,
    name: dataset.name,
    owner: dataset.owner,
    rows: BigInt(dataset.rows),
    arrays: dataset.arrays.map((a) => ({ name: a.name, dtype: a.dtype, shape: a.shape.map((d) => BigInt(d)) })),
    epsilonLimit: dataset.epsilonLimit,
    delta: dataset.delta,
    epsilonSpent,
    policy: { trainers: owner ? [...dataset.policy.trainers] : [], weightsRelease: dataset.policy.weightsRelease },
    sizeBytes: BigInt(dataset.sizeBytes),
    createdAt: dataset.createdAt,
    accountant: dataset.accountant,
  });
}

/** The wire form of a ledger entry, with its own epsilon. */
export function toLedgerEntry(entry: LedgerEntryRecord, epsilon: number): LedgerEntry {
  return create(LedgerEntrySchema, {
    id: entry.id,
    kind: entry.kind,
    runId: entry.runId,
    caller: entry.caller,
    noiseMultiplier: entry.noiseMultiplier,
    sampleRate: entry.sampleRate,
    stepsReserved: BigInt(entry.stepsReserved),
    stepsSettled: BigInt(entry.stepsSettled ?? 0),
    status: entry.status,
    createdAt: entry.createdAt,
    settledAt: entry.settledAt ?? "",
    epsilon,
  });
}
