import type { DatasetBudget, DatasetInfo, WeightsRelease } from "@sanctum/client";
import { Option, type Command } from "commander";
import { CliError } from "../cli-error.js";
import { addClientOptions, printJson, withClient, type ClientOptionValues } from "../client-options/client-options.js";
import { printTable, round4 as round, shortKey as short } from "../client-options/print-table.js";
import { publicKeyList, splitList } from "../client-options/public-key-list.js";
import { createUploadProgress } from "../client-options/upload-progress.js";

interface UploadValues extends ClientOptionValues {
  name: string;
  epsilon: string;
  delta?: string;
  trainers?: string;
  weightsRelease?: WeightsRelease;
  label?: string;
  features?: string;
}

/** Registers `sanctum dataset upload|list|info|budget|delete`. */
export function registerDataset(program: Command): void {
  const dataset = program.command("dataset").description("upload datasets with a privacy budget, list them, read their ledgers, delete them");

  addClientOptions(
    dataset
      .command("upload")
      .description("upload a dataset sealed into the TEE with a privacy budget; nobody can read it back")
      .argument("<file>", ".npz or .safetensors (one array per model input plus 'labels'), or .csv with --label")
      .requiredOption("--name <name>", "name of the dataset (letters, digits, '.', '_', '-')")
      .requiredOption("--epsilon <e>", "privacy budget: the most epsilon all training on it may spend together, in (0, 100]")
      .option("--delta <d>", "delta of the budget, below 1/N (default min(1e-5, 1/(10 N)))")
      .option("--trainers <keys>", "comma-separated public key ids (from 'sanctum keygen') allowed to train on it")
      .addOption(new Option("--weights-release <who>", "who may download weights trained on it (deploying in the TEE is always allowed)").choices(["owner", "trainers", "nobody"]).default("owner"))
      .option("--label <column>", ".csv only: the column holding the labels")
      .option("--features <columns>", ".csv only: comma-separated feature columns, in order (default all but the label)"),
  ).action(async (file: string, options: UploadValues) => {
    const epsilon = positive("--epsilon", options.epsilon);
    const delta = options.delta === undefined ? undefined : positive("--delta", options.delta);
    const trainers = publicKeyList("--trainers", options.trainers);
    const features = options.features === undefined ? undefined : splitList(options.features);
    await withClient(options, async (client) => {
      let progress: ReturnType<typeof createUploadProgress> | undefined;
      let info: DatasetInfo;
      try {
        info = await client.datasets.upload(file, {
          name: options.name,
          epsilon,
          ...(delta === undefined ? {} : { delta }),
          ...(trainers === undefined ? {} : { trainers }),
          weightsRelease: options.weightsRelease ?? "owner",
          ...(options.label === undefined ? {} : { label: options.label }),
          ...(features === undefined ? {} : { features }),
          onProgress(sent, total) {
            progress ??= createUploadProgress({ totalBytes: total, enabled: options.json !== true && process.stderr.isTTY === true });
            progress.update(sent, total);
          },
        });
      } finally {
        progress?.stop();
      }
      if (options.json === true) return printJson(datasetJson(info));
      process.stdout.write(`uploaded dataset ${info.name} (id ${info.id}): ${info.rows} rows, budget epsilon ${info.epsilonLimit} at delta ${info.delta}\n`);
      printArrays(info);
    });
  });

  addClientOptions(dataset.command("list").description("list the datasets you own or may train on (metadata only)")).action(async (options: ClientOptionValues) => {
    await withClient(options, async (client) => {
      const datasets = await client.datasets.list();
      if (options.json === true) return printJson({ datasets: datasets.map(datasetJson) });
      if (datasets.length === 0) return void process.stdout.write("no datasets (upload one with 'sanctum dataset upload FILE --name N --epsilon E')\n");
      const rows = datasets.map((d) => [d.id, d.name, short(d.owner), String(d.rows), d.arrays.map((a) => `${a.name}:${a.dtype}[${a.shape.join(",")}]`).join(" "), `${round(d.epsilonSpent)}/${d.epsilonLimit}`]);
      printTable(["ID", "NAME", "OWNER", "ROWS", "ARRAYS", "EPSILON SPENT/LIMIT"], rows);
    });
  });

  addClientOptions(dataset.command("info").description("describe a dataset: owner, rows, arrays, budget").argument("<id>", "dataset id (ds_...)")).action(async (id: string, options: ClientOptionValues) => {
    await withClient(options, async (client) => {
      const info = await client.datasets.get(id);
      if (options.json === true) return printJson(datasetJson(info));
      for (const [k, v] of [["id", info.id], ["name", info.name], ["owner", info.owner], ["rows", String(info.rows)], ["budget", `epsilon ${info.epsilonLimit} at delta ${info.delta}`], ["spent", String(round(info.epsilonSpent))], ["weights", info.policy.weightsRelease], ["created", info.createdAt]] as const) {
        process.stdout.write(`${k.padEnd(8)} ${v}\n`);
      }
      printArrays(info);
    });
  });

  addClientOptions(dataset.command("budget").description("the privacy ledger of a dataset you own: limit, composed spent epsilon, entries").argument("<id>", "dataset id (ds_...)")).action(
    async (id: string, options: ClientOptionValues) => {
      await withClient(options, async (client) => {
        const budget = await client.datasets.budget(id);
        if (options.json === true) return printJson(budget);
        printBudget(budget);
      });
    },
  );

  addClientOptions(dataset.command("delete").description("delete the records of a dataset you own (its ledger and audit log stay)").argument("<id>", "dataset id (ds_...)")).action(
    async (id: string, options: ClientOptionValues) => {
      await withClient(options, async (client) => {
        const deleted = await client.datasets.delete(id);
        if (options.json === true) printJson({ id: deleted });
        else process.stdout.write(`deleted dataset ${deleted}\n`);
      });
    },
  );
}

/** The JSON of a dataset (upload answer, list entries). */
export function datasetJson(info: DatasetInfo): Record<string, unknown> {
  return {
    id: info.id,
    name: info.name,
    owner: info.owner,
    rows: info.rows,
    arrays: info.arrays,
    epsilon: info.epsilonLimit,
    delta: info.delta,
    epsilonSpent: info.epsilonSpent,
    policy: info.policy,
    sizeBytes: info.sizeBytes,
    createdAt: info.createdAt,
  };
}

function printBudget(b: DatasetBudget): void {
  process.stdout.write(`dataset   ${b.dataset}\nlimit     epsilon ${b.epsilonLimit} at delta ${b.delta} (${b.accountant})\nspent     ${round(b.epsilonSpent)} (composed, not summed)\nremaining ${round(b.epsilonRemaining)}\n`);
  if (b.entries.length === 0) return void process.stdout.write("no mechanisms charged yet\n");
  printTable(
    ["RUN", "KIND", "CALLER", "SIGMA", "Q", "STEPS", "STATUS", "EPSILON"],
    b.entries.map((e) => [e.runId, e.kind, short(e.caller), String(round(e.noiseMultiplier)), String(round(e.sampleRate)), e.status === "settled" ? `${e.stepsSettled}/${e.stepsReserved}` : String(e.stepsReserved), e.status, String(round(e.epsilon))]),
  );
}

function printArrays(info: DatasetInfo): void {
  for (const a of info.arrays) process.stdout.write(`array    ${a.name} ${a.dtype} [${a.shape.join(", ")}]\n`);
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) throw new CliError(`${flag} must be a positive number, got '${text}'`, { exitCode: 2 });
  return value;
}
