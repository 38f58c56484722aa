import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AttestationService, ModelService, audienceForSpki, createAccessToken, type Identity } from "@sanctum/protocol";

/** A server as the tests see it. */
export interface TestServerInfo {
  readonly url: string;
  readonly spki: Uint8Array;
  readonly certificatePem: string;
}

/** Options of {@link createTestClient}. */
export interface TestClientOptions {
  /** Who calls; no identity means no token. */
  readonly identity?: Identity;
  /** Token audience; default the server's own. */
  readonly audience?: string;
  /** Clock of the token; default now. */
  readonly tokenNow?: Date;
  /** Lifetime of the token in seconds; default 60. */
  readonly lifetimeSec?: number;
  /** "grpc" (default) or "connect". */
  readonly protocol?: "grpc" | "connect";
}

/** The generated clients over a transport pinned to the server's certificate, with tokens. */
export interface TestClient {
  readonly attestation: Client<typeof AttestationService>;
  readonly models: Client<typeof ModelService>;
  /** The response headers of the last call. */
  lastHeaders(): Headers | undefined;
}

/** A minimal Connect client for tests (the real SDK lives in @sanctum/client). */
export function createTestClient(server: TestServerInfo, options: TestClientOptions = {}): TestClient {
  let headers: Headers | undefined;
  const auth: Interceptor = (next) => async (req) => {
    if (options.identity !== undefined) {
      const token = await createAccessToken(options.identity, {
        audience: options.audience ?? audienceForSpki(server.spki),
        ...(options.tokenNow === undefined ? {} : { now: options.tokenNow }),
        ...(options.lifetimeSec === undefined ? {} : { lifetimeSec: options.lifetimeSec }),
      });
      req.header.set("authorization", `Bearer ${token}`);
    }
    const res = await next(req);
    headers = res.header;
    return res;
  };
  const nodeOptions = { ca: server.certificatePem, checkServerIdentity: () => undefined };
  const transport: Transport =
    options.protocol === "connect"
      ? createConnectTransport({ baseUrl: server.url, httpVersion: "2", nodeOptions, interceptors: [auth] })
      : createGrpcTransport({ baseUrl: server.url, nodeOptions, interceptors: [auth] });
  return {
    attestation: createClient(AttestationService, transport),
    models: createClient(ModelService, transport),
    lastHeaders: () => headers,
  };
}
