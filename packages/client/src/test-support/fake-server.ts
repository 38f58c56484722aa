// Test support only (never exported): a minimal attested server for the SDK's channel tests,
// so they run without @sanctum/server (the client never depends on server code). It signs
// simulated evidence over its own TLS key, records every call it receives, echoes
// predictions and signs receipts as the real server does.
import { createSecureServer, type Http2SecureServer } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createSelfSignedKey } from "./self-signed.js";
import { computeReportData, createSimulationProvider, type EvidenceBundle } from "@sanctum/attestation";
import {
  AttestationService,
  audienceForSpki,
  digestTensors,
  ModelInfoSchema,
  ModelService,
  signReceipt,
  verifyAccessToken,
  type Dtype,
  type RawTensor,
} from "@sanctum/protocol";

export interface FakeServerOptions {
  /** Alters the evidence before it is sent (tampering tests). */
  readonly tamper?: (evidence: Omit<EvidenceBundle, "binding">) => Omit<EvidenceBundle, "binding">;
  /** The server's clock for checking tokens (a skewed clock makes every token look expired). */
  readonly tokenNow?: Date;
}

export interface FakeServer {
  readonly url: string;
  readonly port: number;
  readonly spki: Uint8Array;
  /** Method names of every call received, in order (GetEvidence included). */
  readonly calls: string[];
  /** Sizes of the upload chunks received. */
  readonly chunkSizes: number[];
  /** Callers (token issuers) seen. */
  readonly callers: string[];
  close(): Promise<void>;
}

export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const tls = createSelfSignedKey();
  const provider = createSimulationProvider({ serverVersion: "0.1.0-test", configDigest: "00".repeat(32) });
  const calls: string[] = [];
  const chunkSizes: number[] = [];
  const callers: string[] = [];
  const audience = audienceForSpki(tls.spki);
  const authorize = async (header: string | null): Promise<string> => {
    const token = header?.replace(/^Bearer /, "");
    if (token === undefined) throw new ConnectError("missing token", Code.Unauthenticated);
    try {
      const caller = await verifyAccessToken(token, { audience, ...(options.tokenNow === undefined ? {} : { now: options.tokenNow }) });
      callers.push(caller);
      return caller;
    } catch (cause) {
      throw new ConnectError((cause as Error).message, Code.Unauthenticated);
    }
  };
  const model = (owner: string) =>
    create(ModelInfoSchema, { id: "m1", name: "echo", sha256: "ab".repeat(32), owner, access: { public: false, allow: [] }, sizeBytes: 1n, createdAt: new Date(0).toISOString(), source: "upload" });
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(AttestationService, {
        async getEvidence(req) {
          calls.push("GetEvidence");
          let evidence = await provider.getEvidence(computeReportData(tls.spki, req.nonce));
          if (options.tamper !== undefined) evidence = options.tamper(evidence);
          return { ...evidence, certificates: [...evidence.certificates], collateral: "", insecure: true };
        },
      });
      router.service(ModelService, {
        async uploadModel(requests, ctx) {
          calls.push("UploadModel");
          const owner = await authorize(ctx.requestHeader.get("authorization"));
          for await (const r of requests) if (r.part.case === "chunk") chunkSizes.push(r.part.value.byteLength);
          return { model: model(owner) };
        },
        async listModels(_req, ctx) {
          calls.push("ListModels");
          return { models: [model(await authorize(ctx.requestHeader.get("authorization")))] };
        },
        async getModel(req, ctx) {
          calls.push("GetModel");
          const owner = await authorize(ctx.requestHeader.get("authorization"));
          if (req.model !== "m1" && req.model !== "echo") throw new ConnectError(`no model '${req.model}'`, Code.NotFound);
          return { model: model(owner) };
        },
        async deleteModel(req, ctx) {
          calls.push("DeleteModel");
          await authorize(ctx.requestHeader.get("authorization"));
          return { id: req.model };
        },
        async predict(req, ctx) {
          calls.push("Predict");
          await authorize(ctx.requestHeader.get("authorization"));
          const raw = (m: typeof req.inputs): Record<string, RawTensor> =>
            Object.fromEntries(Object.entries(m).map(([k, t]) => [k, { dtype: t.dtype as Dtype, shape: t.shape.map(Number), data: t.data }]));
          const outputs = Object.fromEntries(Object.entries(req.inputs).map(([k, t]) => [`echo_${k}`, t]));
          const receipt = req.receipt
            ? signReceipt(
                { type: "sanctum-prediction-receipt", version: 1, model: "m1", modelSha256: "ab".repeat(32), inputDigest: digestTensors(raw(req.inputs)), outputDigest: digestTensors(raw(outputs)), time: new Date().toISOString() },
                tls.privateKey,
              )
            : undefined;
          return { outputs, ...(receipt === undefined ? {} : { receipt }) };
        },
      });
    },
  });
  const server: Http2SecureServer = createSecureServer({ cert: tls.certificatePem, key: tls.privateKeyPem, allowHTTP1: false }, handler);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    spki: tls.spki,
    calls,
    chunkSizes,
    callers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
