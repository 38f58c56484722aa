import { promises as fs } from "node:fs";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { endianness } from "node:os";
import { join, resolve } from "node:path";
import { resolveAttestationProvider, type AttestationProvider } from "@sanctum/attestation";
import type { Logger } from "pino";
import { audienceForSpki, AttestationService, ModelService } from "@sanctum/protocol";
import { createAuditLog, type AuditLog } from "./audit/audit-log.js";
import { computeConfigDigest } from "./config/config-digest.js";
import { resolveServerOptions, SERVER_VERSION, type ResolvedServerOptions, type SanctumServerOptions } from "./config/server-options.js";
import { acquireDataDirLock, type DataDirLock } from "./storage/data-dir-lock.js";
import { createInferencePool } from "./inference/inference-pool.js";
import { createServerLogger } from "./logging/create-logger.js";
import { createModelRegistry, type ModelRegistry } from "./models/model-registry.js";
import { MAX_UPLOAD_MESSAGE_BYTES } from "./models/upload-limits.js";
import { createAttestationService } from "./rpc/attestation-service.js";
import { bodyLimit } from "./rpc/body-limit.js";
import { auditTrail } from "./rpc/interceptors/audit-trail.js";
import { bearerAuth } from "./rpc/interceptors/bearer-auth.js";
import { errorBoundary } from "./rpc/interceptors/error-boundary.js";
import { createModelService } from "./rpc/model-service.js";
import { createRequestHandler } from "./rpc/request-handler.js";
import { ServerError } from "./server-error.js";
import { createBlobStore } from "./storage/blob-store.js";
import { openDatabase, type SanctumDatabase } from "./storage/database.js";
import { createFileKeyProvider } from "./storage/file-key-provider.js";
import { createTlsIdentity } from "./tls/tls-identity.js";
import { deriveAuditKey } from "./audit/dataset-audit-log.js";
import { createTrainingFeature } from "./training/training-feature.js";

/** A running server. */
export interface SanctumServer {
  /** `https://HOST:PORT` with the port actually bound (useful with port 0). */
  readonly url: string;
  /** The attestation platform: "simulation", "sev-snp" or "tdx". */
  readonly platform: string;
  /** SPKI DER of the TLS key generated at start: what the evidence binds and clients pin. */
  readonly spki: Uint8Array;
  /** PEM of the self-signed TLS certificate (tests pin it as their only trust anchor). */
  readonly certificatePem: string;
  /** Hex SHA-256 of the effective configuration, as carried in the evidence. */
  readonly configDigest: string;
  /** The metadata database, audit log and model registry, for features built on this server (issue 6). */
  readonly internals: {
    readonly db: SanctumDatabase;
    readonly audit: AuditLog;
    readonly models: ModelRegistry;
    /** Calls received since start, and calls whose response has not finished. */
    readonly calls: () => { received: number; active: number };
  };
  /**
   * Stops accepting connections, lets calls in flight finish (up to `shutdownGraceSec`, then
   * cuts them), stops the inference workers and closes the database. Idempotent.
   */
  close(): Promise<void>;
}

/** Fully qualified name of the one call that needs no token. */
const GET_EVIDENCE = `${AttestationService.typeName}/${AttestationService.method.getEvidence.name}`;
/** Calls one connection may have in flight (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
const MAX_STREAMS_PER_CONNECTION = 128;
/** Slack for gRPC framing (5-byte envelope) over the message limit, counted on the body. */
const FRAMING_BYTES = 16;

/**
 * Starts a Sanctum server and resolves once it listens: TLS key made in memory, attestation
 * provider for the platform, sealed storage under the data dir, inference workers, and the
 * Connect/gRPC/gRPC-Web services over HTTP/2 + TLS.
 *
 * @example
 * const server = await createSanctumServer({ platform: "simulation", port: 0, dataDir: "/tmp/d" });
 * console.log(`listening on ${server.url}`);
 */
export async function createSanctumServer(options: SanctumServerOptions = {}): Promise<SanctumServer> {
  const o = resolveServerOptions(options);
  // The wire carries little-endian tensors that we hand to onnxruntime as typed arrays.
  if (endianness() !== "LE") throw new ServerError("invalid-options", "Sanctum needs a little-endian CPU");
  const configDigest = computeConfigDigest(o);
  const provider = await resolveAttestationProvider({
    platform: o.platform,
    server: { serverVersion: SERVER_VERSION, configDigest },
    ...(o.attestationCertsDir === undefined ? {} : { attestationCertsDir: o.attestationCertsDir }),
    ...(o.configfsRoot === undefined ? {} : { configfsRoot: o.configfsRoot }),
    ...(o.configfs === undefined ? {} : { configfs: o.configfs }),
  });
  const logger = createServerLogger({ level: o.logLevel, destination: o.logDestination, insecure: provider.insecure });

  const dataDir = resolve(o.dataDir);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lock = await acquireDataDirLock(dataDir);
  try {
    return await startInDataDir({ o, provider, logger, dataDir, configDigest, lock });
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** What the start-up knows once the platform is resolved and the data dir is locked. */
interface StartContext {
  readonly o: ResolvedServerOptions;
  readonly provider: AttestationProvider;
  readonly logger: Logger;
  readonly dataDir: string;
  readonly configDigest: string;
  readonly lock: DataDirLock;
}

/** Opens storage, starts the workers and listens; the caller releases the lock on failure. */
async function startInDataDir({ o, provider, logger, dataDir, configDigest, lock }: StartContext): Promise<SanctumServer> {
  const dirMode = (await fs.stat(dataDir)).mode & 0o777;
  if ((dirMode & 0o077) !== 0) {
    logger.warn({ dataDir, mode: dirMode.toString(8) }, "the data dir is open to other users: chmod 700 it (metadata and the audit log are not sealed)");
  }
  const keyProvider = o.sealingKeyProvider ?? createFileKeyProvider({ path: join(dataDir, "sealing.key") });
  if (keyProvider.insecure && !provider.insecure) {
    logger.warn(
      { sealingKey: keyProvider.kind },
      "the sealing key is a file on the data disk: whoever holds the disk can unseal models; use a platform key provider in production",
    );
  }
  const rootKey = await keyProvider.getRootKey();
  const blobs = await createBlobStore({ dir: join(dataDir, "blobs"), rootKey });
  // Issue 6: the MAC key of the per-dataset audit heads, derived before the root key is wiped.
  const auditKey = deriveAuditKey(rootKey);
  rootKey.fill(0);
  const db = openDatabase({ path: join(dataDir, "sanctum.db") });
  let pool: ReturnType<typeof createInferencePool> | undefined;
  try {
    const audit = createAuditLog(db, {
      now: o.now,
      onWriteError: (err) => logger.error({ errName: (err as Error).name, errCode: (err as { code?: string }).code }, "audit write failed"),
    });
    const models = await createModelRegistry(db, blobs);
    pool = createInferencePool({
      workers: o.inferenceWorkers,
      intraOpThreads: o.intraOpThreads,
      maxLoadedModels: o.maxLoadedModels,
      loadModelBytes: async (id) => {
        if (models.get(id) === undefined) throw new ServerError("not-found", `model ${id} was deleted while this prediction waited`);
        return models.loadBytes(id);
      },
      onWorkerExit: (code) => logger.error({ code }, "an inference worker died and was replaced"),
    });
    const tls = createTlsIdentity({ host: o.host, now: o.now() });
    const attestationService = createAttestationService({ provider, spki: tls.spki });
    const modelService = createModelService({
      registry: models,
      pool,
      maxModelBytes: o.maxModelBytes,
      receiptKey: tls.privateKey,
      now: o.now,
    });
    const training = await createTrainingFeature({
      db,
      blobs,
      auditKey,
      models,
      pool,
      signingKey: tls.privateKey,
      maxModelBytes: o.maxModelBytes,
      maxDatasetBytes: o.maxDatasetBytes,
      maxConcurrentRuns: o.maxTrainingRuns,
      now: o.now,
      logger,
    });
    auditKey.fill(0);
    const handler = createRequestHandler({
      interceptors: [
        errorBoundary({ logger }),
        auditTrail({ audit, logger }),
        bearerAuth({ audience: audienceForSpki(tls.spki), publicMethods: new Set([GET_EVIDENCE]), now: o.now }),
      ],
      routes(router) {
        router.service(AttestationService, attestationService);
        router.rpc(ModelService.method.uploadModel, modelService.uploadModel, { readMaxBytes: MAX_UPLOAD_MESSAGE_BYTES * 4 });
        router.rpc(ModelService.method.listModels, modelService.listModels);
        router.rpc(ModelService.method.getModel, modelService.getModel);
        router.rpc(ModelService.method.deleteModel, modelService.deleteModel);
        router.rpc(ModelService.method.predict, modelService.predict, { readMaxBytes: o.maxRequestBytes });
        training.routes(router);
      },
      bodyTransforms: new Map([
        [
          `/${ModelService.typeName}/${ModelService.method.predict.name}`,
          bodyLimit({ maxBytes: o.maxRequestBytes, framingBytes: FRAMING_BYTES, flag: "--max-request-bytes" }),
        ],
      ]),
      responseHeaders: { "sanctum-platform": provider.platform, ...(provider.insecure ? { "sanctum-insecure": "true" } : {}) },
      defaultReadMaxBytes: 1024 * 1024,
      logger,
      onRefused: ({ method, outcome }) => {
        audit.append({ caller: "anonymous", method, object: "", outcome });
        logger.info({ method, outcome }, "call refused before authentication");
      },
    });

    const server = http2.createSecureServer({
      key: tls.privateKeyPem,
      cert: tls.certificatePem,
      allowHTTP1: false,
      // Node's default lets one connection open ~2^32 streams, each of which may buffer a
      // request up to --max-request-bytes: cap what one client can hold at once.
      settings: { maxConcurrentStreams: MAX_STREAMS_PER_CONNECTION },
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on("session", (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.on("close", () => sessions.delete(session));
    });
    server.on("request", handler);
    await new Promise<void>((ok, fail) => {
      const onError = (err: NodeJS.ErrnoException) =>
        fail(
          new ServerError(
            "invalid-options",
            err.code === "EADDRINUSE"
              ? `cannot listen on ${o.host}:${o.port}: the port is in use; pick another --port (0 picks a free one)`
              : `cannot listen on ${o.host}:${o.port} (${err.code ?? err.message}): check --host and --port`,
            { cause: err },
          ),
        );
      server.once("error", onError);
      server.listen(o.port, o.host, () => {
        server.off("error", onError);
        ok();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const url = `https://${o.host.includes(":") ? `[${o.host}]` : o.host}:${port}`;
    logger.info({ url, platform: provider.platform, configDigest, dataDir }, "listening");

    let closing: Promise<void> | undefined;
    const activePool = pool;
    const close = async () => {
      const closed = new Promise<void>((ok) => server.close(() => ok()));
      logger.info({ activeCalls: handler.active() }, "stopping: finishing calls in flight");
      // GOAWAY: clients open no new streams; streams in flight finish.
      for (const session of sessions) session.close();
      // Runs in progress stop after their current step (settled, marked cancelled); that also ends their watch streams.
      const trainingClosed = training.close();
      const grace = setTimeout(() => {
        for (const session of sessions) session.destroy();
      }, o.shutdownGraceSec * 1000);
      await closed;
      clearTimeout(grace);
      await trainingClosed;
      await activePool.close();
      audit.flush();
      db.close();
      await lock.release();
      logger.info("stopped");
    };
    return {
      url,
      platform: provider.platform,
      spki: tls.spki,
      certificatePem: tls.certificatePem,
      configDigest,
      internals: { db, audit, models, calls: () => ({ received: handler.received(), active: handler.active() }) },
      close: () => (closing ??= close()),
    };
  } catch (err) {
    await pool?.close();
    db.close();
    throw err;
  }
}
