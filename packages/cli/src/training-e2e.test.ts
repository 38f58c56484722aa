// Issue 6 end to end on a real loopback server (simulation) through the real SDK: datasets
// with budgets and policies, remote DP training, ledgers, weights release, deployment and
// confidential queries, the signed per-dataset audit chain, and sealed storage.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTensor, decodeNpz, type TypedTensor } from "@sanctum/client";
import { generateIdentity } from "@sanctum/protocol";
import type { SanctumServer } from "@sanctum/server";
import { clientErrorCode as code, startLoopbackServer, type LoopbackServer } from "./test-support/loopback-server.js";

const ROOT = new URL("../../../fixtures/", import.meta.url);
const CSV = new URL("datasets/breast_cancer.csv", ROOT).pathname;
const MODEL = new Uint8Array(readFileSync(new URL("training/breast_cancer_mlp.onnx", ROOT)));
const train = decodeNpz(new Uint8Array(readFileSync(new URL("datasets/breast_cancer.train.npz", ROOT))));
const test = decodeNpz(new Uint8Array(readFileSync(new URL("datasets/breast_cancer.test.npz", ROOT))));

const hospitalA = generateIdentity();
const hospitalB = generateIdentity();
const scientist = generateIdentity();
const stranger = generateIdentity();
const user = generateIdentity();

/** Rows [from, to) of a float32 [N, F] or int64 [N] tensor. */
function rows(t: TypedTensor, from: number, to: number): TypedTensor {
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1);
  if (t.dtype === "float32") return createTensor("float32", t.data.slice(from * width, to * width), [to - from, ...t.shape.slice(1)]);
  if (t.dtype === "int64") return createTensor("int64", t.data.slice(from * width, to * width), [to - from, ...t.shape.slice(1)]);
  throw new Error(`unexpected dtype ${t.dtype}`);
}

function accuracy(logits: TypedTensor, labels: TypedTensor): number {
  const l = logits.data as Float32Array;
  const y = labels.data as BigInt64Array;
  let correct = 0;
  for (let i = 0; i < y.length; i++) if ((l[2 * i + 1]! > l[2 * i]! ? 1n : 0n) === y[i]) correct++;
  return correct / y.length;
}

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

describe("confidential DP training as a service", () => {
  let env: LoopbackServer | undefined;
  let server: SanctumServer;
  let dir: string;
  const as = (who: typeof hospitalA) => env!.as(who);
  let csvId = "";
  let partA = "";
  let partB = "";

  before(async () => {
    env = await startLoopbackServer({ dirPrefix: "sanctum-training-e2e-", identities: [hospitalA, hospitalB, scientist, stranger, user] });
    server = env.server;
    dir = env.dataDir;
  });

  after(() => env?.close());

  it("uploads a CSV table and two .npz halves, validated and described by metadata only", async () => {
    const info = await as(hospitalA).datasets.upload(CSV, { name: "breast-cancer", label: "target", epsilon: 3, trainers: [scientist.publicKey], weightsRelease: "nobody" });
    csvId = info.id;
    assert.match(info.id, /^ds_[0-9a-f]{32}$/);
    assert.equal(info.rows, 569);
    assert.deepEqual(info.arrays, [
      { name: "labels", dtype: "int64", shape: [569] },
      { name: "x", dtype: "float32", shape: [569, 30] },
    ]);
    assert.equal(info.delta, Math.min(1e-5, 1 / 5690));
    assert.equal(info.epsilonSpent, 0);
    const a = await as(hospitalA).datasets.upload({ x: rows(train["x"]!, 0, 228), labels: rows(train["labels"]!, 0, 228) }, { name: "bc-a", epsilon: 2, trainers: [scientist.publicKey], weightsRelease: "trainers" });
    const b = await as(hospitalB).datasets.upload({ x: rows(train["x"]!, 228, 455), labels: rows(train["labels"]!, 228, 455) }, { name: "bc-b", epsilon: 2, trainers: [scientist.publicKey], weightsRelease: "trainers" });
    partA = a.id;
    partB = b.id;
    const listed = await as(scientist).datasets.list();
    assert.deepEqual(listed.map((d) => d.id).sort(), [csvId, partA, partB].sort());
    // Trainers see metadata but not the trainer list; values never appear anywhere.
    assert.deepEqual(listed.find((d) => d.id === csvId)!.policy.trainers, []);
  });

  it("refuses a bad dataset with the array and record named", async () => {
    const x = rows(train["x"]!, 0, 10);
    (x.data as Float32Array)[35] = Number.NaN;
    await assert.rejects(as(hospitalA).datasets.upload({ x, labels: rows(train["labels"]!, 0, 10) }, { name: "bad", epsilon: 1 }), code("invalid-file", /'x' holds NaN in record 1/));
  });

  it("refuses a stranger everywhere, and logs the attempt", async () => {
    await assert.rejects(as(stranger).datasets.get(csvId), code("permission-denied", /--trainers/));
    await assert.rejects(as(stranger).datasets.budget(csvId), code("permission-denied"));
    await assert.rejects(as(stranger).datasets.delete(csvId), code("permission-denied"));
    await assert.rejects(
      as(stranger).training.start({ model: MODEL, datasets: [csvId], loss: "cross_entropy", epochs: 1, epsilon: 0.5, batchSize: 64 }),
      code("permission-denied"),
    );
    await assert.rejects(as(scientist).datasets.budget(csvId), code("permission-denied", /only the owner/));
    assert.deepEqual(await as(stranger).datasets.list(), []);
  });

  it("trains on two owners' datasets at epsilon 1, charges both ledgers, deploys, and a user queries the model", async () => {
    const events: string[] = [];
    const learner = as(scientist).remoteLearner({ model: MODEL, datasets: [partA, partB], loss: "cross_entropy", optimizer: { kind: "adam", learningRate: 0.05 }, batchSize: 128, maxBatchSize: 128 });
    const started = Date.now();
    const run = await learner.fit({ epochs: 10, epsilon: 1, onProgress: (e) => events.push(e.kind) });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(run.status, "succeeded");
    assert.ok(run.privacy.epsilon <= 1 && run.privacy.epsilon > 0.95, `epsilon ${run.privacy.epsilon}`);
    assert.equal(run.privacy.delta, Math.min(1e-5, 1 / 2270));
    assert.equal(run.stepsDone, run.privacy.steps);
    assert.equal(run.metrics.length, 10);
    assert.ok(events.includes("progress") && events.includes("epoch") && events.at(-1) === "run");
    assert.equal(run.weightsAvailable, true);
    for (const [owner, id] of [[hospitalA, partA], [hospitalB, partB]] as const) {
      const budget = await as(owner).datasets.budget(id);
      assert.deepEqual(budget.entries.map((e) => [e.runId, e.kind, e.status]).sort(), [[run.id, "metrics", "settled"], [run.id, "training", "settled"]]);
      assert.ok(budget.epsilonSpent <= 1 + 1e-9 && budget.epsilonSpent > 0.9, `spent ${budget.epsilonSpent}`);
    }
    const weights = await learner.getModel();
    assert.ok(weights.byteLength > 1000);
    const model = await learner.deploy("bc-dp", { access: { allow: [user.publicKey] } });
    assert.equal(model.source, "training");
    assert.equal(model.owner, scientist.publicKey);
    const out = await as(user).models.predict(model.id, { x: test["x"]! });
    const acc = accuracy(out.outputs["logits"]!, test["labels"]!);
    process.stdout.write(`# breast cancer, epsilon ${run.privacy.epsilon.toFixed(3)}, sigma ${run.privacy.noiseMultiplier.toFixed(3)}, ${run.stepsDone} steps: test accuracy ${acc.toFixed(3)} in ${seconds.toFixed(2)} s\n`);
    // Measured over 8 runs: 0.947 to 0.991 (PyTorch DP-SGD at sigma 1: 0.965); the noise is random.
    assert.ok(acc >= 0.9, `test accuracy ${acc}`);
    await assert.rejects(as(stranger).models.predict(model.id, { x: test["x"]! }), code("permission-denied"));
  });

  it("refuses the weights when a dataset's policy says nobody, but deploys", async () => {
    const run = await as(scientist).training.start({ model: MODEL, datasets: [csvId], loss: "cross_entropy", epochs: 1, epsilon: 0.5, batchSize: 64, deploy: { name: "bc-csv" } });
    const done = await as(scientist).training.watch(run.id);
    assert.equal(done.status, "succeeded");
    assert.equal(done.weightsAvailable, false);
    assert.ok(done.modelId !== undefined);
    await assert.rejects(as(scientist).training.downloadWeights(run.id), code("permission-denied", /may not leave the TEE.*nobody/));
    await assert.rejects(as(stranger).training.get(run.id), code("not-found"));
  });

  it("refuses a run meant to release its weights before any budget is spent, when a dataset keeps them inside", async () => {
    const before = (await as(hospitalA).datasets.budget(csvId)).epsilonSpent;
    const learner = as(scientist).remoteLearner({ model: MODEL, datasets: [csvId], loss: "cross_entropy", batchSize: 64, releaseWeights: true });
    await assert.rejects(learner.fit({ epochs: 1, epsilon: 0.3 }), code("permission-denied", /trained weights may not leave the TEE: dataset .* releases weights to nobody/));
    assert.equal((await as(hospitalA).datasets.budget(csvId)).epsilonSpent, before, "nothing was reserved or spent");
    const audit = await as(hospitalA).audit.dataset(csvId);
    assert.ok(audit.entries.some((e) => e.action === "train" && e.outcome === "permission_denied" && e.caller === scientist.publicKey && JSON.parse(e.details).releaseWeights === true), "the refusal is in the owner's audit chain");
  });

  it("refuses a run that would exceed a budget, saying budget, spent and limit", async () => {
    const small = await as(hospitalA).datasets.upload({ x: rows(train["x"]!, 0, 200), labels: rows(train["labels"]!, 0, 200) }, { name: "bc-small", epsilon: 1, trainers: [scientist.publicKey] });
    const first = await as(scientist).training.start({ model: MODEL, datasets: [small.id], loss: "cross_entropy", epochs: 2, epsilon: 0.8, batchSize: 50 });
    assert.equal((await as(scientist).training.watch(first.id)).status, "succeeded");
    await assert.rejects(
      as(scientist).training.start({ model: MODEL, datasets: [small.id], loss: "cross_entropy", epochs: 2, epsilon: 0.8, batchSize: 50 }),
      code("resource-exhausted", /budget.*spent epsilon 0\.\d+ of its limit 1\b/),
    );
    const budget = await as(hospitalA).datasets.budget(small.id);
    assert.equal(budget.entries.filter((e) => e.kind === "training").length, 1);
    assert.ok(budget.epsilonSpent <= 0.8 + 1e-9);
  });

  it("reports metrics on an eval dataset charged to its own ledger only; cancellation settles what ran", async () => {
    const trainSet = await as(hospitalB).datasets.upload({ x: rows(train["x"]!, 0, 300), labels: rows(train["labels"]!, 0, 300) }, { name: "bc-train", epsilon: 5, trainers: [scientist.publicKey] });
    const evalSet = await as(hospitalB).datasets.upload({ x: test["x"]!, labels: test["labels"]! }, { name: "bc-eval", epsilon: 5, trainers: [scientist.publicKey] });
    const run = await as(scientist).training.start({ model: MODEL, datasets: [trainSet.id], evalDataset: evalSet.id, loss: "cross_entropy", epochs: 2, epsilon: 1, batchSize: 64 });
    const done = await as(scientist).training.watch(run.id);
    assert.equal(done.status, "succeeded");
    assert.deepEqual(done.metrics.map((m) => m.source), ["eval", "eval"]);
    const kinds = async (id: string) => (await as(hospitalB).datasets.budget(id)).entries.filter((e) => e.runId === run.id).map((e) => e.kind);
    assert.deepEqual(await kinds(trainSet.id), ["training"]);
    assert.deepEqual(await kinds(evalSet.id), ["metrics"]);

    // Batch 2: 150 steps an epoch, long enough to cancel in the middle.
    const long = await as(scientist).training.start({ model: MODEL, datasets: [trainSet.id], loss: "cross_entropy", epochs: 40, epsilon: 1, batchSize: 2 });
    let cancelled = false;
    const final = await as(scientist).training.watch(long.id, (e) => {
      if (e.kind === "progress" && e.step > 20 && !cancelled) {
        cancelled = true;
        void as(scientist).training.cancel(long.id);
      }
    });
    assert.equal(final.status, "cancelled");
    assert.ok(final.stepsDone > 20 && final.stepsDone < final.stepsPlanned);
    const entry = (await as(hospitalB).datasets.budget(trainSet.id)).entries.find((e) => e.runId === long.id && e.kind === "training")!;
    assert.equal(entry.status, "settled");
    assert.equal(entry.stepsSettled, final.stepsDone);
    assert.equal(final.weightsAvailable, false);
  });

  it("trains a two-input int64 transformer, a regressor and a binary classifier, and refuses BatchNorm before spending budget", async () => {
    for (const [name, loss] of [["transformer", "cross_entropy"], ["regressor", "mse"], ["binary", "bce_with_logits"], ["batchnorm", "cross_entropy"]] as const) {
      const data = decodeNpz(new Uint8Array(readFileSync(new URL(`training/${name}.batch.npz`, ROOT))));
      const ds = await as(hospitalB).datasets.upload(data, { name: `fx-${name}`, epsilon: 100, delta: 0.01, trainers: [scientist.publicKey] });
      const model = new Uint8Array(readFileSync(new URL(`training/${name}.onnx`, ROOT)));
      const start = as(scientist).training.start({ model, datasets: [ds.id], loss, epochs: 2, epsilon: 50, batchSize: 4 });
      if (name === "batchnorm") {
        await assert.rejects(start, code("invalid-argument", /GroupNorm or LayerNorm/));
        assert.deepEqual((await as(hospitalB).datasets.budget(ds.id)).entries, []);
        continue;
      }
      const done = await as(scientist).training.watch((await start).id);
      assert.equal(done.status, "succeeded", `${name}: ${done.error}`);
      assert.equal(done.metrics.length, 2);
      assert.equal(done.metrics[0]!.accuracy === undefined, loss === "mse");
    }
  });

  it("the owner's audit log verifies, records every access, and a tampered entry is detected", async () => {
    const log = await as(hospitalA).audit.dataset(csvId);
    assert.equal(log.verified, true, log.problem);
    const actions = log.entries.map((e) => `${e.action}:${e.outcome}`);
    for (const expected of ["upload:ok", "describe:permission_denied", "budget:permission_denied", "delete:permission_denied", "train:permission_denied", "train:ok", "train-end:ok", "weights-download:permission_denied", "deploy:ok", "audit:ok"]) {
      assert.ok(actions.includes(expected), `missing ${expected} in ${actions.join(", ")}`);
    }
    assert.ok(log.entries.some((e) => e.caller === stranger.publicKey));
    await assert.rejects(as(scientist).audit.dataset(csvId), code("permission-denied"));
    // The operator edits the database: the stranger's refusal becomes a success.
    server.internals.db.prepare("UPDATE dataset_audit SET outcome = 'ok' WHERE dataset_id = ? AND caller = ? AND action = 'describe'").run(csvId, stranger.publicKey);
    const tampered = await as(hospitalA).audit.dataset(csvId);
    assert.equal(tampered.verified, false);
    const altered = log.entries.find((e) => e.caller === stranger.publicKey && e.action === "describe")!;
    assert.equal(tampered.brokenSeq, altered.seq);
  });

  it("deletes a dataset's records but keeps its ledger and audit log for the owner", async () => {
    await as(hospitalA).datasets.delete(partA);
    await assert.rejects(as(scientist).datasets.get(partA), code("not-found"));
    await assert.rejects(
      as(scientist).training.start({ model: MODEL, datasets: [partA], loss: "cross_entropy", epochs: 1, epsilon: 0.5, batchSize: 64 }),
      code("not-found"),
    );
    assert.ok((await as(hospitalA).datasets.budget(partA)).entries.length >= 2);
    assert.equal((await as(hospitalA).audit.dataset(partA)).verified, true);
    // A run trained on it is no longer deployed anew.
    const trainedOnIt = (await as(scientist).training.list()).find((r) => r.datasets.includes(partA) && r.status === "succeeded");
    assert.ok(trainedOnIt !== undefined);
    await assert.rejects(as(scientist).training.deploy(trainedOnIt.id, "after-delete"), code("failed-precondition", /which its owner deleted/));
  });

  it("never writes dataset bytes in clear to the data dir", () => {
    // The first record of the CSV as text and as the float32 bytes the server holds.
    const text = Buffer.from("17.99,10.38,122.8,1001.0");
    const first = Buffer.from(Float32Array.of(17.99, 10.38, 122.8, 1001).buffer);
    const npzRow = Buffer.from((train["x"]!.data as Float32Array).slice(0, 8).buffer);
    for (const file of allFiles(dir)) {
      const bytes = readFileSync(file);
      for (const needle of [text, first, npzRow]) assert.equal(bytes.indexOf(needle), -1, `${file} holds dataset bytes in clear`);
    }
  });
});
