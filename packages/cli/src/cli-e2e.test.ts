// The `sanctum` CLI end to end: each command runs as `node packages/cli/bin/sanctum.js` in a
// child process, with a temporary HOME and identity, against a real server on loopback.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { decodeEvidenceBundle } from "@sanctum/attestation";
import { decodeNpz, encodeNpy, type TypedTensor } from "@sanctum/client";
import { createSanctumServer, type SanctumServer } from "@sanctum/server";

const BIN = fileURLToPath(new URL("../bin/sanctum.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../../../fixtures/inference/", import.meta.url));
const fx = (name: string) => join(FIXTURES, name);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function closeTo(actual: readonly (number | string | boolean)[], expected: TypedTensor): void {
  const e = Array.from(expected.data as ArrayLike<number>, Number);
  assert.equal(actual.length, e.length);
  actual.forEach((v, i) => assert.ok(Math.abs(Number(v) - e[i]!) / Math.max(1, Math.abs(e[i]!)) <= 1e-4, `element ${i}`));
}

describe("sanctum CLI end to end", () => {
  let server: SanctumServer;
  let home: string;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;

  /** Runs the CLI asynchronously (the server lives in this process and must keep serving). */
  function sanctum(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, cwd: home }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** A failure: non-zero exit, and exactly one stderr line, starting with `error:`, matching `message`. */
  function failed(run: Run, message: RegExp): void {
    assert.notEqual(run.code, 0, `expected a failure, got: ${run.stdout}`);
    const errors = run.stderr.split("\n").filter((l) => l.startsWith("error:"));
    assert.equal(errors.length, 1, run.stderr);
    assert.match(errors[0]!, message);
  }

  function json<T>(run: Run): T {
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as T;
  }

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "sanctum-cli-home-"));
    dataDir = mkdtempSync(join(tmpdir(), "sanctum-cli-data-"));
    server = await createSanctumServer({ platform: "simulation", port: 0, dataDir, logLevel: "silent" });
    env = { PATH: process.env["PATH"] ?? "", HOME: home, SANCTUM_SERVER: server.url, SANCTUM_ALLOW_SIMULATION: "1" };
  });

  after(async () => {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keygen writes a 0600 identity, prints its id, and refuses to overwrite it without --force", async () => {
    const { publicKey } = json<{ publicKey: string }>(await sanctum(["keygen", "--json"]));
    assert.match(publicKey, /^ed25519:[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(join(home, ".sanctum", "identity.key")).mode & 0o777, 0o600);
    failed(await sanctum(["keygen"]), /already exists.*--force/);
    const plain = await sanctum(["keygen", "--out", join(home, "other.key")]);
    assert.match(plain.stdout, /^ed25519:\S{43}\n$/);
    const forced = json<{ publicKey: string }>(await sanctum(["keygen", "--out", join(home, "other.key"), "--force", "--json"]));
    assert.notEqual(forced.publicKey, plain.stdout.trim());    // A key others may read is refused, as OpenSSH refuses such private keys.
    chmodSync(join(home, "other.key"), 0o644);
    failed(await sanctum(["model", "list", "--identity", join(home, "other.key")]), /may be read by other users \(mode 0644\).*chmod 600/);
    chmodSync(join(home, "other.key"), 0o600);
    assert.equal((await sanctum(["model", "list", "--identity", join(home, "other.key"), "--json"])).code, 0);
  });

  it("attest prints what runs there, saves the evidence, and refuses simulation unless allowed", async () => {
    const save = join(home, "evidence.json");
    const a = json<{ trusted: boolean; platform: string; measurement: string; serverVersion: string; keyFingerprint: string }>(
      await sanctum(["attest", "--save", save, "--json"]),
    );
    assert.equal(a.trusted, true);
    assert.equal(a.platform, "simulation");
    assert.match(a.measurement, /^[0-9a-f]{96}$/);
    assert.match(a.keyFingerprint, /^sha256:[0-9a-f]{64}$/);
    const bundle = decodeEvidenceBundle(readFileSync(save, "utf8"));
    assert.deepEqual(bundle.binding?.spki, server.spki);
    const human = await sanctum(["attest"]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /platform\s+simulation \(INSECURE/);
    assert.match(human.stderr, /warning: .*simulation platform/);
    const refused = await sanctum(["attest"], { SANCTUM_ALLOW_SIMULATION: "" });
    failed(refused, /^error: server at .* insecure simulation platform.*--allow-simulation/);
    assert.match(refused.stdout, /trusted\s+no\n/);
    const refusedJson = await sanctum(["attest", "--json"], { SANCTUM_ALLOW_SIMULATION: "" });
    assert.notEqual(refusedJson.code, 0);
    const r = JSON.parse(refusedJson.stdout) as { trusted: boolean; problems: { code: string }[] };
    assert.equal(r.trusted, false);
    assert.deepEqual(r.problems.map((p) => p.code), ["simulation-refused"]);
    failed(await sanctum(["attest", "--server", "https://127.0.0.1:1"]), /^error: cannot reach the Sanctum server/);
    // A policy file decides too: one that allows simulation, one that pins another measurement, one that is broken.
    const allow = join(home, "allow-sim.json");
    writeFileSync(allow, JSON.stringify({ allowSimulation: true }));
    assert.equal((await sanctum(["attest", "--policy", allow], { SANCTUM_ALLOW_SIMULATION: "" })).code, 0);
    const pinned = join(home, "pinned.json");
    writeFileSync(pinned, JSON.stringify({ allowSimulation: true, simulation: { measurements: ["ab".repeat(48)] } }));
    failed(await sanctum(["attest"], { SANCTUM_POLICY: pinned }), /^error: server at .* is not trusted: simulated measurement is not one the policy accepts/);
    const broken = join(home, "broken.json");
    writeFileSync(broken, "{ not json");
    failed(await sanctum(["attest", "--policy", broken]), /^error: verification policy is not JSON \(in '.*broken\.json'\)/);
  });

  it("uploads, lists, describes, predicts (npz, npy, json) with receipts, and deletes", async () => {
    const up = json<Record<string, unknown>>(await sanctum(["model", "upload", fx("mlp.onnx"), "--name", "mlp", "--json"]));
    assert.deepEqual(Object.keys(up).sort(), ["id", "inputs", "name", "outputs", "sha256"]);
    assert.deepEqual(up["inputs"], [{ name: "x", dtype: "float32", shape: ["batch", 16] }]);
    assert.deepEqual(up["outputs"], [{ name: "logits", dtype: "float32", shape: ["batch", 4] }]);
    const list = json<{ models: { id: string; name: string }[] }>(await sanctum(["model", "list", "--json"]));
    assert.deepEqual(list.models.map((m) => m.id), [up["id"]]);
    const info = json<{ id: string; sha256: string }>(await sanctum(["model", "info", "mlp", "--json"]));
    assert.equal(info.sha256, up["sha256"]);
    assert.match((await sanctum(["model", "list"])).stdout, /ID\s+NAME\s+SHA256/);

    const expected = decodeNpz(readFileSync(fx("mlp.outputs.npz")))["logits"]!;
    const out = join(home, "out.npz");
    const receipt = join(home, "receipt.json");
    const p = json<{ outputs: Record<string, { dtype: string; shape: number[]; data: number[] }> }>(
      await sanctum(["predict", "mlp", "--input", fx("mlp.inputs.npz"), "--output", out, "--receipt", receipt, "--json"]),
    );
    assert.deepEqual(Object.keys(p.outputs), ["logits"]);
    assert.equal(p.outputs["logits"]!.dtype, "float32");
    assert.deepEqual(p.outputs["logits"]!.shape, [3, 4]);
    closeTo(p.outputs["logits"]!.data, expected);
    closeTo(Array.from(decodeNpz(readFileSync(out))["logits"]!.data as Float32Array), expected);

    const npyPath = join(home, "x.npy");
    writeFileSync(npyPath, encodeNpy(decodeNpz(readFileSync(fx("mlp.inputs.npz")))["x"]!));
    closeTo(json<{ outputs: Record<string, { data: number[] }> }>(await sanctum(["predict", "mlp", "--input", npyPath, "--json"])).outputs["logits"]!.data, expected);
    closeTo(json<{ outputs: Record<string, { data: number[] }> }>(await sanctum(["predict", "mlp", "--input", fx("mlp.inputs.json"), "--json"])).outputs["logits"]!.data, expected);
    const human = await sanctum(["predict", "mlp", "--input", fx("mlp.inputs.json")]);
    assert.match(human.stdout, /^logits float32 \[3, 4\] \[\[/);

    const verified = await sanctum(["receipt", "verify", receipt, "--allow-simulation", "--input", fx("mlp.inputs.npz"), "--output", out]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /receipt\s+valid/);
    assert.match(verified.stdout, new RegExp(`model sha256\\s+${String(up["sha256"])}`));
    failed(await sanctum(["receipt", "verify", receipt], { SANCTUM_ALLOW_SIMULATION: "" }), /^error: receipt does not verify: .*simulation.*--allow-simulation/);
    failed(await sanctum(["receipt", "verify", receipt, "--allow-simulation", "--input", fx("two_outputs.inputs.npz")]), /^error: receipt does not verify: the given inputs/);
    const file = JSON.parse(readFileSync(receipt, "utf8")) as { receipt: { payload: string } };
    const payload = Buffer.from(file.receipt.payload, "base64").toString("utf8").replace(/"time":"[^"]*"/, '"time":"2000-01-01T00:00:00Z"');
    file.receipt.payload = Buffer.from(payload).toString("base64");
    const tampered = join(home, "tampered.json");
    writeFileSync(tampered, JSON.stringify(file));
    failed(await sanctum(["receipt", "verify", tampered, "--allow-simulation"]), /^error: receipt does not verify: receipt signature does not verify/);

    const del = json<{ id: string }>(await sanctum(["model", "delete", "mlp", "--json"]));
    assert.equal(del.id, up["id"]);
    failed(await sanctum(["model", "info", "mlp"]), /^error: get model 'mlp' failed: no model "mlp": list the models you may use with 'sanctum model list'$/);
  });

  it("predicts the text model from JSON int64 inputs and two outputs of different dtypes", async () => {
    json(await sanctum(["model", "upload", fx("text.onnx"), "--name", "text", "--json"]));
    const t = json<{ outputs: Record<string, { data: number[] }> }>(await sanctum(["predict", "text", "--input", fx("text.padded.inputs.json"), "--json"]));
    closeTo(t.outputs["logits"]!.data, decodeNpz(readFileSync(fx("text.padded.outputs.npz")))["logits"]!);
    json(await sanctum(["model", "upload", fx("two_outputs.onnx"), "--name", "two", "--json"]));
    const two = json<{ outputs: Record<string, { dtype: string; data: number[] }> }>(await sanctum(["predict", "two", "--input", fx("two_outputs.inputs.npz"), "--json"]));
    const expected = decodeNpz(readFileSync(fx("two_outputs.outputs.npz")));
    assert.equal(two.outputs["label"]!.dtype, "int64");
    assert.deepEqual(two.outputs["label"]!.data, Array.from(expected["label"]!.data as BigInt64Array, Number));
    closeTo(two.outputs["scores"]!.data, expected["scores"]!);
  });

  it("gives one clear error line for bad input, and the server stays healthy", async () => {
    json(await sanctum(["model", "upload", fx("mlp.onnx"), "--name", "mlp2", "--json"]));
    const junk = join(home, "junk.onnx");
    writeFileSync(junk, "not a model at all");
    failed(await sanctum(["model", "upload", junk]), /^error: upload model failed: not a valid ONNX model/);
    failed(await sanctum(["model", "upload", join(home, "missing.onnx")]), /^error: cannot read model file/);
    failed(await sanctum(["predict", "no-such-model", "--input", fx("mlp.inputs.npz")]), /^error: .*no-such-model.*sanctum model list/);
    failed(await sanctum(["predict", "mlp2", "--input", fx("two_outputs.inputs.npz")]), /^error: predict with model 'mlp2' failed: .*"x"/);
    failed(await sanctum(["predict", "mlp2", "--input", fx("text.inputs.npz")]), /^error: predict with model 'mlp2' failed: /);
    failed(await sanctum(["predict", "text", "--input", join(home, "x.npy")]), /^error: .*\.npy file.*takes 2 inputs/);
    failed(await sanctum(["predict", "mlp2", "--input", join(home, "nothing.csv")]), /^error: .*unknown tensor file extension/);
    failed(await sanctum(["predict", "mlp2"]), /^error: required option '--input <file>'/);
    failed(await sanctum(["model", "upload", fx("mlp.onnx"), "--allow", "bob"]), /^error: --allow: 'bob' is not a public key id/);
    failed(await sanctum(["model", "list", "--identity", junk]), /^error: .* is not a Sanctum identity file/);
    const ok = await sanctum(["predict", "mlp2", "--input", fx("mlp.inputs.npz"), "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it("refuses a stranger; --allow and --public open a model", async () => {
    const strangerKey = join(home, "stranger.key");
    const friendKey = join(home, "friend.key");
    json(await sanctum(["keygen", "--out", strangerKey, "--json"]));
    const friend = json<{ publicKey: string }>(await sanctum(["keygen", "--out", friendKey, "--json"]));
    json(await sanctum(["model", "upload", fx("mlp.onnx"), "--name", "private", "--json"]));
    failed(await sanctum(["predict", "private", "--input", fx("mlp.inputs.npz"), "--identity", strangerKey]), /^error: .*(permission|not allowed|owner).*--allow/i);
    const shared = json<{ id: string }>(await sanctum(["model", "upload", fx("mlp.onnx"), "--name", "shared", "--allow", friend.publicKey, "--json"]));
    assert.equal((await sanctum(["predict", shared.id, "--input", fx("mlp.inputs.npz"), "--identity", friendKey, "--json"])).code, 0);
    failed(await sanctum(["predict", shared.id, "--input", fx("mlp.inputs.npz"), "--identity", strangerKey]), /^error: /);
    const open = json<{ id: string }>(await sanctum(["model", "upload", fx("mlp.onnx"), "--name", "open", "--public", "--json"]));
    assert.equal((await sanctum(["predict", open.id, "--input", fx("mlp.inputs.npz"), "--identity", strangerKey, "--json"])).code, 0);
    // A fresh identity is created (mode 0600) on first use of a client command.
    const fresh = join(home, "fresh", "id.key");
    assert.equal((await sanctum(["predict", open.id, "--input", fx("mlp.inputs.npz"), "--identity", fresh, "--json"])).code, 0);
    assert.equal(statSync(fresh).mode & 0o777, 0o600);
  });
});
