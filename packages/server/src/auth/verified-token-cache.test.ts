import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createVerifiedTokenCache, tokenExpiryMs } from "./verified-token-cache.js";

describe("verified token cache", () => {
  it("returns the caller until the expiry, then forgets", () => {
    const cache = createVerifiedTokenCache();
    cache.set("t", "ed25519:a", 1000);
    assert.equal(cache.get("t", 999), "ed25519:a");
    assert.equal(cache.get("t", 1000), undefined);
    assert.equal(cache.get("t", 10), undefined, "an expired entry is gone for good");
    assert.equal(cache.get("other", 0), undefined);
  });

  it("stays bounded, dropping the oldest", () => {
    const cache = createVerifiedTokenCache(2);
    cache.set("a", "A", 1e15);
    cache.set("b", "B", 1e15);
    cache.set("c", "C", 1e15);
    assert.equal(cache.get("a", 0), undefined);
    assert.equal(cache.get("c", 0), "C");
  });

  it("reads exp from a compact JWT", () => {
    const payload = Buffer.from(JSON.stringify({ exp: 1700000000 })).toString("base64url");
    assert.equal(tokenExpiryMs(`h.${payload}.s`), 1700000000000);
    assert.equal(tokenExpiryMs("garbage"), undefined);
  });
});
