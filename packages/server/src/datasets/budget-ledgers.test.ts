import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeEpsilon } from "@sanctum/privacy";
import { openDatabase } from "../storage/database.js";
import { ServerError } from "../server-error.js";
import { createBudgetLedgers, type PlannedCharge } from "./budget-ledgers.js";
import type { DatasetRecord } from "./dataset-record.js";

const now = new Date("2026-01-01T00:00:00Z");

function dataset(id: string, epsilonLimit: number): DatasetRecord {
  return { id, owner: "o", name: id, rows: 1000, arrays: [], sizeBytes: 1, epsilonLimit, delta: 1e-5, accountant: "rdp", policy: { trainers: [], weightsRelease: "owner" }, createdAt: now.toISOString() };
}

function setup(...records: DatasetRecord[]) {
  const db = openDatabase({ path: ":memory:" });
  const insert = db.prepare(`INSERT INTO datasets (id, owner, name, rows, arrays_json, size_bytes, epsilon_limit, delta, accountant, trainers_json, weights_release, created_at)
    VALUES (?, 'o', ?, 1000, '[]', 1, ?, 1e-5, 'rdp', '[]', 'owner', ?)`);
  for (const d of records) insert.run(d.id, d.name, d.epsilonLimit, d.createdAt);
  return { db, ledgers: createBudgetLedgers(db), map: new Map(records.map((d) => [d.id, d])) };
}

const mechanism = { noiseMultiplier: 1.2, sampleRate: 0.05, steps: 200 };
const charge = (datasetId: string, kind: PlannedCharge["kind"] = "training"): PlannedCharge => ({ datasetId, kind, ...mechanism });

describe("persistent budget ledgers", () => {
  it("spent is the composition of the entries, never their sum", () => {
    const a = dataset("ds_a", 100);
    const { ledgers, map } = setup(a);
    ledgers.reserve("run_1", "c", [charge(a.id)], map, now);
    ledgers.reserve("run_2", "c", [charge(a.id)], map, now);
    const single = computeEpsilon({ history: [mechanism], delta: 1e-5 }).epsilon;
    const composed = computeEpsilon({ history: [mechanism, mechanism], delta: 1e-5 }).epsilon;
    assert.ok(Math.abs(ledgers.spent(a) - composed) < 1e-12);
    assert.ok(ledgers.spent(a) < 2 * single);
  });

  it("reserves on every dataset or none, and refuses saying budget, spent and limit", () => {
    const roomy = dataset("ds_roomy", 100);
    const tight = dataset("ds_tight", computeEpsilon({ history: [mechanism], delta: 1e-5 }).epsilon * 1.01);
    const { db, ledgers, map } = setup(roomy, tight);
    let inserted = false;
    ledgers.reserve("run_1", "c", [charge(roomy.id), charge(tight.id)], map, now, () => (inserted = true));
    assert.equal(inserted, true);
    assert.throws(
      () => ledgers.reserve("run_2", "c", [charge(roomy.id), charge(tight.id)], map, now, () => db.prepare("INSERT INTO training_runs VALUES ('run_2', 'c', 'running', '{}', 'x')").run()),
      (err: unknown) => err instanceof ServerError && err.code === "resource-exhausted" && /budget of dataset ds_tight .*spent epsilon [\d.]+ of its limit [\d.]+/.test(err.message),
    );
    // Nothing of the refused run remains: no entry on the roomy dataset, no run row.
    assert.equal(ledgers.entries(roomy.id).length, 1);
    assert.equal((db.prepare("SELECT COUNT(*) AS n FROM training_runs").get() as { n: number }).n, 0);
  });

  it("settles with the steps run, never above the reservation; a reservation counts in full until then", () => {
    const a = dataset("ds_a", 100);
    const { ledgers, map } = setup(a);
    ledgers.reserve("run_1", "c", [charge(a.id), { ...charge(a.id, "metrics"), steps: 10 }], map, now);
    const full = ledgers.spent(a);
    ledgers.settle("run_1", { training: 50, metrics: 99 }, now);
    const [training, metrics] = ledgers.entries(a.id).sort((x, y) => x.kind.localeCompare(y.kind)).reverse();
    assert.equal(training!.stepsSettled, 50);
    assert.equal(metrics!.stepsSettled, 10);
    assert.ok(ledgers.spent(a) < full);
    // Settling again changes nothing: only reserved entries settle.
    ledgers.settle("run_1", { training: 200, metrics: 10 }, now);
    assert.equal(ledgers.entries(a.id).find((e) => e.kind === "training")!.stepsSettled, 50);
  });
});
