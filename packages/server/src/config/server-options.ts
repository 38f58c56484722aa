import { availableParallelism } from "node:os";
import type { DestinationStream, LevelWithSilentOrString } from "pino";
import type { TsmFileSystem } from "@sanctum/attestation";
import type { SealingKeyProvider } from "../storage/sealing-key-provider.js";
import { ServerError } from "../server-error.js";

/** The version this server reports in its evidence (and so in its simulated measurement). */
export const SERVER_VERSION = "0.1.0";

/** Options of {@link createSanctumServer}. Every field is optional; defaults are given per field. */
export interface SanctumServerOptions {
  /** Interface to listen on; default "127.0.0.1". */
  readonly host?: string;
  /** TCP port; default 9443; 0 picks a free port (tests). */
  readonly port?: number;
  /** Folder for SQLite metadata and sealed blobs; default "./sanctum-data". Created if missing. */
  readonly dataDir?: string;
  /** `simulation` (development, insecure) or `auto` (SEV-SNP or TDX, refusing to start without one); default "auto". */
  readonly platform?: "simulation" | "auto";
  /** Largest model accepted, in bytes actually received; default 512 MiB, range [1, 2^31 - 1]. */
  readonly maxModelBytes?: number;
  /** Largest predict request, in bytes actually received; default 64 MiB, range [1024, 2^31 - 1]. */
  readonly maxRequestBytes?: number;
  /** Largest dataset upload, in bytes received (as safetensors); default 1 GiB, range [1 MiB, 64 GiB]. */
  readonly maxDatasetBytes?: number;
  /** Training runs at once (each takes a core while it runs); default 2, range [1, 64]. */
  readonly maxTrainingRuns?: number;
  /** Folder of platform certificates and collateral served with the evidence (`--attestation-certs`). */
  readonly attestationCertsDir?: string;
  /** Root of the kernel's configfs-tsm reports; default `/sys/kernel/config/tsm/report`. */
  readonly configfsRoot?: string;
  /** File operations on configfs-tsm; default node:fs (tests pass a fake kernel). */
  readonly configfs?: TsmFileSystem;
  /** Inference worker threads; default min(2, cores). Range [1, 64]. */
  readonly inferenceWorkers?: number;
  /** onnxruntime intra-op threads per worker; default max(1, floor(cores / inferenceWorkers)). */
  readonly intraOpThreads?: number;
  /** Sessions each worker keeps loaded (least recently used are dropped); default 16. */
  readonly maxLoadedModels?: number;
  /** Sealing key source; default: the key file `<dataDir>/sealing.key` (mode 0600). */
  readonly sealingKeyProvider?: SealingKeyProvider;
  /** pino level; default "info". Tests pass "silent". */
  readonly logLevel?: LevelWithSilentOrString;
  /** Where log lines go; default stderr (stdout stays for `listening on ...`). */
  readonly logDestination?: DestinationStream;
  /** Seconds {@link SanctumServer.close} waits for in-flight calls before cutting them; default 10. */
  readonly shutdownGraceSec?: number;
  /** Injected clock for tokens, receipts and the audit log; default `() => new Date()`. */
  readonly now?: () => Date;
}

/** {@link SanctumServerOptions} with every default applied and every range checked. */
export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly platform: "simulation" | "auto";
  readonly maxModelBytes: number;
  readonly maxRequestBytes: number;
  readonly maxDatasetBytes: number;
  readonly maxTrainingRuns: number;
  readonly attestationCertsDir: string | undefined;
  readonly configfsRoot: string | undefined;
  readonly configfs: TsmFileSystem | undefined;
  readonly inferenceWorkers: number;
  readonly intraOpThreads: number;
  readonly maxLoadedModels: number;
  readonly sealingKeyProvider: SealingKeyProvider | undefined;
  readonly logLevel: LevelWithSilentOrString;
  readonly logDestination: DestinationStream | undefined;
  readonly shutdownGraceSec: number;
  readonly now: () => Date;
}

const MIB = 1024 * 1024;
const INT32_MAX = 2 ** 31 - 1;

/** Applies defaults and checks ranges; throws `invalid-options` naming the option and its range. */
export function resolveServerOptions(options: SanctumServerOptions = {}): ResolvedServerOptions {
  const cores = Math.max(1, availableParallelism());
  const inferenceWorkers = int("inferenceWorkers", options.inferenceWorkers ?? Math.min(2, cores), 1, 64);
  const platform = options.platform ?? "auto";
  if (platform !== "simulation" && platform !== "auto") {
    throw new ServerError("invalid-options", `platform must be "simulation" or "auto", got ${JSON.stringify(platform)}`);
  }
  return {
    host: options.host ?? "127.0.0.1",
    port: int("port", options.port ?? 9443, 0, 65535),
    dataDir: options.dataDir ?? "./sanctum-data",
    platform,
    maxModelBytes: int("maxModelBytes (--max-model-bytes)", options.maxModelBytes ?? 512 * MIB, 1, INT32_MAX),
    maxRequestBytes: int("maxRequestBytes (--max-request-bytes)", options.maxRequestBytes ?? 64 * MIB, 1024, INT32_MAX),
    maxDatasetBytes: int("maxDatasetBytes (--max-dataset-bytes)", options.maxDatasetBytes ?? 1024 * MIB, MIB, 64 * 1024 * MIB),
    maxTrainingRuns: int("maxTrainingRuns (--max-training-runs)", options.maxTrainingRuns ?? 2, 1, 64),
    attestationCertsDir: options.attestationCertsDir,
    configfsRoot: options.configfsRoot,
    configfs: options.configfs,
    inferenceWorkers,
    intraOpThreads: int("intraOpThreads", options.intraOpThreads ?? Math.max(1, Math.floor(cores / inferenceWorkers)), 1, 256),
    maxLoadedModels: int("maxLoadedModels", options.maxLoadedModels ?? 16, 1, 4096),
    sealingKeyProvider: options.sealingKeyProvider,
    logLevel: options.logLevel ?? "info",
    logDestination: options.logDestination,
    shutdownGraceSec: num("shutdownGraceSec", options.shutdownGraceSec ?? 10, 0, 3600),
    now: options.now ?? (() => new Date()),
  };
}

function int(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ServerError("invalid-options", `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

function num(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ServerError("invalid-options", `${name} must be a number in [${min}, ${max}], got ${value}`);
  }
  return value;
}
