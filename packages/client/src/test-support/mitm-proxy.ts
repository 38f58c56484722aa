// Test support only: a man in the middle. It terminates TLS with its own key, opens TLS to
// the real server, and relays the decrypted bytes both ways, recording what the client sent.
// An attested client must notice (the evidence binds the server's key, not the proxy's) and
// send nothing but the evidence request.
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { connect as tlsConnect, createServer, type Server, type TLSSocket } from "node:tls";
import { createSelfSignedKey } from "./self-signed.js";

export interface MitmProxy {
  readonly url: string;
  /** Every plaintext byte the client sent through the proxy. */
  seenFromClient(): Buffer;
  close(): Promise<void>;
}

export async function startMitmProxy(upstreamPort: number): Promise<MitmProxy> {
  const key = createSelfSignedKey();
  const seen: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: key.certificatePem, key: key.privateKeyPem, ALPNProtocols: ["h2"] }, (client: TLSSocket) => {
    const upstream = tlsConnect({ host: "127.0.0.1", port: upstreamPort, rejectUnauthorized: false, ALPNProtocols: ["h2"] });
    client.on("data", (chunk: Buffer) => seen.push(Buffer.from(chunk)));
    relay(client, upstream, sockets);
  });
  server.on("connection", (s: Socket) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seenFromClient: () => Buffer.concat(seen),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface TcpForwarder {
  readonly url: string;
  /** Sends new connections to another port and drops the open ones (a server "restart"). */
  switchTo(port: number): void;
  close(): Promise<void>;
}

/** A plain TCP relay (TLS passes through untouched) whose target can change. */
export async function startTcpForwarder(targetPort: number): Promise<TcpForwarder> {
  let target = targetPort;
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => relay(client, netConnect(target, "127.0.0.1"), sockets));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    switchTo(port) {
      target = port;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Pipes two sockets both ways, tracked in `sockets`; either side ending ends both. */
function relay(client: Socket, upstream: Socket, sockets: Set<Socket>): void {
  sockets.add(client).add(upstream);
  client.pipe(upstream).pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", end).on("close", end);
  upstream.on("error", end).on("close", end);
}
