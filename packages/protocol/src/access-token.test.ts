import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKeyPairSync } from "node:crypto";
import { audienceForSpki, createAccessToken, verifyAccessToken } from "./access-token.js";
import { generateIdentity } from "./identity.js";
import { ProtocolError } from "./protocol-error.js";

const spki = (): Buffer => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" });

describe("access tokens", () => {
  const audience = audienceForSpki(spki());
  it("verifies a fresh token and names its issuer", async () => {
    const id = generateIdentity();
    const token = await createAccessToken(id, { audience });
    assert.equal(await verifyAccessToken(token, { audience }), id.publicKey);
  });
  it("refuses a token for another server key", async () => {
    const token = await createAccessToken(generateIdentity(), { audience: audienceForSpki(spki()) });
    await assert.rejects(verifyAccessToken(token, { audience }), (e: unknown) => e instanceof ProtocolError && e.code === "token-audience");
  });
  it("refuses an expired token", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const token = await createAccessToken(generateIdentity(), { audience, now });
    const later = new Date(now.getTime() + 10 * 60_000);
    await assert.rejects(verifyAccessToken(token, { audience, now: later }), (e: unknown) => e instanceof ProtocolError && e.code === "token-expired");
  });
  it("refuses a token whose issuer claims a key that did not sign it", async () => {
    const [a, b] = [generateIdentity(), generateIdentity()];
    const token = await createAccessToken(a, { audience });
    const [h, p, s] = token.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    claims.iss = b.publicKey;
    const forged = [h, Buffer.from(JSON.stringify(claims)).toString("base64url"), s].join(".");
    await assert.rejects(verifyAccessToken(forged, { audience }), (e: unknown) => e instanceof ProtocolError && e.code === "token-invalid");
  });
  it("refuses garbage without echoing it", async () => {
    await assert.rejects(verifyAccessToken("secret-garbage", { audience }), (e: unknown) => {
      assert.ok(e instanceof ProtocolError && e.code === "token-invalid");
      assert.ok(!e.message.includes("secret-garbage"));
      return true;
    });
  });
});
