import { randomBytes } from "node:crypto";
import { durably, type SanctumDatabase } from "../storage/database.js";
import type { RunStatus, TrainingRunRecord } from "./run-record.js";

const ID_PATTERN = /^run_[0-9a-f]{32}$/;

/** A fresh run id: `run_` and 128 random bits in hex. */
export function newRunId(): string {
  return "run_" + randomBytes(16).toString("hex");
}

/** The training runs, one JSON document per run in SQLite. */
export interface RunStore {
  /** Inserts a new run (call inside the reservation's transaction). */
  insert(run: TrainingRunRecord): void;
  /** Replaces a run's document (durably unless `inTransaction`, for use inside another transaction). */
  update(run: TrainingRunRecord, inTransaction?: boolean): void;
  get(id: string): TrainingRunRecord | undefined;
  /** Runs of one owner, newest first (at most `limit`, default 100). */
  listByOwner(owner: string, limit?: number): TrainingRunRecord[];
  /**
   * Marks every run still "running" as failed: called at start, when no run can be running,
   * so these were cut by a crash or kill. Their ledger reservations stay in full. Returns them.
   */
  failInterrupted(now: Date): TrainingRunRecord[];
  /** Ids of runs that succeeded (their weights blobs are kept). */
  succeededIds(): Set<string>;
}

/** Opens the run store over the `training_runs` table. */
export function createRunStore(db: SanctumDatabase): RunStore {
  const insert = db.prepare("INSERT INTO training_runs (id, owner, status, run_json, created_at) VALUES (?, ?, ?, ?, ?)");
  const update = db.prepare("UPDATE training_runs SET status = ?, run_json = ? WHERE id = ?");
  const byId = db.prepare("SELECT run_json FROM training_runs WHERE id = ?");
  const byOwner = db.prepare("SELECT run_json FROM training_runs WHERE owner = ? ORDER BY created_at DESC, id LIMIT ?");
  const running = db.prepare("SELECT run_json FROM training_runs WHERE status = 'running'");
  const succeeded = db.prepare("SELECT id FROM training_runs WHERE status = 'succeeded'");
  const parse = (row: unknown) => JSON.parse((row as { run_json: string }).run_json) as TrainingRunRecord;
  const write = (run: TrainingRunRecord) => update.run(run.status, JSON.stringify(run), run.id);
  return {
    insert(run) {
      insert.run(run.id, run.owner, run.status, JSON.stringify(run), run.createdAt);
    },
    update(run, inTransaction = false) {
      if (inTransaction) write(run);
      else durably(db, () => write(run));
    },
    get(id) {
      if (!ID_PATTERN.test(id)) return undefined;
      const row = byId.get(id);
      return row === undefined ? undefined : parse(row);
    },
    listByOwner(owner, limit = 100) {
      return byOwner.all(owner, limit).map(parse);
    },
    failInterrupted(now) {
      return durably(db, () =>
        running.all().map((row) => {
          const run = parse(row);
          const failed: TrainingRunRecord = {
            ...run,
            status: "failed" satisfies RunStatus,
            error: "the server stopped during the run (crash or restart); no model was kept, and the ledger keeps the full reservation since steps may have run",
            finishedAt: now.toISOString(),
          };
          write(failed);
          return failed;
        }),
      );
    },
    succeededIds() {
      return new Set((succeeded.all() as { id: string }[]).map((r) => r.id));
    },
  };
}
