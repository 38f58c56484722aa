import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { GetModelRequestSchema, GetModelResponseSchema, ModelInfoSchema, ModelService } from "@sanctum/protocol";
import { createUnaryTransport } from "./unary-transport.js";

// A cleartext HTTP/2 server speaking the Connect protocol's unary form, whose answer the
// request's model field picks. What the test checks is the client side of the wire.
describe("unary transport", () => {
  let server: http2.Http2Server;
  let sessionManager: Http2SessionManager;
  let seen: { path: string; headers: http2.IncomingHttpHeaders } | undefined;
  before(async () => {
    server = http2.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen = { path: req.url, headers: req.headers };
        const model = fromBinary(GetModelRequestSchema, Buffer.concat(chunks)).model;
        if (model === "ok") {
          res.writeHead(200, { "content-type": "application/proto", "sanctum-platform": "simulation" });
          res.end(toBinary(GetModelResponseSchema, create(GetModelResponseSchema, { model: create(ModelInfoSchema, { id: "mdl_1", name: "m" }) })));
        } else if (model === "missing") {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(JSON.stringify({ code: "not_found", message: "no model named missing" }));
        } else if (model === "garbled") {
          res.writeHead(502, { "content-type": "text/html" });
          res.end("<html>bad gateway</html>");
        }
        // "slow": never answers
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    sessionManager = new Http2SessionManager(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(async () => {
    sessionManager.abort();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (streams: Transport = {} as Transport) =>
    createClient(
      ModelService,
      createUnaryTransport({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        sessionManager,
        streams,
        callHeaders: (typeName, method) => ({ authorization: `Bearer t-${typeName}-${method}` }),
      }),
    );

  it("sends a Connect unary request with the call's headers and decodes the response", async () => {
    const headers: Headers[] = [];
    const response = await client().getModel({ model: "ok" }, { onHeader: (h) => headers.push(h) });
    assert.equal(response.model?.id, "mdl_1");
    assert.equal(seen?.path, "/sanctum.v1.ModelService/GetModel");
    assert.equal(seen?.headers["content-type"], "application/proto");
    assert.equal(seen?.headers["connect-protocol-version"], "1");
    assert.equal(seen?.headers.authorization, "Bearer t-sanctum.v1.ModelService-GetModel");
    assert.equal(headers[0]?.get("sanctum-platform"), "simulation");
  });

  it("raises the server's Connect error with its code and message", async () => {
    await assert.rejects(client().getModel({ model: "missing" }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.NotFound);
      assert.equal(err.rawMessage, "no model named missing");
      return true;
    });
  });

  it("maps a non-Connect error response by its HTTP status", async () => {
    await assert.rejects(client().getModel({ model: "garbled" }), (err: unknown) => err instanceof ConnectError && err.code === Code.Unavailable);
  });

  it("fails with DeadlineExceeded after timeoutMs and with Canceled on abort", async () => {
    await assert.rejects(client().getModel({ model: "slow" }, { timeoutMs: 50 }), (err: unknown) => err instanceof ConnectError && err.code === Code.DeadlineExceeded);
    const controller = new AbortController();
    const pending = client().getModel({ model: "slow" }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, (err: unknown) => err instanceof ConnectError && err.code === Code.Canceled);
  });

  it("sends streaming calls to the streaming transport", async () => {
    let streamed = "";
    const streams = {
      unary: () => Promise.reject(new Error("unused")),
      stream: (method: { name: string }) => {
        streamed = method.name;
        return Promise.reject(new ConnectError("stream transport reached", Code.Unimplemented));
      },
    } as unknown as Transport;
    await assert.rejects(
      client(streams).uploadModel((async function* () {})()),
      (err: unknown) => err instanceof ConnectError && err.code === Code.Unimplemented,
    );
    assert.equal(streamed, "UploadModel");
  });
});
