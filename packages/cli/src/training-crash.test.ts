// Issue 6 through the CLI contract and across a crash: a server process runs the `sanctum`
// binary; datasets, training, budgets and audit go through `sanctum ... --json`; then the
// server is killed with SIGKILL in the middle of a run and restarted on the same data dir.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ClientError, connect } from "@sanctum/client";
import { encodeIdentityFile, generateIdentity, type Identity } from "@sanctum/protocol";

const BIN = fileURLToPath(new URL("../bin/sanctum.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
const CSV = join(FIXTURES, "datasets/breast_cancer.csv");
const MODEL = join(FIXTURES, "training/breast_cancer_mlp.onnx");

const hospital = generateIdentity();
const scientist = generateIdentity();

/** Starts `sanctum server` on a free port; resolves with its URL once it listens. */
async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, "server", "--platform", "simulation", "--port", "0", "--data-dir", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`server exited early with ${code}: ${stderr}`)));
  });
  return { child, url };
}

describe("the CLI contract, and a kill -9 during training", () => {
  let dir: string;
  let server: { child: ChildProcess; url: string };
  const identityFile = (who: Identity) => join(dir, `${who === hospital ? "hospital" : "scientist"}.key`);

  function sanctum(who: Identity, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args, "--server", server.url, "--identity", identityFile(who), "--allow-simulation", "--json"],
        { env: { ...process.env, SANCTUM_SERVER: "", SANCTUM_POLICY: "" } },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }),
      );
    });
  }
  async function ok(who: Identity, args: string[]): Promise<Record<string, unknown>> {
    const r = await sanctum(who, args);
    assert.equal(r.code, 0, `sanctum ${args.join(" ")}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sanctum-training-cli-"));
    for (const who of [hospital, scientist]) writeFileSync(identityFile(who), encodeIdentityFile(who), { mode: 0o600 });
    server = await startServer(join(dir, "data"));
  });

  after(() => {
    server?.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  let datasetId = "";

  it("dataset upload, list, budget; train with --deploy; audit: each as the contract's JSON", async () => {
    const uploaded = await ok(hospital, ["dataset", "upload", CSV, "--name", "bc", "--label", "target", "--epsilon", "4", "--trainers", scientist.publicKey, "--weights-release", "nobody"]);
    datasetId = uploaded["id"] as string;
    assert.match(datasetId, /^ds_/);
    assert.equal(uploaded["rows"], 569);
    const listed = await ok(scientist, ["dataset", "list"]);
    assert.deepEqual((listed["datasets"] as { id: string }[]).map((d) => d.id), [datasetId]);
    const trained = await ok(scientist, ["train", "--model", MODEL, "--dataset", datasetId, "--loss", "cross_entropy", "--epochs", "2", "--epsilon", "0.5", "--batch-size", "64", "--optimizer", "adam", "--lr", "0.05", "--deploy", "bc-cli"]);
    for (const key of ["epsilon", "delta", "noiseMultiplier", "steps", "modelId"]) assert.ok(key in trained, `missing ${key}`);
    assert.ok((trained["epsilon"] as number) <= 0.5);
    assert.equal(trained["delta"], 1 / 5690 < 1e-5 ? 1 / 5690 : 1e-5);
    const budget = await ok(hospital, ["dataset", "budget", datasetId]);
    assert.ok((budget["epsilonSpent"] as number) > 0 && (budget["epsilonSpent"] as number) <= 0.5);
    assert.equal(budget["epsilonLimit"], 4);
    const audit = await ok(hospital, ["audit", "--dataset", datasetId]);
    assert.equal(audit["verified"], true);
    // Weights of a "nobody" dataset: refused with one error line, before any budget is spent.
    const spent = (await ok(hospital, ["dataset", "budget", datasetId]))["epsilonSpent"];
    const refused = await sanctum(scientist, ["train", "--model", MODEL, "--dataset", datasetId, "--loss", "cross_entropy", "--epochs", "1", "--epsilon", "0.3", "--batch-size", "64", "--out", join(dir, "w.onnx")]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: .*may not leave the TEE/m);
    assert.equal(refused.stderr.trim().split("\n").filter((l) => l.startsWith("error:")).length, 1);
    assert.equal((await ok(hospital, ["dataset", "budget", datasetId]))["epsilonSpent"], spent);
    const stranger = await sanctum(scientist, ["dataset", "budget", datasetId]);
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /^error: .*only the owner/m);
  });

  it("after kill -9 mid-run: the run is failed, its reservation kept, no model served, the data intact", async () => {
    const client = await connect(server.url, { identity: scientist, allowSimulation: true });
    let runId = "";
    let planned = 0;
    try {
      // Batch 2 of 569 rows: 285 steps an epoch, long enough to be cut in the middle.
      const run = await client.training.start({ model: MODEL, datasets: [datasetId], loss: "cross_entropy", epochs: 50, epsilon: 1, batchSize: 2, deploy: { name: "never-served" } });
      runId = run.id;
      planned = run.stepsPlanned;
      await new Promise<void>((resolve, reject) => {
        client.training.watch(runId, (e) => {
          if (e.kind === "progress" && e.step > 50) resolve();
        }).then(() => reject(new Error("the run ended before it could be killed")), reject);
      });
    } finally {
      client.close();
    }
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    server.child.kill("SIGKILL");
    await exited;
    server = await startServer(join(dir, "data"));
    const again = await connect(server.url, { identity: scientist, allowSimulation: true });
    const owner = await connect(server.url, { identity: hospital, allowSimulation: true });
    try {
      const run = await again.training.get(runId);
      assert.equal(run.status, "failed");
      assert.match(run.error ?? "", /server stopped during the run/);
      assert.equal(run.modelId, undefined);
      assert.ok(!(await again.models.list()).some((m) => m.name === "never-served"));
      await assert.rejects(again.training.deploy(runId, "late"), (err: unknown) => err instanceof ClientError && err.code === "failed-precondition");
      const entries = (await owner.datasets.budget(datasetId)).entries.filter((e) => e.runId === runId);
      assert.ok(entries.length === 2 && entries.every((e) => e.status === "reserved"));
      assert.equal(entries.find((e) => e.kind === "training")!.stepsReserved, planned);
      // The data is intact: it trains again.
      const next = await again.training.start({ model: MODEL, datasets: [datasetId], loss: "cross_entropy", epochs: 1, epsilon: 0.3, batchSize: 64 });
      assert.equal((await again.training.watch(next.id)).status, "succeeded");
      const log = await owner.audit.dataset(datasetId);
      assert.equal(log.verified, true);
      assert.ok(log.entries.some((e) => e.action === "train-end" && e.outcome === "aborted"));
    } finally {
      again.close();
      owner.close();
    }
    // No weights blob of the cut run remains, and no record in clear anywhere.
    const files = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? files(join(d, n)) : [join(d, n)]));
    for (const file of files(join(dir, "data"))) {
      assert.ok(!file.includes(`weights-${runId}`), `${file} is a partial model`);
      assert.equal(readFileSync(file).indexOf("17.99,10.38,122.8"), -1);
      assert.equal(readFileSync(file).indexOf(Buffer.from(Float32Array.of(17.99, 10.38, 122.8).buffer)), -1);
    }
  });
});
