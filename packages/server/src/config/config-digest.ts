import { createHash } from "node:crypto";
import { canonicalJson } from "@sanctum/protocol";
import type { ResolvedServerOptions } from "./server-options.js";
import { SERVER_VERSION } from "./server-options.js";
import { MAX_CHUNK_BYTES } from "../models/upload-limits.js";

/**
 * The configuration a verifier may care about: what changes the server's behaviour towards
 * clients (limits, platform, version) and how it seals their data at rest (a key file on the
 * data disk, which whoever holds the disk can read, or a platform-derived key). Host, port and
 * paths are left out on purpose: they
 * vary per deployment (a replica on another port is the same service) and change nothing a
 * client is promised. Thread counts only change speed, so they are left out too.
 */
export function effectiveConfiguration(options: ResolvedServerOptions): Record<string, unknown> {
  return {
    type: "sanctum-server-config",
    version: 1,
    serverVersion: SERVER_VERSION,
    platform: options.platform,
    maxModelBytes: options.maxModelBytes,
    maxRequestBytes: options.maxRequestBytes,
    maxChunkBytes: MAX_CHUNK_BYTES,
    maxDatasetBytes: options.maxDatasetBytes,
    sealingKey: options.sealingKeyProvider?.kind ?? "key-file",
  };
}

/** Hex SHA-256 of the canonical JSON of {@link effectiveConfiguration}; goes into the evidence. */
export function computeConfigDigest(options: ResolvedServerOptions): string {
  return createHash("sha256").update(canonicalJson(effectiveConfiguration(options))).digest("hex");
}
