import { readFile } from "node:fs/promises";
import { decodeReceiptFile, readTensorFile, verifyReceiptFile, type TensorMap } from "@sanctum/client";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { allowSimulationOf, keyFingerprint, policyOf, printJson } from "../client-options/client-options.js";

/** Registers `sanctum receipt verify`: checks a prediction receipt offline. */
export function registerReceipt(program: Command): void {
  const receipt = program.command("receipt").description("prediction receipts signed by the attested server key");
  receipt
    .command("verify")
    .description("check a receipt offline: signature by the server key, the evidence, and that the evidence binds that key (exit 0 only when all holds)")
    .argument("<file>", "a receipt written by 'sanctum predict --receipt'")
    .option("--allow-simulation", "accept evidence from the insecure simulation platform (env SANCTUM_ALLOW_SIMULATION=1)")
    .option("--policy <file>", "verification policy JSON (env SANCTUM_POLICY)")
    .option("--input <file>", "also check that the receipt covers these inputs (.npz or .json)")
    .option("--output <file>", "also check that the receipt covers these outputs (.npz or .json)")
    .option("--json", "print the result as JSON")
    .action(async (file: string, options: { allowSimulation?: boolean; policy?: string; input?: string; output?: string; json?: boolean }) => {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (cause) {
        throw new CliError(`cannot read receipt '${file}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause });
      }
      const parsed = decodeReceiptFile(text);
      const policy = await policyOf(options);
      const inputs = options.input === undefined ? undefined : await namedTensors(options.input, "--input");
      const outputs = options.output === undefined ? undefined : await namedTensors(options.output, "--output");
      const result = await verifyReceiptFile(parsed, {
        allowSimulation: allowSimulationOf(options),
        ...(policy === undefined ? {} : { policy }),
        ...(inputs === undefined ? {} : { inputs }),
        ...(outputs === undefined ? {} : { outputs }),
      });
      const s = result.statement;
      const a = result.attestation;
      if (options.json === true) {
        printJson({
          valid: result.valid,
          ...(s === undefined ? {} : { statement: s }),
          serverKey: keyFingerprint(parsed.serverSpki),
          platform: parsed.evidence.platform,
          ...(a?.measurement === undefined ? {} : { measurement: a.measurement }),
          problems: result.problems,
        });
      } else {
        const rows: [string, string][] = [];
        if (s !== undefined) {
          rows.push(["model", s.model], ["model sha256", s.modelSha256], ["input digest", s.inputDigest], ["output digest", s.outputDigest], ["time", s.time]);
        }
        rows.push(["server key", keyFingerprint(parsed.serverSpki)]);
        rows.push(["platform", parsed.evidence.platform === "simulation" ? "simulation (INSECURE: no hardware protection)" : parsed.evidence.platform]);
        if (a?.measurement !== undefined) rows.push(["measurement", a.measurement]);
        if (inputs !== undefined) rows.push(["inputs", result.problems.some((p) => p.code === "input-digest") ? "DO NOT match" : "match"]);
        if (outputs !== undefined) rows.push(["outputs", result.problems.some((p) => p.code === "output-digest") ? "DO NOT match" : "match"]);
        rows.push(["receipt", result.valid ? "valid" : "INVALID"]);
        for (const [k, v] of rows) process.stdout.write(`${k.padEnd(14)} ${v}\n`);
      }
      if (!result.valid) {
        const hint = result.problems.some((p) => p.code === "evidence-simulation-refused") && result.problems.length === 1
          ? " (pass --allow-simulation to accept a development server's receipt)"
          : "";
        throw new CliError(`receipt does not verify: ${result.problems.map((p) => p.message).join("; ")}${hint}`);
      }
    });
}

async function namedTensors(path: string, flag: string): Promise<TensorMap> {
  const contents = await readTensorFile(path);
  if (contents.format === "npy") {
    throw new CliError(`${flag}: '${path}' is a .npy file, which does not name its array, and a receipt's digest covers names: use .npz or .json`, { exitCode: 2 });
  }
  return contents.tensors;
}
