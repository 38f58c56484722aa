/**
 * The tables of datasets, their privacy ledgers, training runs and per-dataset audit chains
 * (issue 6). Appended to the server's migrations as one version; never edit once shipped.
 */
export const DATASETS_MIGRATION = {
  description: "datasets, privacy ledgers, training runs and per-dataset audit chains",
  sql: `
    CREATE TABLE datasets (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      name TEXT NOT NULL,
      rows INTEGER NOT NULL,
      arrays_json TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      epsilon_limit REAL NOT NULL,
      delta REAL NOT NULL,
      accountant TEXT NOT NULL,
      trainers_json TEXT NOT NULL,
      weights_release TEXT NOT NULL,
      created_at TEXT NOT NULL,
      deleted_at TEXT
    );
    CREATE UNIQUE INDEX datasets_owner_name ON datasets (owner, name) WHERE deleted_at IS NULL;
    CREATE TABLE ledger_entries (
      id TEXT PRIMARY KEY,
      dataset_id TEXT NOT NULL REFERENCES datasets (id),
      run_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      caller TEXT NOT NULL,
      noise_multiplier REAL NOT NULL,
      sample_rate REAL NOT NULL,
      steps_reserved INTEGER NOT NULL,
      steps_settled INTEGER,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      settled_at TEXT
    );
    CREATE INDEX ledger_entries_dataset ON ledger_entries (dataset_id);
    CREATE INDEX ledger_entries_run ON ledger_entries (run_id);
    CREATE TABLE training_runs (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      status TEXT NOT NULL,
      run_json TEXT NOT NULL,
      created_at TEXT NOT NULL
    );
    CREATE INDEX training_runs_owner ON training_runs (owner, created_at);
    CREATE TABLE dataset_audit (
      dataset_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      time TEXT NOT NULL,
      caller TEXT NOT NULL,
      action TEXT NOT NULL,
      outcome TEXT NOT NULL,
      details TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL,
      PRIMARY KEY (dataset_id, seq)
    );
    CREATE TABLE dataset_audit_heads (
      dataset_id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      hash TEXT NOT NULL,
      mac TEXT NOT NULL
    );
  `,
} as const;
