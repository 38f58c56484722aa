import { describe, it } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { createRequestHandler } from "./request-handler.js";

describe("request handler", () => {
  it("widens a connection's flow-control windows at its first call and answers unknown paths 404 with the platform header", { timeout: 10_000 }, async () => {
    const handler = createRequestHandler({
      routes: () => undefined,
      interceptors: [],
      bodyTransforms: new Map(),
      responseHeaders: { "sanctum-platform": "simulation" },
      defaultReadMaxBytes: 1024,
      logger: pino({ level: "silent" }),
    });
    const server = http2.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const settingsChanged = new Promise<void>((resolve) => {
        session.on("remoteSettings", (s) => {
          if (s.initialWindowSize === 1024 * 1024) resolve();
        });
      });
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = session.request({ ":path": "/nope.v1.Service/Call", ":method": "POST" });
        req.on("response", resolve);
        req.on("error", reject);
        req.resume();
        req.end();
      });
      assert.equal(headers[":status"], 404);
      assert.equal(headers["sanctum-platform"], "simulation");
      await settingsChanged;
      assert.equal(session.remoteSettings.initialWindowSize, 1024 * 1024);
      // The connection window the server grants us: its 64 KiB default raised to 16 MiB.
      assert.ok((session.state.remoteWindowSize ?? 0) > 8 * 1024 * 1024, `remote window ${session.state.remoteWindowSize}`);
      assert.equal(handler.received(), 1);
    } finally {
      session.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
