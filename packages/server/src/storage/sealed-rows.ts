import type { BlobKind, BlobStore } from "./blob-store.js";
import { durably, type SanctumDatabase } from "./database.js";

/** What {@link storeSealedRow} stores: one sealed blob and the metadata row that refers to it. */
export interface SealedRow {
  readonly kind: BlobKind;
  readonly id: string;
  /** Plaintext, sealed before it reaches disk. */
  readonly bytes: Uint8Array;
  /** Inserts the row (run inside a durable transaction). */
  readonly insert: () => void;
  /** The error for a row that violates a unique constraint (two uploads racing for one name). */
  readonly conflict: () => Error;
}

/**
 * Seals the blob (written and fsynced), then commits its row durably: the object exists once
 * the row is committed, so a crash in between leaves at worst an orphan blob, which
 * {@link sweepOrphanBlobs} removes at the next start. A failed commit removes the blob at once.
 */
export async function storeSealedRow(db: SanctumDatabase, blobs: BlobStore, row: SealedRow): Promise<void> {
  await blobs.put(row.kind, row.id, row.bytes);
  try {
    durably(db, row.insert);
  } catch (err) {
    await blobs.delete(row.kind, row.id);
    if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw row.conflict();
    throw err;
  }
}

/** Removes the sealed blobs of `kind` whose id is not in `keep` (crash leftovers). */
export async function sweepOrphanBlobs(blobs: BlobStore, kind: BlobKind, keep: ReadonlySet<string>): Promise<void> {
  for (const id of await blobs.ids(kind)) if (!keep.has(id)) await blobs.delete(kind, id);
}
