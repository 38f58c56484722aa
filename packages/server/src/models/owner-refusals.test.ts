import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertDatasetOwner } from "../datasets/dataset-policy.js";
import type { DatasetRecord } from "../datasets/dataset-record.js";
import { ServerError } from "../server-error.js";
import { assertOwner } from "./model-access.js";
import type { ModelRecord } from "./model-record.js";

const OWNER = "ed25519:" + "o".repeat(43);
const FRIEND = "ed25519:" + "f".repeat(43);
const STRANGER = "ed25519:" + "s".repeat(43);

const model: ModelRecord = {
  id: "m_1",
  owner: OWNER,
  name: "private",
  sha256: "0".repeat(64),
  sizeBytes: 1,
  inputs: [],
  outputs: [],
  access: { public: false, allow: [FRIEND] },
  source: "upload",
  createdAt: "2026-01-01T00:00:00.000Z",
};
const dataset: DatasetRecord = {
  id: "ds_1",
  owner: OWNER,
  name: "private",
  rows: 10,
  arrays: [],
  sizeBytes: 1,
  epsilonLimit: 1,
  delta: 1e-5,
  accountant: "rdp",
  policy: { trainers: [FRIEND], weightsRelease: "owner" },
  createdAt: "2026-01-01T00:00:00.000Z",
};

/** A permission-denied error whose message does (or does not) name the owner. */
const denied = (namesOwner: boolean) => (err: unknown) =>
  err instanceof ServerError && err.code === "permission-denied" && err.message.includes(OWNER) === namesOwner;

describe("owner-only refusals", () => {
  it("let the owner through", () => {
    assertOwner(model, OWNER, "delete");
    assertDatasetOwner(dataset, OWNER, "delete it");
  });

  it("name the owner to those who may use the object", () => {
    assert.throws(() => assertOwner(model, FRIEND, "delete"), denied(true));
    assert.throws(() => assertDatasetOwner(dataset, FRIEND, "delete it"), denied(true));
  });

  it("do not tell a stranger who owns a private model or dataset", () => {
    assert.throws(() => assertOwner(model, STRANGER, "delete"), denied(false));
    assert.throws(() => assertDatasetOwner(dataset, STRANGER, "delete it"), denied(false));
  });
});
