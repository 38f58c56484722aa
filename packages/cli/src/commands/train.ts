import { writeFile } from "node:fs/promises";
import type { AccessOption, LossName, OptimizerName, TrainingEvent, TrainingRun } from "@sanctum/client";
import { SingleBar } from "cli-progress";
import { Option, type Command } from "commander";
import { CliError } from "../cli-error.js";
import { addClientOptions, printJson, withClient, type ClientOptionValues } from "../client-options/client-options.js";
import { round4 as round } from "../client-options/print-table.js";
import { publicKeyList, splitList } from "../client-options/public-key-list.js";

interface TrainValues extends ClientOptionValues {
  model: string;
  dataset: string;
  loss: LossName;
  epochs: string;
  epsilon: string;
  batchSize: string;
  maxBatchSize?: string;
  maxGradNorm?: string;
  optimizer: OptimizerName;
  lr?: string;
  momentum?: string;
  weightDecay?: string;
  evalDataset?: string;
  metricsShare?: string;
  out?: string;
  deploy?: string;
  public?: boolean;
  allow?: string;
}

/** Registers `sanctum train`: DP-SGD inside the TEE on datasets you may not read. */
export function registerTrain(program: Command): void {
  addClientOptions(
    program
      .command("train")
      .description("train a model with DP-SGD inside the TEE on datasets you never see; deploy it and/or download it if the owners allow")
      .requiredOption("--model <file>", "the ONNX model (a PyTorch export in training mode)")
      .requiredOption("--dataset <ids>", "comma-separated dataset ids to train on (their union)")
      .addOption(new Option("--loss <loss>", "loss function").choices(["cross_entropy", "mse", "bce_with_logits"]).makeOptionMandatory())
      .requiredOption("--epochs <n>", "epochs")
      .requiredOption("--epsilon <e>", "target epsilon of the whole run (training and its noised metrics)")
      .requiredOption("--batch-size <n>", "expected logical batch size (sampling rate = batch / N)")
      .option("--max-batch-size <n>", "largest physical batch (default min(batch size, 256))")
      .option("--max-grad-norm <c>", "per-sample clipping norm (default 1)")
      .addOption(new Option("--optimizer <name>", "optimizer").choices(["sgd", "adam", "adamw"]).default("sgd"))
      .option("--lr <x>", "learning rate (default sgd 0.1, adam/adamw 0.001)")
      .option("--momentum <m>", "sgd momentum (default 0)")
      .option("--weight-decay <w>", "weight decay (default 0)")
      .option("--eval-dataset <id>", "report noised loss and accuracy on this dataset (charged to its own ledger)")
      .option("--metrics-share <s>", "share of epsilon spent on the noised per-epoch metrics, in [0, 0.5] (default 0.1; 0 = no metrics)")
      .option("--out <file>", "download the trained model here (only if every dataset's policy lets you)")
      .option("--deploy <name>", "deploy the trained model for confidential inference under this name (the weights stay in the TEE)")
      .addOption(new Option("--public", "with --deploy: let any identity query the deployed model").conflicts("allow"))
      .addOption(new Option("--allow <keys>", "with --deploy: comma-separated public key ids allowed to query it").conflicts("public")),
  ).action(async (options: TrainValues) => {
    const epochs = int("--epochs", options.epochs, 1);
    const batchSize = int("--batch-size", options.batchSize, 1);
    const epsilon = num("--epsilon", options.epsilon, 0);
    const allow = publicKeyList("--allow", options.allow);
    if ((options.public === true || allow !== undefined) && options.deploy === undefined) throw new CliError("--public and --allow apply to the deployed model: add --deploy NAME", { exitCode: 2 });
    const access: AccessOption | undefined = options.public === true ? { public: true } : allow === undefined ? undefined : { allow };
    const datasets = splitList(options.dataset);
    await withClient(options, async (client) => {
      const started = await client.training.start({
        model: options.model,
        datasets,
        loss: options.loss,
        epochs,
        epsilon,
        batchSize,
        ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: int("--max-batch-size", options.maxBatchSize, 1) }),
        ...(options.maxGradNorm === undefined ? {} : { maxGradNorm: num("--max-grad-norm", options.maxGradNorm, 0) }),
        optimizer: {
          kind: options.optimizer,
          ...(options.lr === undefined ? {} : { learningRate: num("--lr", options.lr, 0) }),
          ...(options.momentum === undefined ? {} : { momentum: Number(options.momentum) }),
          ...(options.weightDecay === undefined ? {} : { weightDecay: Number(options.weightDecay) }),
        },
        ...(options.evalDataset === undefined ? {} : { evalDataset: options.evalDataset }),
        ...(options.metricsShare === undefined ? {} : { metricsShare: Number(options.metricsShare) }),
        ...(options.deploy === undefined ? {} : { deploy: { name: options.deploy, ...(access === undefined ? {} : { access }) } }),
        // The server refuses before any budget is spent when a dataset keeps the weights in the TEE.
        ...(options.out === undefined ? {} : { releaseWeights: true }),
      });
      if (options.json !== true) {
        process.stderr.write(`run ${started.id}: noise multiplier ${round(started.privacy.noiseMultiplier)}, ${started.privacy.steps} steps, epsilon ${round(started.privacy.epsilon)} at delta ${started.privacy.delta} reserved\n`);
      }
      const bar = options.json !== true && process.stderr.isTTY === true ? new SingleBar({ format: "training [{bar}] {value}/{total} steps | epoch {epoch} {metrics}", stream: process.stderr, hideCursor: true, clearOnComplete: true }) : undefined;
      bar?.start(started.stepsPlanned, 0, { epoch: 1, metrics: "" });
      let run: TrainingRun;
      try {
        run = await client.training.watch(started.id, (event: TrainingEvent) => {
          if (event.kind === "progress") bar?.update(event.step, { epoch: event.epoch });
          else if (event.kind === "epoch") {
            const m = event.metrics;
            const text = `noised loss ${round(m.loss)}${m.accuracy === undefined ? "" : ` acc ${round(m.accuracy)} (+-${round(m.accuracyNoiseStd)})`}`;
            if (bar !== undefined) bar.update({ metrics: text });
            else if (options.json !== true) process.stderr.write(`epoch ${m.epoch}: ${text}\n`);
          }
        });
      } finally {
        bar?.stop();
      }
      if (run.status !== "succeeded") throw new CliError(`training run ${run.id} ${run.status}: ${run.error ?? "no reason given"}`);
      if (options.out !== undefined) {
        const bytes = await client.training.downloadWeights(run.id);
        try {
          await writeFile(options.out, bytes, { mode: 0o600 });
        } catch (cause) {
          throw new CliError(`cannot write '${options.out}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause });
        }
      }
      if (options.deploy !== undefined && run.modelId === undefined) throw new CliError(`training run ${run.id} succeeded but was not deployed: ${run.error ?? "no reason given"}`);
      const result = {
        runId: run.id,
        status: run.status,
        epsilon: run.privacy.epsilon,
        delta: run.privacy.delta,
        noiseMultiplier: run.privacy.noiseMultiplier,
        sampleRate: run.privacy.sampleRate,
        steps: run.stepsDone,
        maxGradNorm: run.privacy.maxGradNorm,
        accountant: run.privacy.accountant,
        metrics: run.metrics,
        ...(run.modelId === undefined ? {} : { modelId: run.modelId, modelName: options.deploy }),
        ...(options.out === undefined ? {} : { out: options.out }),
        weightsAvailable: run.weightsAvailable,
        durationMs: run.durationMs ?? 0,
      };
      if (options.json === true) return printJson(result);
      process.stdout.write(`trained: run ${run.id}, ${run.stepsDone} steps, (epsilon ${round(run.privacy.epsilon)}, delta ${run.privacy.delta})-DP, noise multiplier ${round(run.privacy.noiseMultiplier)}\n`);
      if (run.modelId !== undefined) process.stdout.write(`deployed as ${options.deploy} (model id ${run.modelId})\n`);
      if (options.out !== undefined) process.stdout.write(`weights written to ${options.out}\n`);
    });
  });
}

function int(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new CliError(`${flag} must be an integer >= ${min}, got '${text}'`, { exitCode: 2 });
  return value;
}

function num(flag: string, text: string, exclusiveMin: number): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= exclusiveMin) throw new CliError(`${flag} must be a number > ${exclusiveMin}, got '${text}'`, { exitCode: 2 });
  return value;
}
