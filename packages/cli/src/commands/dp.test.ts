import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/sanctum.js", import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "dp", ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

describe("sanctum dp", () => {
  it("epsilon --json prints the contract's object (Opacus's RDP reference value)", async () => {
    const { code, stdout } = await run(["epsilon", "--noise-multiplier", "1.5", "--sample-rate", "0.04", "--steps", "2250", "--delta", "1e-5", "--json"]);
    assert.equal(code, 0);
    const json = JSON.parse(stdout) as { epsilon: number; accountant: string; order: number };
    assert.deepEqual(Object.keys(json), ["epsilon", "accountant", "order"]);
    assert.ok(Math.abs(json.epsilon - 7.32911117143) < 5e-8);
    assert.equal(json.accountant, "rdp");
    assert.equal(json.order, 3.9);
  });

  it("epsilon --accountant prv has no order", async () => {
    const { code, stdout } = await run(["epsilon", "--noise-multiplier", "1.5", "--sample-rate", "0.04", "--steps", "2249", "--delta", "1e-5", "--accountant", "prv", "--json"]);
    assert.equal(code, 0);
    const json = JSON.parse(stdout) as { epsilon: number; accountant: string };
    assert.deepEqual(Object.keys(json), ["epsilon", "accountant"]);
    assert.ok(Math.abs(json.epsilon - 6.777395712150674) < 1e-3);
  });

  it("noise --json calibrates as Opacus (epochs and steps) and prints a human line without --json", async () => {
    const epochs = await run(["noise", "--epsilon", "8", "--delta", "1e-5", "--sample-rate", "0.04", "--epochs", "90", "--json"]);
    assert.equal(epochs.code, 0);
    const json = JSON.parse(epochs.stdout) as { noiseMultiplier: number; epsilon: number };
    assert.deepEqual(Object.keys(json), ["noiseMultiplier", "epsilon"]);
    assert.ok(Math.abs(json.noiseMultiplier - 1.416) < 5e-5);
    assert.ok(json.epsilon <= 8);
    const human = await run(["noise", "--epsilon", "8", "--delta", "1e-5", "--sample-rate", "0.04", "--steps", "2000"]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^noise multiplier 1\.356\d* gives epsilon 7\.99\d\d <= 8/);
  });

  it("bad flags are one-line usage errors naming the flag and range", async () => {
    const zero = await run(["epsilon", "--noise-multiplier", "0", "--sample-rate", "0.04", "--steps", "10", "--delta", "1e-5"]);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /^error: --noise-multiplier must be a number in \(0, /);
    const both = await run(["noise", "--epsilon", "8", "--delta", "1e-5", "--sample-rate", "0.04", "--steps", "10", "--epochs", "1"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--steps and --epochs/);
    const unreachable = await run(["noise", "--epsilon", "1e-9", "--delta", "1e-5", "--sample-rate", "1", "--steps", "1000000"]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^error: no noise multiplier/);
  });
});
