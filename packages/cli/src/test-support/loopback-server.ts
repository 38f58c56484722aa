// Test support for the end-to-end suites (not a test file: node --test runs only *.test.js):
// a real simulation server on a loopback port over a fresh data dir, one attested SDK client
// per identity, and the assertion that a call failed with a given ClientError code.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientError, connect, type SanctumClient } from "@sanctum/client";
import type { Identity } from "@sanctum/protocol";
import { createSanctumServer, type SanctumServer, type SanctumServerOptions } from "@sanctum/server";

/** Options of {@link startLoopbackServer}. */
export interface LoopbackServerOptions {
  /** Prefix of the temporary data dir, e.g. "sanctum-sdk-e2e-". */
  readonly dirPrefix: string;
  /** Identities to connect (attested, simulation allowed) once the server listens. */
  readonly identities: readonly Identity[];
  /** Server options beyond platform simulation, port 0, the data dir and a silent log. */
  readonly server?: Pick<SanctumServerOptions, "maxModelBytes" | "maxRequestBytes" | "maxDatasetBytes" | "maxTrainingRuns">;
}

/** A running loopback server and its connected clients. */
export interface LoopbackServer {
  readonly server: SanctumServer;
  readonly dataDir: string;
  /** The client connected as `identity` (one of the options' identities). */
  as(identity: Identity): SanctumClient;
  /** Closes every client and the server, and removes the data dir. */
  close(): Promise<void>;
}

/** Starts a simulation server on 127.0.0.1 port 0 and connects every identity to it. */
export async function startLoopbackServer(options: LoopbackServerOptions): Promise<LoopbackServer> {
  const dataDir = mkdtempSync(join(tmpdir(), options.dirPrefix));
  const clients = new Map<string, SanctumClient>();
  let server: SanctumServer | undefined;
  const close = async () => {
    for (const c of clients.values()) c.close();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    server = await createSanctumServer({ platform: "simulation", port: 0, dataDir, logLevel: "silent", ...options.server });
    for (const who of options.identities) clients.set(who.publicKey, await connect(server.url, { identity: who, allowSimulation: true }));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    server,
    dataDir,
    as(identity) {
      const client = clients.get(identity.publicKey);
      if (client === undefined) throw new Error("startLoopbackServer: that identity was not in options.identities");
      return client;
    },
    close,
  };
}

/** For `assert.rejects`: the error is a ClientError with this code (and a message matching `message`). */
export function clientErrorCode(expected: string, message?: RegExp): (err: unknown) => true {
  return (err: unknown) => {
    assert.ok(err instanceof ClientError, `expected a ClientError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };
}
