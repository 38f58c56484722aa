import Database from "better-sqlite3";
import { ServerError } from "../server-error.js";
import { MIGRATIONS, type Migration } from "./migrations.js";

/** The server's SQLite handle (better-sqlite3: synchronous, so calls must stay small). */
export type SanctumDatabase = Database.Database;

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Path of the SQLite file. */
  readonly path: string;
  /** Migrations to apply; default the server's own ({@link MIGRATIONS}). */
  readonly migrations?: readonly Migration[];
}

/**
 * Opens the metadata database in WAL mode and brings its schema up to date.
 *
 * `synchronous = NORMAL` in WAL mode survives a process crash but may lose the last commits
 * on power loss (https://sqlite.org/pragma.html#pragma_synchronous); writes the client is
 * told about (a model stored, deleted) go through {@link durably}, which commits with FULL.
 */
export function openDatabase(options: OpenDatabaseOptions): SanctumDatabase {
  const db = new Database(options.path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  applyMigrations(db, options.migrations ?? MIGRATIONS);
  return db;
}

/** Applies the migrations newer than the database's version, each in its own transaction. */
export function applyMigrations(db: SanctumDatabase, migrations: readonly Migration[]): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null };
  const current = row.v ?? 0;
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (current > known) {
    throw new ServerError(
      "storage-corrupt",
      `the data dir has schema version ${current}, newer than this server knows (${known}): run a newer server`,
    );
  }
  let applied = 0;
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)").run(
        migration.version,
        migration.description,
        new Date().toISOString(),
      );
    })();
    applied++;
  }
  return applied;
}

/** Runs `fn` in a transaction committed with `synchronous = FULL` (durable against power loss). */
export function durably<T>(db: SanctumDatabase, fn: () => T): T {
  db.pragma("synchronous = FULL");
  try {
    return db.transaction(fn)();
  } finally {
    db.pragma("synchronous = NORMAL");
  }
}
