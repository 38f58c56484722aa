import { test } from "node:test";
import assert from "node:assert/strict";
import { createBudgetLedger } from "./budget-ledger.js";
import type { LedgerEntry } from "./budget-ledger.js";
import { calibrateNoiseMultiplier } from "./calibrate-noise-multiplier.js";
import { computeEpsilon } from "./compute-epsilon.js";
import { PrivacyError } from "./privacy-error.js";

const run = { noiseMultiplier: 1.1, sampleRate: 0.01, steps: 5000 };
const limit = { epsilon: 8, delta: 1e-5 };
const hasCode = (code: string) => (err: unknown) => err instanceof PrivacyError && err.code === code;

test("an empty ledger has spent nothing and affords a run within its limit", () => {
  const ledger = createBudgetLedger(limit);
  assert.equal(ledger.spent(), 0);
  assert.equal(ledger.entries.length, 0);
  assert.ok(ledger.canAfford(run));
  assert.ok(!ledger.canAfford({ ...run, noiseMultiplier: 0.3 }));
});

test("spent is the composition of the entries, never the sum of their epsilons", () => {
  let ledger = createBudgetLedger({ epsilon: 100, delta: 1e-5 });
  ledger = ledger.reserve("a", run).reserve("b", run);
  const composed = computeEpsilon({ history: [{ ...run, steps: 10_000 }], delta: 1e-5 }).epsilon;
  const single = computeEpsilon({ history: [run], delta: 1e-5 }).epsilon;
  assert.equal(ledger.spent(), composed);
  assert.ok(ledger.spent() < 2 * single);
  assert.ok(ledger.spent("prv") < ledger.spent("rdp"));
});

test("reserve is immutable and refuses what the budget cannot afford, saying spent and limit", () => {
  const empty = createBudgetLedger(limit);
  const one = empty.reserve("job-1", run, "first run");
  assert.equal(empty.entries.length, 0);
  assert.deepEqual(one.entries[0], { id: "job-1", mechanism: run, state: "reserved", label: "first run" });
  const spentBefore = one.spent();
  assert.throws(
    () => one.reserve("job-2", { ...run, steps: 100_000 }),
    (err: unknown) =>
      err instanceof PrivacyError &&
      err.code === "budget-exceeded" &&
      err.message.includes("budget") &&
      err.message.includes(spentBefore.toFixed(4)) &&
      err.message.includes("limit of epsilon 8"),
  );
  assert.throws(() => one.reserve("job-1", { ...run, steps: 1 }), hasCode("duplicate-entry"));
});

test("settle keeps what may have run and never refunds below it", () => {
  const reserved = createBudgetLedger(limit).reserve("job", run);
  const settled = reserved.settle("job", 3200);
  assert.deepEqual(settled.entries[0], { id: "job", mechanism: { ...run, steps: 3200 }, state: "settled" });
  assert.ok(settled.spent() < reserved.spent());
  assert.equal(settled.spent(), computeEpsilon({ history: [{ ...run, steps: 3200 }], delta: limit.delta }).epsilon);
  // A run that stopped before its first step keeps a zero-step record.
  const none = reserved.settle("job", 0);
  assert.equal(none.entries.length, 1);
  assert.equal(none.spent(), 0);
  // Settling all the steps changes nothing in the spend.
  assert.equal(reserved.settle("job", run.steps).spent(), reserved.spent());
});

test("settle errors: more steps than reserved, twice, unknown id, bad count", () => {
  const reserved = createBudgetLedger(limit).reserve("job", run);
  assert.throws(() => reserved.settle("job", run.steps + 1), hasCode("invalid-settlement"));
  assert.throws(() => reserved.settle("job", 10).settle("job", 5), hasCode("invalid-settlement"));
  assert.throws(() => reserved.settle("other", 10), hasCode("unknown-entry"));
  assert.throws(() => reserved.settle("job", -1), hasCode("invalid-argument"));
  assert.throws(() => reserved.settle("job", 1.5), hasCode("invalid-argument"));
});

test("a reservation left open by a crash still counts in full after a round trip through JSON", () => {
  const ledger = createBudgetLedger(limit).reserve("done", run).settle("done", 4000).reserve("crashed", { ...run, steps: 2000 });
  const restored = createBudgetLedger(JSON.parse(JSON.stringify(ledger)).limit, JSON.parse(JSON.stringify(ledger)).entries as LedgerEntry[]);
  assert.deepEqual(restored.toJSON(), ledger.toJSON());
  assert.equal(restored.spent(), ledger.spent());
  assert.equal(restored.entries[1]!.state, "reserved");
  assert.equal(restored.spent(), computeEpsilon({ history: [{ ...run, steps: 6000 }], delta: limit.delta }).epsilon);
});

test("noised metrics are charged as sampleRate-1 mechanisms beside training runs", () => {
  const ledger = createBudgetLedger(limit, [], { accountant: "prv" })
    .reserve("train", run)
    .reserve("metrics", { noiseMultiplier: 20, sampleRate: 1, steps: 10 }, "validation accuracy");
  const trainOnly = createBudgetLedger(limit, [], { accountant: "prv" }).reserve("train", run);
  assert.ok(ledger.spent() > trainOnly.spent());
  assert.ok(ledger.spent() <= limit.epsilon);
});

test("calibrating against a ledger's history fills what the budget has left", () => {
  const ledger = createBudgetLedger(limit).reserve("earlier", { ...run, steps: 3000 });
  const next = calibrateNoiseMultiplier({
    targetEpsilon: limit.epsilon,
    delta: limit.delta,
    sampleRate: 0.02,
    steps: 2000,
    priorHistory: ledger.history,
  });
  const mechanism = { noiseMultiplier: next.noiseMultiplier, sampleRate: 0.02, steps: 2000 };
  assert.ok(ledger.canAfford(mechanism));
  const after = ledger.reserve("next", mechanism);
  assert.ok(after.spent() <= limit.epsilon && after.spent() >= limit.epsilon - 0.01, `${after.spent()}`);
});

test("invalid limits and entries are rejected with the parameter named", () => {
  const invalid = (f: () => unknown, text: string): void => {
    assert.throws(f, (err: unknown) => err instanceof PrivacyError && err.code === "invalid-argument" && err.message.includes(text));
  };
  invalid(() => createBudgetLedger({ epsilon: 0, delta: 1e-5 }), "limit.epsilon");
  invalid(() => createBudgetLedger({ epsilon: 1, delta: 2 }), "limit.delta");
  invalid(() => createBudgetLedger(limit, [{ id: "", mechanism: run, state: "reserved" }]), "entries[0].id");
  invalid(() => createBudgetLedger(limit, [{ id: "x", mechanism: { ...run, sampleRate: 2 }, state: "reserved" }]), "entries[0].mechanism.sampleRate");
  invalid(() => createBudgetLedger(limit, [{ id: "x", mechanism: run, state: "open" as "reserved" }]), "entries[0].state");
  invalid(() => createBudgetLedger(limit).reserve("x", { ...run, steps: -3 }), "mechanism.steps");
  assert.throws(
    () => createBudgetLedger(limit, [
      { id: "x", mechanism: run, state: "reserved" },
      { id: "x", mechanism: run, state: "settled" },
    ]),
    hasCode("duplicate-entry"),
  );
});
