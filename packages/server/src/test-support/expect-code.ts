import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";

/** Awaits a call that must fail with `code` (and a message matching `pattern`); returns the error. */
export async function expectCode(promise: Promise<unknown>, code: Code, pattern?: RegExp): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    const e = ConnectError.from(err);
    assert.equal(e.code, code, `expected ${Code[code]}, got ${Code[e.code]}: ${e.rawMessage}`);
    if (pattern !== undefined) assert.match(e.rawMessage, pattern);
    return e;
  }
  assert.fail(`expected ${Code[code]}, but the call succeeded`);
}

/** Polls `check` every 20 ms until it returns true, failing after `timeoutMs` (default 10 s). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
