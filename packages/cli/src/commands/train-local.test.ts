import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeNpz, encodeNpz } from "@sanctum/trainer";
import * as ort from "onnxruntime-node";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const bin = join(root, "packages/cli/bin/sanctum.js");
const fixture = (p: string) => join(root, "fixtures", p);
const dir = mkdtempSync(join(tmpdir(), "sanctum-train-local-"));

function sanctum(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, stdout, stderr });
    });
  });
}

const base = (out: string) => [
  "train-local", "--model", fixture("training/digits_mlp.onnx"), "--data", fixture("datasets/digits.train.npz"),
  "--loss", "cross_entropy", "--epochs", "2", "--batch-size", "64", "--max-grad-norm", "1",
  "--optimizer", "sgd", "--lr", "0.5", "--momentum", "0.9", "--out", out,
];

test("train-local rejects bad flags with their allowed ranges (exit 2)", async () => {
  const out = join(dir, "never.onnx");
  const cases: [string[], RegExp][] = [
    [[...base(out), "--noise-multiplier", "1"].map((a) => (a === "2" ? "0" : a)), /^error: --epochs must be an integer in \[1, 1000000\], got '0'$/m],
    [base(out), /^error: choose exactly one of --epsilon E --delta D, --noise-multiplier S, or --no-dp$/m],
    [[...base(out), "--epsilon", "3"], /^error: --epsilon needs --delta D, in \(0, 1\)$/m],
    [[...base(out), "--epsilon", "3", "--delta", "1.5"], /^error: --delta must be a number in \(0, 1\), got '1.5'$/m],
    [[...base(out), "--noise-multiplier", "-1"], /^error: --noise-multiplier must be a number in \[0, 1000000000000\], got '-1'$/m],
    [[...base(out), "--no-dp", "--delta", "1e-5"], /^error: --delta applies only with DP/m],
    [[...base(out), "--no-dp"].map((a) => (a === "1" ? "0" : a)), /^error: --max-grad-norm must be a number in \(0, inf\), got '0'$/m],
    [[...base(out), "--noise-multiplier", "1", "--lr", "0"], /^error: --lr must be a number in \(0, inf\), got '0'$/m],
  ];
  for (const [args, pattern] of cases) {
    const r = await sanctum(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(existsSync(out), false);
  }
});

test("train-local names the file and the array when the data does not fit the model", async () => {
  const train = decodeNpz(readFileSync(fixture("datasets/digits.train.npz")));
  const x = train.get("x")!;
  const labels = train.get("labels")!;
  const write = (name: string, arrays: Record<string, ReturnType<typeof decodeNpz> extends Map<string, infer V> ? V : never>) => {
    const path = join(dir, name);
    writeFileSync(path, encodeNpz(arrays));
    return path;
  };
  const noLabels = write("no-labels.npz", { x });
  const asInt = write("int-x.npz", { x: { dtype: "int32", shape: x.shape, data: Int32Array.from(x.data as Float32Array) }, labels });
  const badShape = write("bad-shape.npz", { x: { dtype: "float32", shape: [x.shape[0]!, 32], data: (x.data as Float32Array).subarray(0, x.shape[0]! * 32) }, labels });
  const big = BigInt64Array.from(labels.data as BigInt64Array);
  big[5] = 10n;
  const badLabel = write("bad-label.npz", { x, labels: { dtype: "int64", shape: labels.shape, data: big } });
  const cases: [string, RegExp][] = [
    [noLabels, /^error: --data .*no-labels\.npz has no 'labels' array \(it has: x\)/m],
    [asInt, /^error: --data .*int-x\.npz: array 'x' has dtype int32 but the model input needs float32/m],
    [badShape, /^error: --data .*bad-shape\.npz: array 'x' has shape \[\d+, 32\] but the model input needs \[batch, 64\]/m],
    [badLabel, /^error: --data .*bad-label\.npz: some labels are outside \[0, 9\] \(the model has 10 classes\)/m],
    [join(dir, "missing.npz"), /^error: --data: cannot read .*missing\.npz' \(no such file\)/m],
  ];
  for (const [data, pattern] of cases) {
    const args = base(join(dir, "never.onnx"));
    args[args.indexOf("--data") + 1] = data;
    const r = await sanctum([...args, "--noise-multiplier", "1"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
  }
});

test("train-local trains digits with DP end to end and writes a loadable model (--json)", async () => {
  const out = join(dir, "digits-dp.onnx");
  const r = await sanctum([...base(out), "--test", fixture("datasets/digits.test.npz"), "--epsilon", "8", "--delta", "1e-5", "--json", "--seed", "1"]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as Record<string, unknown> & { epochs: Record<string, number>[] };
  assert.equal(json.epochs.length, 2);
  for (const key of ["epoch", "loss", "accuracy", "testLoss", "testAccuracy", "seconds"]) assert.equal(typeof json.epochs[0]![key], "number", key);
  assert.equal(json["dp"], true);
  assert.ok((json["epsilon"] as number) <= 8 && (json["epsilon"] as number) > 7, `epsilon ${json["epsilon"]}`);
  assert.equal(json["delta"], 1e-5);
  assert.equal(json["accountant"], "rdp");
  assert.equal(json["steps"], 2 * Math.round(1438 / 64));
  assert.ok(json.epochs[1]!["testAccuracy"]! > 0.5, `test accuracy ${json.epochs[1]!["testAccuracy"]}`);
  const session = await ort.InferenceSession.create(readFileSync(out));
  assert.deepEqual([...session.inputNames], ["x"]);
  assert.deepEqual([...session.outputNames], ["logits"]);
  await session.release();
});

test("train-local --no-dp (with --max-grad-norm, as the contract's usage line gives it) prints per-epoch lines without a progress bar when stderr is not a TTY", async () => {
  const out = join(dir, "digits-nodp.onnx");
  const r = await sanctum([...base(out), "--no-dp"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^epoch 1\/2 {2}loss \d+\.\d{4} {2}accuracy \d+\.\d%/m);
  assert.match(r.stdout, /without differential privacy/);
  assert.equal(r.stderr, "");
  assert.ok(existsSync(out));
});
