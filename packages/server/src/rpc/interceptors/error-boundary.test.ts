import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Writable } from "node:stream";
import { Code, ConnectError, createContextValues, type StreamRequest, type StreamResponse } from "@connectrpc/connect";
import { pino } from "pino";
import { INTERNAL_MESSAGE } from "../to-connect-error.js";
import { errorBoundary } from "./error-boundary.js";

describe("error boundary", () => {
  it("maps and logs an internal failure a server stream throws while its messages are pulled", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "error" }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
    const req = { stream: true, contextValues: createContextValues(), service: { name: "TrainingService" }, method: { name: "DownloadWeights", methodKind: "server_streaming" } } as unknown as StreamRequest;
    const next = async (): Promise<StreamResponse> =>
      ({
        stream: true,
        message: (async function* () {
          yield* [];
          throw new TypeError("disk says no");
        })(),
      }) as unknown as StreamResponse;
    const res = (await errorBoundary({ logger })(next as never)(req)) as StreamResponse;
    await assert.rejects(
      async () => {
        for await (const _ of res.message) void _;
      },
      (err: unknown) => err instanceof ConnectError && err.code === Code.Internal && err.rawMessage === INTERNAL_MESSAGE,
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /"errName":"TypeError"/);
  });
});
