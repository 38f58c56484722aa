import { writeFile } from "node:fs/promises";
import { encodeJsonTensors, encodeReceiptFile, readTensorFile, writeTensorFile, type TensorMap, type TypedTensor } from "@sanctum/client";
import type { Command } from "commander";
import { CliError } from "../cli-error.js";
import { addClientOptions, printJson, withClient, type ClientOptionValues } from "../client-options/client-options.js";
import { formatTensor } from "../client-options/format-tensor.js";

/** Registers `sanctum predict`: a confidential prediction over the attested channel. */
export function registerPredict(program: Command): void {
  addClientOptions(
    program
      .command("predict")
      .description("run a model on your inputs inside the attested server")
      .argument("<model>", "model id or name")
      .requiredOption("--input <file>", 'inputs: .npz (arrays named by input name), .npy (single-input models) or .json ({"NAME": {"dtype", "shape", "data"}})')
      .option("--output <file>", "also write the outputs to a .npz, .json or .npy file (mode 0600)")
      .option("--receipt <file>", "ask for a signed receipt and save it, with the evidence, for 'sanctum receipt verify'"),
  ).action(async (ref: string, options: ClientOptionValues & { input: string; output?: string; receipt?: string }) => {
    // Read the local file first: a bad file fails before any connection is made.
    const contents = await readTensorFile(options.input);
    await withClient(options, async (client) => {
      let inputs: TensorMap;
      if (contents.format === "npy") {
        const info = await client.models.get(ref);
        if (info.inputs.length !== 1) {
          throw new CliError(
            `'${options.input}' is a .npy file, which holds one unnamed array, but model '${ref}' takes ${info.inputs.length} inputs (${info.inputs.map((i) => i.name).join(", ")}): use a .npz or .json file naming each input`,
          );
        }
        inputs = { [info.inputs[0]!.name]: contents.tensor };
      } else {
        inputs = contents.tensors;
      }
      const result = await client.models.predict(ref, inputs, { receipt: options.receipt !== undefined });
      if (options.output !== undefined) await writeTensorFile(options.output, result.outputs);
      if (options.receipt !== undefined && result.receipt !== undefined) {
        try {
          await writeFile(options.receipt, encodeReceiptFile(result.receipt), { mode: 0o600 });
        } catch (cause) {
          throw new CliError(`cannot write receipt to '${options.receipt}': ${(cause as NodeJS.ErrnoException).code ?? "error"}`, { cause });
        }
      }
      if (options.json === true) return printJson({ outputs: encodeJsonTensors(result.outputs) });
      for (const [name, tensor] of Object.entries(result.outputs)) process.stdout.write(`${name} ${describe(tensor)} ${formatTensor(tensor)}\n`);
      if (options.output !== undefined) process.stderr.write(`wrote outputs to ${options.output}\n`);
      if (options.receipt !== undefined) process.stderr.write(`wrote signed receipt to ${options.receipt} (check it with 'sanctum receipt verify ${options.receipt}')\n`);
    });
  });
}

function describe(tensor: TypedTensor): string {
  return `${tensor.dtype} [${tensor.shape.join(", ")}]`;
}
