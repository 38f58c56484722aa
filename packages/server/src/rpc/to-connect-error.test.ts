import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { ProtocolError } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";
import { INTERNAL_MESSAGE, outcomeOf, toConnectError } from "./to-connect-error.js";

describe("toConnectError", () => {
  it("maps our codes and keeps user-facing messages", () => {
    const e = toConnectError(new ServerError("permission-denied", "only the owner may"));
    assert.equal(e.code, Code.PermissionDenied);
    assert.equal(e.rawMessage, "only the owner may");
    assert.equal(toConnectError(new ServerError("already-exists", "x")).code, Code.AlreadyExists);
    assert.equal(toConnectError(new ProtocolError("token-expired", "expired")).code, Code.Unauthenticated);
    assert.equal(toConnectError(new ConnectError("big", Code.ResourceExhausted)).code, Code.ResourceExhausted);
  });

  it("never leaks the text of internal or unknown errors", () => {
    for (const err of [new Error("secret path /data/x"), new ServerError("storage-corrupt", "blob mdl_1 corrupt"), "str"]) {
      const e = toConnectError(err);
      assert.equal(e.code, Code.Internal);
      assert.equal(e.rawMessage, INTERNAL_MESSAGE);
    }
  });

  it("names outcomes for the audit log", () => {
    assert.equal(outcomeOf(undefined), "ok");
    assert.equal(outcomeOf(new ServerError("permission-denied", "x")), "permission_denied");
    assert.equal(outcomeOf(new ServerError("invalid-argument", "x")), "invalid_argument");
  });
});
