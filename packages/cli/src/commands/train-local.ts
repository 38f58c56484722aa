import { readFile, writeFile } from "node:fs/promises";
import {
  TrainerError,
  createTrainer,
  decodeNpz,
  type FitResult,
  type NpyArray,
  type OptimizerConfig,
  type PrivacyOptions,
  type TrainingDataset,
  type TrainingLoss,
} from "@sanctum/trainer";
import { SingleBar } from "cli-progress";
import { Option, type Command } from "commander";
import { CliError } from "../cli-error.js";
import { parseNumber } from "../client-options/number-flag.js";

/** Loss names accepted by `--loss`. */
export const LOSS_CHOICES: readonly TrainingLoss[] = ["cross_entropy", "mse", "bce_with_logits"];

interface TrainLocalFlags {
  model: string;
  data: string;
  test?: string;
  loss: TrainingLoss;
  epochs: string;
  batchSize: string;
  maxBatchSize?: string;
  maxGradNorm?: string;
  epsilon?: string;
  delta?: string;
  noiseMultiplier?: string;
  dp: boolean;
  accountant: "rdp" | "prv";
  optimizer: "sgd" | "adam" | "adamw";
  lr: string;
  momentum?: string;
  weightDecay?: string;
  seed?: string;
  threads?: string;
  out: string;
  json?: boolean;
}

/** Registers `sanctum train-local`. */
export function registerTrainLocal(program: Command): void {
  program
    .command("train-local")
    .description("train an ONNX model on this machine with DP-SGD (or without DP: --no-dp) and write the trained model")
    .requiredOption("--model <file>", "ONNX model (PyTorch export, training mode)")
    .requiredOption("--data <file>", ".npz with one array per model input (named as the input) plus 'labels'")
    .option("--test <file>", ".npz in the same format, evaluated after each epoch")
    .addOption(new Option("--loss <name>", "loss applied to the model's first output").choices(LOSS_CHOICES).makeOptionMandatory())
    .requiredOption("--epochs <n>", "epochs, an integer >= 1")
    .requiredOption("--batch-size <n>", "logical batch size (DP: expected Poisson batch, sampling rate q = B / N)")
    .option("--max-batch-size <n>", "largest physical batch run at once (memory bound); default 256")
    .option("--max-grad-norm <c>", "per-sample clipping norm C > 0 (required with DP; no effect with --no-dp)")
    .option("--epsilon <e>", "target epsilon > 0: calibrates the noise (needs --delta)")
    .option("--delta <d>", "delta in (0, 1); default 1e-5 with --noise-multiplier")
    .option("--noise-multiplier <s>", "noise multiplier sigma >= 0 (noise std sigma * C)")
    .option("--no-dp", "train without differential privacy (no clipping, no noise)")
    .addOption(new Option("--accountant <name>", "privacy accountant").choices(["rdp", "prv"]).default("rdp"))
    .addOption(new Option("--optimizer <name>", "optimizer").choices(["sgd", "adam", "adamw"]).makeOptionMandatory())
    .requiredOption("--lr <x>", "learning rate > 0")
    .option("--momentum <m>", "SGD momentum in [0, 1); default 0")
    .option("--weight-decay <w>", "weight decay >= 0; default 0 (adamw: 0.01)")
    .option("--seed <n>", "makes sampling reproducible (never the DP noise, which always comes from the OS CSPRNG)")
    .option("--threads <n>", "onnxruntime threads, integer in [1, 256]; default 1")
    .requiredOption("--out <file>", "where to write the trained ONNX model")
    .option("--json", "print the result as JSON")
    .action(async (flags: TrainLocalFlags) => trainLocal(flags));
}

async function trainLocal(flags: TrainLocalFlags): Promise<void> {
  const epochs = parseNumber("--epochs", flags.epochs, { min: 1, max: 1e6, integer: true });
  const batchSize = parseNumber("--batch-size", flags.batchSize, { min: 1, integer: true });
  const privacy = privacyOf(flags);
  const optimizer = optimizerOf(flags);
  const model = await readInput(flags.model, "--model");
  const train = await readDataset(flags.data, "--data");
  const test = flags.test === undefined ? undefined : await readDataset(flags.test, "--test");
  const trainer = await createTrainer({
    model,
    loss: flags.loss,
    train,
    privacy,
    optimizer,
    batchSize,
    ...(flags.maxBatchSize === undefined ? {} : { maxBatchSize: parseNumber("--max-batch-size", flags.maxBatchSize, { min: 1, integer: true }) }),
    ...(flags.seed === undefined ? {} : { seed: parseNumber("--seed", flags.seed, { min: 0, integer: true }) }),
    ...(flags.threads === undefined ? {} : { intraOpThreads: parseNumber("--threads", flags.threads, { min: 1, max: 256, integer: true }) }),
  }).catch((err: unknown) => {
    throw rename(err, flags);
  });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  const showBar = flags.json !== true && process.stderr.isTTY === true;
  const bar = showBar ? new SingleBar({ format: "training [{bar}] {percentage}% step {value}/{total} epoch {epoch} loss {loss}", stream: process.stderr, hideCursor: true, clearOnComplete: true }) : undefined;
  let result: FitResult;
  try {
    const plan = await trainer.plan(epochs);
    bar?.start(plan.steps, 0, { epoch: 1, loss: "-" });
    result = await trainer.fit({
      epochs,
      ...(test === undefined ? {} : { test }),
      signal: controller.signal,
      onProgress: (e) => {
        if (e.kind === "step") bar?.update(e.step, { epoch: e.epoch, loss: Number.isFinite(e.loss) ? e.loss.toFixed(4) : "-" });
        else if (flags.json !== true) {
          bar?.stop();
          process.stdout.write(epochLine(e.metrics, epochs) + "\n");
          if (e.metrics.epoch < epochs) bar?.start(plan.steps, e.metrics.epoch * plan.stepsPerEpoch, { epoch: e.metrics.epoch + 1, loss: "-" });
        }
      },
    }).catch((err: unknown) => {
      throw rename(err, flags);
    });
    bar?.stop();
    if (result.cancelled) throw new CliError(`training interrupted after ${result.steps} steps; nothing was written`, { exitCode: 130 });
    const trained = await trainer.exportModel();
    // Trained weights carry information about the training data: readable by their owner only.
    await writeFile(flags.out, trained, { mode: 0o600 });
  } finally {
    bar?.stop();
    process.off("SIGINT", onSigint);
    await trainer.close();
  }
  const p = result.privacy;
  const json = {
    epochs: result.epochs.map((m) => ({
      epoch: m.epoch,
      loss: m.trainLoss,
      ...(m.trainAccuracy === undefined ? {} : { accuracy: m.trainAccuracy }),
      ...(m.testLoss === undefined ? {} : { testLoss: m.testLoss }),
      ...(m.testAccuracy === undefined ? {} : { testAccuracy: m.testAccuracy }),
      seconds: m.durationMs / 1000,
    })),
    steps: result.steps,
    dp: p.mode === "dp",
    epsilon: p.mode === "dp" ? p.epsilon : null,
    delta: p.mode === "dp" ? p.delta : null,
    noiseMultiplier: p.mode === "dp" ? p.noiseMultiplier : null,
    maxGradNorm: p.mode === "dp" ? p.maxGradNorm : null,
    sampleRate: p.mode === "dp" ? p.sampleRate : null,
    accountant: p.mode === "dp" ? p.accountant : null,
    out: flags.out,
    seconds: result.durationMs / 1000,
  };
  if (flags.json === true) {
    process.stdout.write(JSON.stringify(json, null, 2) + "\n");
    return;
  }
  const privacyText = p.mode === "dp" ? `(epsilon ${fmt(p.epsilon)}, delta ${p.delta}) by ${p.accountant}, sigma ${fmt(p.noiseMultiplier)}, C ${p.maxGradNorm}, q ${fmt(p.sampleRate)}` : "without differential privacy";
  process.stdout.write(`trained ${result.steps} steps in ${(result.durationMs / 1000).toFixed(1)} s, ${privacyText}\nwrote ${flags.out}\n`);
}

function epochLine(m: FitResult["epochs"][number], epochs: number): string {
  const parts = [`epoch ${m.epoch}/${epochs}`, `loss ${m.trainLoss.toFixed(4)}`];
  if (m.trainAccuracy !== undefined) parts.push(`accuracy ${(m.trainAccuracy * 100).toFixed(1)}%`);
  if (m.testLoss !== undefined) parts.push(`test loss ${m.testLoss.toFixed(4)}`);
  if (m.testAccuracy !== undefined) parts.push(`test accuracy ${(m.testAccuracy * 100).toFixed(1)}%`);
  parts.push(`${(m.durationMs / 1000).toFixed(m.durationMs < 10_000 ? 2 : 1)} s`);
  return parts.join("  ");
}

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x);
}

function privacyOf(flags: TrainLocalFlags): PrivacyOptions {
  const chosen = [flags.epsilon !== undefined, flags.noiseMultiplier !== undefined, !flags.dp].filter(Boolean).length;
  if (chosen !== 1) throw new CliError("choose exactly one of --epsilon E --delta D, --noise-multiplier S, or --no-dp", { exitCode: 2 });
  if (!flags.dp) {
    // The contract's usage line gives --max-grad-norm with every mode: accepted (and checked),
    // though without DP nothing is clipped.
    if (flags.maxGradNorm !== undefined) parseNumber("--max-grad-norm", flags.maxGradNorm, { min: 0, exclusiveMin: true });
    if (flags.delta !== undefined) throw new CliError("--delta applies only with DP; drop it with --no-dp", { exitCode: 2 });
    return { mode: "non-private" };
  }
  if (flags.maxGradNorm === undefined) throw new CliError("--max-grad-norm C (> 0) is required with DP", { exitCode: 2 });
  const maxGradNorm = parseNumber("--max-grad-norm", flags.maxGradNorm, { min: 0, exclusiveMin: true });
  const accountant = flags.accountant;
  if (flags.epsilon !== undefined) {
    if (flags.delta === undefined) throw new CliError("--epsilon needs --delta D, in (0, 1)", { exitCode: 2 });
    const targetEpsilon = parseNumber("--epsilon", flags.epsilon, { min: 0, exclusiveMin: true });
    const delta = parseNumber("--delta", flags.delta, { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true });
    return { mode: "dp", maxGradNorm, targetEpsilon, delta, accountant };
  }
  const noiseMultiplier = parseNumber("--noise-multiplier", flags.noiseMultiplier!, { min: 0, max: 1e12 });
  const delta = flags.delta === undefined ? 1e-5 : parseNumber("--delta", flags.delta, { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true });
  return { mode: "dp", maxGradNorm, noiseMultiplier, delta, accountant };
}

function optimizerOf(flags: TrainLocalFlags): OptimizerConfig {
  const lr = parseNumber("--lr", flags.lr, { min: 0, exclusiveMin: true });
  const weightDecay = flags.weightDecay === undefined ? undefined : parseNumber("--weight-decay", flags.weightDecay, { min: 0 });
  if (flags.optimizer === "sgd") {
    const momentum = flags.momentum === undefined ? 0 : parseNumber("--momentum", flags.momentum, { min: 0, max: 1, exclusiveMax: true });
    return { kind: "sgd", lr, momentum, ...(weightDecay === undefined ? {} : { weightDecay }) };
  }
  if (flags.momentum !== undefined) throw new CliError("--momentum applies only to --optimizer sgd", { exitCode: 2 });
  return { kind: flags.optimizer, lr, ...(weightDecay === undefined ? {} : { weightDecay }) };
}

/** Reads a file named by a flag, with an error that names the flag. */
export async function readInput(path: string, flag: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new CliError(`${flag}: cannot read '${path}'${code === "ENOENT" ? " (no such file)" : code === undefined ? "" : ` (${code})`}`, { cause });
  }
}

/** Loads an .npz as a dataset: every array but 'labels' is a model input. */
export async function readDataset(path: string, flag: string): Promise<TrainingDataset> {
  let arrays: Map<string, NpyArray>;
  try {
    arrays = decodeNpz(await readInput(path, flag));
  } catch (err) {
    if (err instanceof TrainerError) throw new CliError(`${flag} ${path}: ${err.message}`, { cause: err });
    throw err;
  }
  const labels = arrays.get("labels");
  if (labels === undefined) {
    throw new CliError(`${flag} ${path} has no 'labels' array (it has: ${[...arrays.keys()].join(", ") || "nothing"}); save labels with numpy.savez(..., labels=y)`);
  }
  arrays.delete("labels");
  return { inputs: Object.fromEntries(arrays), labels };
}

/** Prefixes dataset errors with the file they came from. */
function rename(err: unknown, flags: TrainLocalFlags): unknown {
  if (err instanceof TrainerError && err.code === "invalid-dataset") {
    const file = err.message.startsWith("test data") ? `--test ${flags.test}` : `--data ${flags.data}`;
    return new CliError(`${file}: ${err.message.replace(/^(train|test) data: /, "")}`, { cause: err });
  }
  return err;
}
