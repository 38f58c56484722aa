import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { UploadDatasetRequestSchema, type UploadDatasetRequest } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";
import { receiveDataset } from "./receive-dataset.js";

const header = create(UploadDatasetRequestSchema, { part: { case: "header", value: { name: "d", epsilon: 1 } } });
const chunk = (n: number) => create(UploadDatasetRequestSchema, { part: { case: "chunk", value: new Uint8Array(n).fill(1) } });
async function* stream(...messages: UploadDatasetRequest[]): AsyncIterable<UploadDatasetRequest> {
  yield* messages;
}
const isCode = (code: string, pattern: RegExp) => (err: unknown) => err instanceof ServerError && err.code === code && pattern.test(err.message);

describe("dataset upload streams", () => {
  it("joins the chunks after the header and checks the header first", async () => {
    let seen = "";
    const { bytes } = await receiveDataset(stream(header, chunk(3), chunk(2)), { maxDatasetBytes: 10, onHeader: (h) => (seen = h.name) });
    assert.equal(seen, "d");
    assert.equal(bytes.byteLength, 5);
  });

  it("cuts a stream past the limit on bytes received, and refuses malformed streams", async () => {
    await assert.rejects(receiveDataset(stream(header, chunk(6), chunk(6)), { maxDatasetBytes: 10, onHeader: () => {} }), isCode("resource-exhausted", /limit of 10 bytes/));
    await assert.rejects(receiveDataset(stream(chunk(1)), { maxDatasetBytes: 10, onHeader: () => {} }), isCode("invalid-argument", /first message must be the header/));
    await assert.rejects(receiveDataset(stream(header, header), { maxDatasetBytes: 10, onHeader: () => {} }), isCode("invalid-argument", /header was sent twice/));
    await assert.rejects(receiveDataset(stream(header), { maxDatasetBytes: 10, onHeader: () => {} }), isCode("invalid-argument", /no dataset bytes/));
    await assert.rejects(receiveDataset(stream(header, chunk(1024 * 1024 + 1)), { maxDatasetBytes: 1e9, onHeader: () => {} }), isCode("invalid-argument", /at most 1048576 bytes/));
  });
});
