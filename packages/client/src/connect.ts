import { randomBytes } from "node:crypto";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  AttestationError,
  DEFAULT_POLICY,
  computeReportData,
  isPlatformName,
  verifyEvidence,
  type EvidenceBundle,
  type VerificationPolicy,
  type VerificationResult,
} from "@sanctum/attestation";
import { AttestationService, AuditService, DatasetService, ModelService, TrainingService, audienceForSpki, createAccessToken, type Identity } from "@sanctum/protocol";
import { createAuditApi, type AuditApi } from "./audit-api.js";
import { createDatasetsApi, type DatasetsApi } from "./datasets-api.js";
import { createRemoteLearner, type RemoteLearner, type RemoteLearnerOptions } from "./remote-learner.js";
import { createTrainingApi, type TrainingApi } from "./training-api.js";
import { ClientError } from "./client-error.js";
import { mapCallError } from "./map-connect-error.js";
import { createModelsApi, type ModelsApi } from "./models-api.js";
import { fetchServerKey, spkiPinCheck } from "./server-key.js";
import { createUnaryTransport } from "./unary-transport.js";

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** The caller's key pair; every call carries a token it signs. */
  readonly identity: Identity;
  /**
   * Accept a server on the insecure simulation platform (development only); default false.
   * A policy whose `allowSimulation` is true allows it too.
   */
  readonly allowSimulation?: boolean;
  /** What evidence to accept; default DEFAULT_POLICY (SEV-SNP and TDX, any measurement). */
  readonly policy?: VerificationPolicy;
  /** The time evidence is verified at; default now. */
  readonly now?: Date;
  /** Time allowed for the TLS handshake and the evidence call, in milliseconds; default 10000. */
  readonly timeoutMs?: number;
}

/** A connection to an attested Sanctum server. */
export interface SanctumClient {
  /** The server URL. */
  readonly url: string;
  /** What was verified about the server. */
  readonly attestation: VerificationResult;
  /** The evidence, with its binding to the server key and this connection's nonce. */
  readonly evidence: EvidenceBundle;
  /** The attested server key (SPKI DER); every later connection is pinned to it. */
  readonly serverSpki: Uint8Array;
  readonly models: ModelsApi;
  /** Datasets for remote training (issue 6): upload with a budget and policy, list, budget, delete. */
  readonly datasets: DatasetsApi;
  /** Remote DP training runs: start, watch, download weights, deploy. */
  readonly training: TrainingApi;
  /** Audit logs of your datasets, verified by this client. */
  readonly audit: AuditApi;
  /** A model trained remotely on datasets you never see (`fit`, `getModel`, `deploy`). */
  remoteLearner(options: RemoteLearnerOptions): RemoteLearner;
  /** Closes the connection; later calls fail with `closed`. */
  close(): void;
}

/** Tokens are reused until this long before they expire (they live 60 s). */
const TOKEN_REUSE_MS = 50_000;

/**
 * Connects to a Sanctum server and attests it before anything else is sent: reads its TLS
 * key, pins it, asks for evidence over a fresh 32-byte nonce, verifies the evidence offline
 * against the policy and checks that its report data binds exactly that key and nonce.
 * Any failure closes the connection and throws; no model, input or token has been sent.
 * @example
 * const client = await connect("https://127.0.0.1:9443", { identity, allowSimulation: true });
 * const model = await client.models.upload("model.onnx", { name: "mlp" });
 */
export async function connect(url: string, options: ConnectOptions): Promise<SanctumClient> {
  const base = parseServerUrl(url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  if (options.identity === undefined || typeof options.identity.publicKey !== "string") {
    throw new ClientError("invalid-argument", "identity is required: load one with decodeIdentityFile or make one with generateIdentity");
  }
  const serverKey = await fetchServerKey(base, timeoutMs);
  const spki = serverKey.spki;
  const sessionManager = new Http2SessionManager(base, {}, {
    ca: serverKey.certificatePem,
    checkServerIdentity: spkiPinCheck(spki),
    ALPNProtocols: ["h2"],
  });
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      sessionManager.abort();
    }
  };
  const audience = audienceForSpki(spki);
  let token: { value: string; reuseUntil: number } | undefined;
  const authorization = async (typeName: string): Promise<string | undefined> => {
    // Only the evidence call goes without a token: it happens before the server is trusted.
    if (typeName === AttestationService.typeName) return undefined;
    const now = Date.now();
    if (token === undefined || now >= token.reuseUntil) {
      token = { value: `Bearer ${await createAccessToken(options.identity, { audience })}`, reuseUntil: now + TOKEN_REUSE_MS };
    }
    return token.value;
  };
  const bearer: Interceptor = (next) => async (request) => {
    const value = await authorization(request.service.typeName);
    if (value !== undefined) request.header.set("authorization", value);
    return next(request);
  };
  // The Connect protocol with binary protobuf over the one pinned HTTP/2 session: the server
  // serves gRPC too (for clients generated in other languages), but Connect's unary calls are
  // a plain request/response without gRPC's envelope and trailers, and cost both sides about
  // 40 % less CPU per call (bench/inference/protocols.mjs). Streaming calls (uploads,
  // training progress) work the same over HTTP/2.
  const streams = createConnectTransport({ baseUrl: base.origin, httpVersion: "2", useBinaryFormat: true, sessionManager, interceptors: [bearer] });
  // Unary calls (predict above all) skip connect-node's client pipeline: same protocol, same
  // session and token, a third of the client CPU per call (see unary-transport.ts).
  const transport = createUnaryTransport({
    baseUrl: base.origin,
    sessionManager,
    streams,
    callHeaders: async (typeName) => {
      const value = await authorization(typeName);
      return value === undefined ? {} : { authorization: value };
    },
  });
  const origin = base.origin;
  try {
    const nonce = new Uint8Array(randomBytes(32));
    let response;
    try {
      response = await createClient(AttestationService, transport).getEvidence({ nonce }, { timeoutMs });
    } catch (err) {
      throw mapCallError(err, "get evidence", origin);
    }
    if (!isPlatformName(response.platform)) {
      throw new ClientError("attestation-failed", `server at ${origin} claims unknown platform '${response.platform.slice(0, 32)}'; nothing was sent`);
    }
    const evidence: EvidenceBundle = {
      platform: response.platform,
      report: response.report,
      certificates: response.certificates,
      ...(response.collateral === "" ? {} : { collateral: response.collateral }),
      serverVersion: response.serverVersion,
      configDigest: response.configDigest,
      binding: { spki, nonce },
    };
    const attestation = await verify(evidence, options, origin);
    const ensureOpen = () => {
      if (closed) throw new ClientError("closed", "this Sanctum client was closed: connect again");
    };
    const training = createTrainingApi({ rpc: createClient(TrainingService, transport), url: origin, ensureOpen });
    return {
      url: origin,
      attestation,
      evidence,
      serverSpki: spki,
      models: createModelsApi({
        rpc: createClient(ModelService, transport),
        url: origin,
        spki,
        evidence,
        ensureOpen,
      }),
      datasets: createDatasetsApi({ rpc: createClient(DatasetService, transport), url: origin, ensureOpen }),
      training,
      audit: createAuditApi({ rpc: createClient(AuditService, transport), url: origin, spki, ensureOpen }),
      remoteLearner: (learnerOptions) => createRemoteLearner(training, learnerOptions),
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

async function verify(evidence: EvidenceBundle, options: ConnectOptions, origin: string): Promise<VerificationResult> {
  const base = options.policy ?? DEFAULT_POLICY;
  const policy: VerificationPolicy = options.allowSimulation === true ? { ...base, allowSimulation: true } : base;
  const binding = evidence.binding!;
  let result: VerificationResult;
  try {
    result = await verifyEvidence(evidence, {
      policy,
      expectedReportData: computeReportData(binding.spki, binding.nonce),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  } catch (cause) {
    const why = cause instanceof AttestationError ? cause.message : "its evidence could not be parsed";
    throw new ClientError("attestation-failed", `server at ${origin} is not trusted: ${why}; nothing was sent`, { cause });
  }
  if (result.verified) return result;
  const codes = result.problems.map((p) => p.code);
  if (codes.includes("report-data")) {
    throw new ClientError(
      "server-key-mismatch",
      `server at ${origin} is not trusted: its evidence does not bind the TLS key it presented (a man in the middle, or a misconfigured proxy); nothing was sent`,
      { verification: result },
    );
  }
  if (codes.length === 1 && codes[0] === "simulation-refused") {
    throw new ClientError(
      "simulation-refused",
      `server at ${origin} runs on the insecure simulation platform (no hardware protection: its operator can read everything); nothing was sent. For development only, pass --allow-simulation (SDK: allowSimulation: true)`,
      { verification: result },
    );
  }
  const why = result.problems.map((p) => p.message).join("; ");
  throw new ClientError("attestation-failed", `server at ${origin} is not trusted: ${why}; nothing was sent. Check --policy and the server's platform`, {
    verification: result,
  });
}

function parseServerUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClientError("invalid-argument", `server URL '${url}' is not a URL: expected https://HOST:PORT (e.g. https://127.0.0.1:9443)`);
  }
  if (parsed.protocol !== "https:") {
    throw new ClientError("invalid-argument", `server URL '${url}' must start with https:// (Sanctum always uses TLS)`);
  }
  return parsed;
}
