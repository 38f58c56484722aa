import { stat } from "node:fs/promises";
import type { AccessOption, ModelInfo, TensorSpec } from "@sanctum/client";
import { Option, type Command } from "commander";
import { CliError } from "../cli-error.js";
import { addClientOptions, printJson, withClient, type ClientOptionValues } from "../client-options/client-options.js";
import { printTable, shortKey } from "../client-options/print-table.js";
import { publicKeyList } from "../client-options/public-key-list.js";
import { createUploadProgress } from "../client-options/upload-progress.js";

/** Registers `sanctum model upload|list|info|delete`. */
export function registerModel(program: Command): void {
  const model = program.command("model").description("upload, list, describe and delete confidential models");

  addClientOptions(
    model
      .command("upload")
      .description("upload an ONNX model; by default only you may query it")
      .argument("<file>", "the .onnx file")
      .option("--name <name>", "name to find the model by (default: the file name without .onnx)")
      .addOption(new Option("--public", "let any identity query the model").conflicts("allow"))
      .addOption(new Option("--allow <keys>", "comma-separated public key ids (from 'sanctum keygen') allowed to query").conflicts("public")),
  ).action(async (file: string, options: ClientOptionValues & { name?: string; public?: boolean; allow?: string }) => {
    const access = accessOf(options);
    const size = await modelFileSize(file);
    await withClient(options, async (client) => {
      const progress = createUploadProgress({ totalBytes: size, enabled: options.json !== true && process.stderr.isTTY === true });
      let info: ModelInfo;
      try {
        info = await client.models.upload(file, {
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(access === undefined ? {} : { access }),
          onProgress: progress.update,
        });
      } finally {
        progress.stop();
      }
      if (options.json === true) printJson(uploadJson(info));
      else {
        process.stdout.write(`uploaded ${info.name} (id ${info.id}, sha256 ${info.sha256})\n`);
        printSpecs(info);
        process.stdout.write(`access      ${accessText(info)}\n`);
      }
    });
  });

  addClientOptions(model.command("list").description("list the models you own or may query")).action(async (options: ClientOptionValues) => {
    await withClient(options, async (client) => {
      const models = await client.models.list();
      if (options.json === true) return printJson({ models });
      if (models.length === 0) return void process.stdout.write("no models (upload one with 'sanctum model upload FILE.onnx')\n");
      const rows = models.map((m) => [m.id, m.name, m.sha256.slice(0, 12), m.owner === "" ? "" : shortKey(m.owner), accessText(m), m.createdAt]);
      printTable(["ID", "NAME", "SHA256", "OWNER", "ACCESS", "CREATED"], rows);
    });
  });

  addClientOptions(model.command("info").description("describe a model: inputs, outputs, owner, access").argument("<model>", "id or name")).action(
    async (ref: string, options: ClientOptionValues) => {
      await withClient(options, async (client) => {
        const info = await client.models.get(ref);
        if (options.json === true) return printJson(info);
        const rows: [string, string][] = [
          ["id", info.id],
          ["name", info.name],
          ["sha256", info.sha256],
          ["owner", info.owner],
          ["access", accessText(info)],
          ["size", `${info.sizeBytes} bytes`],
          ["created", info.createdAt],
          ["source", info.source],
        ];
        for (const [k, v] of rows) process.stdout.write(`${k.padEnd(11)} ${v}\n`);
        printSpecs(info);
      });
    },
  );

  addClientOptions(model.command("delete").description("delete a model you own").argument("<model>", "id or name")).action(
    async (ref: string, options: ClientOptionValues) => {
      await withClient(options, async (client) => {
        const id = await client.models.delete(ref);
        if (options.json === true) printJson({ id });
        else process.stdout.write(`deleted model ${id}\n`);
      });
    },
  );
}

/** The upload answer of the CLI contract. */
export function uploadJson(info: ModelInfo): { id: string; name: string; sha256: string; inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const spec = (s: TensorSpec): TensorSpec => ({ name: s.name, dtype: s.dtype, shape: [...s.shape] });
  return { id: info.id, name: info.name, sha256: info.sha256, inputs: info.inputs.map(spec), outputs: info.outputs.map(spec) };
}

function accessOf(options: { public?: boolean; allow?: string }): AccessOption | undefined {
  if (options.public === true) return { public: true };
  const keys = publicKeyList("--allow", options.allow);
  return keys === undefined ? undefined : { allow: keys };
}

async function modelFileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
    return info.size;
  } catch (cause) {
    throw new CliError(`cannot read model file '${file}': ${(cause as NodeJS.ErrnoException).code ?? "error"}; give the path of an .onnx file`, { cause });
  }
}

function printSpecs(info: ModelInfo): void {
  for (const [label, specs] of [["input", info.inputs], ["output", info.outputs]] as const) {
    for (const s of specs) process.stdout.write(`${label.padEnd(11)} ${s.name} ${s.dtype} [${s.shape.join(", ")}]\n`);
  }
}

function accessText(info: ModelInfo): string {
  if (info.access.public) return "public";
  if (info.access.allow.length === 0) return "owner only";
  return `owner + ${info.access.allow.length} allowed (${info.access.allow.map(shortKey).join(", ")})`;
}
