/**
 * @sanctum/server: the service inside the TEE. `createSanctumServer` is the end-user API
 * (the `sanctum server` command wraps it); the storage, audit and key-provider exports are
 * for features that extend the server (datasets, training, audit queries).
 */
export { createSanctumServer } from "./sanctum-server.js";
export type { SanctumServer } from "./sanctum-server.js";
export type { SanctumServerOptions, ResolvedServerOptions } from "./config/server-options.js";
export { SERVER_VERSION, resolveServerOptions } from "./config/server-options.js";
// What a verifier expects in the evidence: computeConfigDigest(resolveServerOptions({ platform: "auto" })).
export { effectiveConfiguration, computeConfigDigest } from "./config/config-digest.js";
export { ServerError } from "./server-error.js";
export type { ServerErrorCode } from "./server-error.js";

// Extension points (issue 6 builds datasets, ledgers and training on these).
export type { SealingKeyProvider } from "./storage/sealing-key-provider.js";
export { createFileKeyProvider } from "./storage/file-key-provider.js";
export { createBlobStore } from "./storage/blob-store.js";
export type { BlobStore, BlobKind, BlobStoreOptions } from "./storage/blob-store.js";
export { openDatabase, applyMigrations, durably } from "./storage/database.js";
export type { SanctumDatabase, OpenDatabaseOptions } from "./storage/database.js";
export { MIGRATIONS } from "./storage/migrations.js";
export type { Migration } from "./storage/migrations.js";
export { createAuditLog, hashAuditEntry } from "./audit/audit-log.js";
export type { AuditLog, AuditLogOptions, AuditEntry, AuditRecord } from "./audit/audit-log.js";
export type { ModelRegistry } from "./models/model-registry.js";
export type { ModelRecord, ModelAccess, TensorSpecRecord } from "./models/model-record.js";
