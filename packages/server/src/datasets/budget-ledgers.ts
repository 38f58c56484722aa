import { randomBytes } from "node:crypto";
import { computeEpsilon, createBudgetLedger, PrivacyError, type BudgetLedger, type Mechanism } from "@sanctum/privacy";
import { durably, type SanctumDatabase } from "../storage/database.js";
import { ServerError } from "../server-error.js";
import type { DatasetRecord } from "./dataset-record.js";

/** What a ledger entry pays for: DP-SGD steps, or the noised metrics of a run. */
export type ChargeKind = "training" | "metrics";

/** One mechanism charged to a dataset. */
export interface LedgerEntryRecord {
  readonly id: string;
  readonly datasetId: string;
  readonly runId: string;
  readonly kind: ChargeKind;
  readonly caller: string;
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly stepsReserved: number;
  /** Steps actually run, once settled. */
  readonly stepsSettled?: number;
  readonly status: "reserved" | "settled";
  readonly createdAt: string;
  readonly settledAt?: string;
}

/** A mechanism a run plans to charge to one dataset. */
export interface PlannedCharge {
  readonly datasetId: string;
  readonly kind: ChargeKind;
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly steps: number;
}

/**
 * The privacy ledgers of every dataset, persisted in SQLite. A dataset's spent epsilon is the
 * composition (RDP or PRV, never a sum) of its entries: a reserved entry counts with all its
 * planned steps, a settled one with the steps actually run. Reservation is atomic across all
 * the datasets of a run (one SQLite transaction); settlement never goes below what may have
 * run, so a run that crashed keeps its full reservation.
 */
export interface BudgetLedgers {
  /** Entries of one dataset, oldest first. */
  entries(datasetId: string): LedgerEntryRecord[];
  /** The mechanisms as accounted now. */
  history(datasetId: string): Mechanism[];
  /** Composed epsilon spent on `dataset` at its delta. */
  spent(dataset: DatasetRecord): number;
  /** Epsilon of one entry alone at the dataset's delta. */
  epsilonOf(dataset: DatasetRecord, entry: LedgerEntryRecord): number;
  /**
   * Admits and reserves all `charges` of a run, or none: for each dataset, the composition
   * of its history and its new charges must stay within its limit, else `resource-exhausted`
   * with a message that says "budget" and shows spent and limit. `inTransaction` runs inside
   * the same transaction (the run row is written with its reservation).
   */
  reserve(runId: string, caller: string, charges: readonly PlannedCharge[], datasets: ReadonlyMap<string, DatasetRecord>, now: Date, inTransaction?: () => void): LedgerEntryRecord[];
  /**
   * Settles a run's entries with the steps run per kind (capped at the reservation; an entry
   * is never settled below `steps`, so pass what may have run). `inTransaction` as above.
   */
  settle(runId: string, steps: Readonly<Record<ChargeKind, number>>, now: Date, inTransaction?: () => void): void;
}

interface Row {
  id: string;
  dataset_id: string;
  run_id: string;
  kind: string;
  caller: string;
  noise_multiplier: number;
  sample_rate: number;
  steps_reserved: number;
  steps_settled: number | null;
  status: string;
  created_at: string;
  settled_at: string | null;
}

/** Opens the ledgers over the `ledger_entries` table. */
export function createBudgetLedgers(db: SanctumDatabase): BudgetLedgers {
  const byDataset = db.prepare("SELECT * FROM ledger_entries WHERE dataset_id = ? ORDER BY created_at, id");
  const byRun = db.prepare("SELECT * FROM ledger_entries WHERE run_id = ? AND status = 'reserved'");
  const insert = db.prepare(`INSERT INTO ledger_entries (id, dataset_id, run_id, kind, caller, noise_multiplier, sample_rate,
    steps_reserved, steps_settled, status, created_at, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 'reserved', ?, NULL)`);
  const settleRow = db.prepare("UPDATE ledger_entries SET status = 'settled', steps_settled = ?, settled_at = ? WHERE id = ?");

  const entries = (datasetId: string) => (byDataset.all(datasetId) as Row[]).map(fromRow);
  const history = (datasetId: string): Mechanism[] => entries(datasetId).map(mechanismOf);
  /** The dataset's ledger as @sanctum/privacy composes it, from the stored entries. */
  const ledgerOf = (dataset: DatasetRecord): BudgetLedger =>
    createBudgetLedger(
      { epsilon: dataset.epsilonLimit, delta: dataset.delta },
      entries(dataset.id).map((e) => ({ id: e.id, mechanism: mechanismOf(e), state: e.status, label: `${e.kind}:${e.runId}` })),
      { accountant: dataset.accountant },
    );
  const compose = (dataset: DatasetRecord, mechanisms: readonly Mechanism[]): number =>
    computeEpsilon({ history: mechanisms, delta: dataset.delta, accountant: dataset.accountant }).epsilon;

  return {
    entries,
    history,
    spent: (dataset) => ledgerOf(dataset).spent(),
    epsilonOf: (dataset, entry) => compose(dataset, [mechanismOf(entry)]),
    reserve(runId, caller, charges, datasets, now, inTransaction) {
      return durably(db, () => {
        const created: LedgerEntryRecord[] = [];
        for (const [datasetId, dataset] of datasets) {
          const mine = charges.filter((c) => c.datasetId === datasetId);
          if (mine.length === 0) continue;
          const before = ledgerOf(dataset);
          let ledger = before;
          let refused = false;
          try {
            for (const [k, c] of mine.entries()) ledger = ledger.reserve(`${runId}:${k}`, { noiseMultiplier: c.noiseMultiplier, sampleRate: c.sampleRate, steps: c.steps });
          } catch (err) {
            if (!(err instanceof PrivacyError && err.code === "budget-exceeded")) throw err;
            refused = true;
          }
          if (refused) {
            const spentBefore = before.spent();
            const after = compose(dataset, [...before.history, ...mine.map((c) => ({ noiseMultiplier: c.noiseMultiplier, sampleRate: c.sampleRate, steps: c.steps }))]);
            throw new ServerError(
              "resource-exhausted",
              `privacy budget of dataset ${dataset.id} (${dataset.name}) exceeded: spent epsilon ${fmt(spentBefore)} of its limit ${fmt(dataset.epsilonLimit)} ` +
                `(delta ${dataset.delta}); this run would bring it to ${fmt(after)}. Ask for a smaller --epsilon (fewer epochs or more noise), or ask the owner for a new dataset budget`,
            );
          }
        }
        for (const c of charges) {
          const entry: LedgerEntryRecord = {
            id: "le_" + randomBytes(12).toString("hex"),
            datasetId: c.datasetId,
            runId,
            kind: c.kind,
            caller,
            noiseMultiplier: c.noiseMultiplier,
            sampleRate: c.sampleRate,
            stepsReserved: c.steps,
            status: "reserved",
            createdAt: now.toISOString(),
          };
          insert.run(entry.id, entry.datasetId, runId, entry.kind, caller, entry.noiseMultiplier, entry.sampleRate, entry.stepsReserved, entry.createdAt);
          created.push(entry);
        }
        inTransaction?.();
        return created;
      });
    },
    settle(runId, steps, now, inTransaction) {
      durably(db, () => {
        for (const row of byRun.all(runId) as Row[]) {
          const ran = Math.min(steps[row.kind as ChargeKind], row.steps_reserved);
          // The privacy ledger checks the settlement (an integer, never above the reservation).
          createBudgetLedger({ epsilon: 1e6, delta: 0.5 }, [{ id: row.id, mechanism: mechanismOf(fromRow(row)), state: "reserved" }]).settle(row.id, ran);
          settleRow.run(ran, now.toISOString(), row.id);
        }
        inTransaction?.();
      });
    },
  };
}

function mechanismOf(entry: LedgerEntryRecord): Mechanism {
  return { noiseMultiplier: entry.noiseMultiplier, sampleRate: entry.sampleRate, steps: entry.stepsSettled ?? entry.stepsReserved };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10000) / 10000) : String(x);
}

function fromRow(row: Row): LedgerEntryRecord {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    runId: row.run_id,
    kind: row.kind === "metrics" ? "metrics" : "training",
    caller: row.caller,
    noiseMultiplier: row.noise_multiplier,
    sampleRate: row.sample_rate,
    stepsReserved: row.steps_reserved,
    ...(row.steps_settled === null ? {} : { stepsSettled: row.steps_settled }),
    status: row.status === "settled" ? "settled" : "reserved",
    createdAt: row.created_at,
    ...(row.settled_at === null ? {} : { settledAt: row.settled_at }),
  };
}
