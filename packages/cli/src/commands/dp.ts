import { Option, type Command } from "commander";
import { calibrateNoiseMultiplier, computeEpsilon, type AccountantName } from "@sanctum/privacy";
import { CliError } from "../cli-error.js";
import { parseNumber } from "../client-options/number-flag.js";

interface EpsilonFlags {
  noiseMultiplier: string;
  sampleRate: string;
  steps: string;
  delta: string;
  accountant: AccountantName;
  json?: boolean;
}

interface NoiseFlags {
  epsilon: string;
  delta: string;
  sampleRate: string;
  steps?: string;
  epochs?: string;
  accountant: AccountantName;
  json?: boolean;
}

/** Registers `sanctum dp epsilon` and `sanctum dp noise`: privacy accounting offline, no server. */
export function registerDp(program: Command): void {
  const dp = program.command("dp").description("differential-privacy accounting for DP-SGD (Poisson-subsampled Gaussian mechanism)");
  dp.command("epsilon")
    .description("epsilon spent by a DP-SGD run of N steps at sampling rate q with noise multiplier sigma")
    .requiredOption("--noise-multiplier <s>", "noise multiplier sigma > 0 (noise std over clipping norm)")
    .requiredOption("--sample-rate <q>", "Poisson sampling rate q in (0, 1] (batch size / dataset size)")
    .requiredOption("--steps <n>", "number of steps, an integer >= 0")
    .requiredOption("--delta <d>", "delta in (0, 1)")
    .addOption(accountantOption())
    .option("--json", 'print {"epsilon", "accountant", "order"} (order for rdp only)')
    .action((flags: EpsilonFlags) => {
      const noiseMultiplier = parseNumber("--noise-multiplier", flags.noiseMultiplier, { min: 0, max: 1e12, exclusiveMin: true });
      const sampleRate = parseNumber("--sample-rate", flags.sampleRate, { min: 0, max: 1, exclusiveMin: true });
      const steps = parseNumber("--steps", flags.steps, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
      const delta = parseNumber("--delta", flags.delta, { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true });
      const result = computeEpsilon({ history: [{ noiseMultiplier, sampleRate, steps }], delta, accountant: flags.accountant });
      if (flags.json === true) {
        printJson(result.accountant === "rdp" ? { epsilon: result.epsilon, accountant: result.accountant, order: result.order ?? null } : { epsilon: result.epsilon, accountant: result.accountant });
        return;
      }
      const detail =
        result.accountant === "rdp"
          ? result.order === undefined ? "rdp accountant" : `rdp accountant, order ${result.order}`
          : `prv accountant, estimate ${fixed(result.epsilonEstimate)}, lower bound ${fixed(result.epsilonLower)}`;
      process.stdout.write(`epsilon ${fixed(result.epsilon)} at delta ${delta} after ${steps} steps (${detail})\n`);
    });
  dp.command("noise")
    .description("smallest noise multiplier whose epsilon meets a target (Opacus's get_noise_multiplier search)")
    .requiredOption("--epsilon <e>", "target epsilon > 0")
    .requiredOption("--delta <d>", "delta in (0, 1)")
    .requiredOption("--sample-rate <q>", "Poisson sampling rate q in (0, 1]")
    .option("--steps <n>", "number of steps, an integer >= 1")
    .option("--epochs <e>", "number of epochs > 0; steps = floor(epochs / q)")
    .addOption(accountantOption())
    .option("--json", 'print {"noiseMultiplier", "epsilon"} (epsilon achieved, <= the target)')
    .action((flags: NoiseFlags) => {
      const targetEpsilon = parseNumber("--epsilon", flags.epsilon, { min: 0, max: 1e6, exclusiveMin: true });
      const delta = parseNumber("--delta", flags.delta, { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true });
      const sampleRate = parseNumber("--sample-rate", flags.sampleRate, { min: 0, max: 1, exclusiveMin: true });
      if ((flags.steps === undefined) === (flags.epochs === undefined)) {
        throw new CliError("give exactly one of --steps and --epochs", { exitCode: 2 });
      }
      const length =
        flags.steps !== undefined
          ? { steps: parseNumber("--steps", flags.steps, { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true }) }
          : { epochs: parseNumber("--epochs", flags.epochs ?? "", { min: 0, max: 1e9, exclusiveMin: true }) };
      const result = calibrateNoiseMultiplier({ targetEpsilon, delta, sampleRate, accountant: flags.accountant, ...length });
      if (flags.json === true) {
        printJson({ noiseMultiplier: result.noiseMultiplier, epsilon: result.epsilon });
        return;
      }
      process.stdout.write(
        `noise multiplier ${result.noiseMultiplier} gives epsilon ${fixed(result.epsilon)} <= ${targetEpsilon} at delta ${delta} over ${result.steps} steps (${flags.accountant} accountant)\n`,
      );
    });
}

function accountantOption(): Option {
  return new Option("--accountant <name>", "privacy accountant: rdp (Opacus-compatible) or prv (tighter)").choices(["rdp", "prv"]).default("rdp");
}

function fixed(value: number | undefined): string {
  return value === undefined ? "n/a" : value.toFixed(4);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Parses a numeric flag; out-of-range values are usage errors naming the flag and range. */
