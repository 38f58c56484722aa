import { computeGradients, type TrainingLoss } from "@sanctum/trainer";
import { Option, type Command } from "commander";
import { CliError } from "../cli-error.js";
import { parseNumber } from "../client-options/number-flag.js";
import { LOSS_CHOICES, readDataset, readInput } from "./train-local.js";

/** Registers `sanctum grads`. */
export function registerGrads(program: Command): void {
  program
    .command("grads")
    .description("per-sample losses, per-sample gradient norms and the clipped gradient sum of one batch (no noise)")
    .requiredOption("--model <file>", "ONNX model (PyTorch export, training mode)")
    .requiredOption("--data <file>", ".npz batch: one array per model input (named as the input) plus 'labels'")
    .addOption(new Option("--loss <name>", "loss applied to the model's first output").choices(LOSS_CHOICES).makeOptionMandatory())
    .option("--max-grad-norm <c>", "clipping norm C > 0; default 1")
    .option("--json", "print the result as JSON")
    .action(async (flags: { model: string; data: string; loss: TrainingLoss; maxGradNorm?: string; json?: boolean }) => {
      const maxGradNorm = flags.maxGradNorm === undefined ? 1 : parseNumber("--max-grad-norm", flags.maxGradNorm, { min: 0, exclusiveMin: true });
      const model = await readInput(flags.model, "--model");
      const batch = await readDataset(flags.data, "--data");
      const report = await computeGradients({ model, batch, loss: flags.loss, maxGradNorm }).catch((err: unknown) => {
        if ((err as { code?: unknown }).code === "invalid-dataset") throw new CliError(`--data ${flags.data}: ${(err as Error).message.replace(/^train data: /, "")}`, { cause: err });
        throw err;
      });
      const json = {
        losses: Array.from(report.losses),
        perSampleGradNorms: Array.from(report.perSampleGradNorms),
        clippedGradSumNorm: report.clippedGradSumNorm,
        params: Object.fromEntries(report.params.map((p) => [p.name, { shape: [...p.shape] }])),
      };
      if (flags.json === true) {
        process.stdout.write(JSON.stringify(json, null, 2) + "\n");
        return;
      }
      process.stdout.write("sample  loss        grad norm\n");
      report.losses.forEach((l, i) => process.stdout.write(`${String(i).padStart(6)}  ${l.toFixed(6).padEnd(10)}  ${report.perSampleGradNorms[i]!.toFixed(6)}\n`));
      process.stdout.write(`clipped gradient sum norm (C = ${maxGradNorm}): ${report.clippedGradSumNorm.toFixed(6)}\n`);
      process.stdout.write(`${report.params.length} parameters: ${report.params.map((p) => `${p.name} [${p.shape.join(", ")}]`).join(", ")}\n`);
    });
}
