import { DATASETS_MIGRATION } from "../datasets/dataset-migration.js";

/**
 * One schema change: applied once, in order of `version`, inside a transaction. Features add
 * their tables by appending a migration (issue 6: datasets, ledgers, training runs); never
 * edit one that has shipped, since data dirs already carry it.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** The server's migrations so far. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "models and the hash-chained audit log",
    sql: `
      CREATE TABLE models (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        inputs_json TEXT NOT NULL,
        outputs_json TEXT NOT NULL,
        access_public INTEGER NOT NULL,
        access_allow_json TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (owner, name)
      );
      CREATE INDEX models_name ON models (name);
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        caller TEXT NOT NULL,
        method TEXT NOT NULL,
        object TEXT NOT NULL,
        outcome TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
    `,
  },
  // Issue 6: datasets, their privacy ledgers, training runs and per-dataset audit chains.
  { version: 2, ...DATASETS_MIGRATION },
];
