import type { Command } from "commander";
import { createSanctumServer } from "@sanctum/server";
import { CliError } from "../cli-error.js";

interface ServerFlags {
  host: string;
  port: string;
  dataDir: string;
  platform: string;
  maxModelBytes?: string;
  maxRequestBytes?: string;
  maxDatasetBytes?: string;
  maxTrainingRuns?: string;
  attestationCerts?: string;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Registers `sanctum server`: runs the confidential inference server until SIGINT or SIGTERM. */
export function registerServer(program: Command): void {
  program
    .command("server")
    .description(
      "run the Sanctum server (prints 'listening on https://HOST:PORT' once ready; SIGINT/SIGTERM stop it cleanly; logs on stderr, level from env SANCTUM_LOG_LEVEL, default info)",
    )
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "TCP port (0 picks a free one)", "9443")
    .option("--data-dir <dir>", "where sealed models and metadata live", "./sanctum-data")
    .option("--platform <platform>", "simulation (development, no protection) or auto (SEV-SNP or TDX)", "auto")
    .option("--max-model-bytes <n>", "largest model accepted, in bytes received (default 536870912 = 512 MiB)")
    .option("--max-request-bytes <n>", "largest predict request, in bytes received (default 67108864 = 64 MiB)")
    .option("--max-dataset-bytes <n>", "largest dataset upload, in bytes received as safetensors (default 1073741824 = 1 GiB)")
    .option("--max-training-runs <n>", "training runs at once, each on a core (default 2)")
    .option("--attestation-certs <dir>", "folder of platform certificates / collateral served with the evidence")
    .action(async (flags: ServerFlags) => {
      if (flags.platform !== "simulation" && flags.platform !== "auto") {
        throw new CliError(`--platform must be simulation or auto, got ${JSON.stringify(flags.platform)}`, { exitCode: 2 });
      }
      const logLevel = process.env["SANCTUM_LOG_LEVEL"] ?? "info";
      if (!LOG_LEVELS.includes(logLevel)) {
        throw new CliError(`SANCTUM_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(logLevel)}`, { exitCode: 2 });
      }
      const server = await createSanctumServer({
        logLevel,
        host: flags.host,
        port: integerFlag("--port", flags.port, 0, 65535),
        dataDir: flags.dataDir,
        platform: flags.platform,
        ...(flags.maxModelBytes === undefined ? {} : { maxModelBytes: integerFlag("--max-model-bytes", flags.maxModelBytes, 1, 2 ** 31 - 1) }),
        ...(flags.maxRequestBytes === undefined
          ? {}
          : { maxRequestBytes: integerFlag("--max-request-bytes", flags.maxRequestBytes, 1024, 2 ** 31 - 1) }),
        ...(flags.maxDatasetBytes === undefined ? {} : { maxDatasetBytes: integerFlag("--max-dataset-bytes", flags.maxDatasetBytes, 2 ** 20, 2 ** 36) }),
        ...(flags.maxTrainingRuns === undefined ? {} : { maxTrainingRuns: integerFlag("--max-training-runs", flags.maxTrainingRuns, 1, 64) }),
        ...(flags.attestationCerts === undefined ? {} : { attestationCertsDir: flags.attestationCerts }),
      });
      if (server.platform === "simulation") {
        process.stderr.write("warning: simulation platform: no TEE protects this server; for development only\n");
      }
      process.stdout.write(`listening on ${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          process.stderr.write(`${signal}: stopping (finishing calls in flight)\n`);
          server.close().then(resolve, resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
        // `npx`/`npm exec` die on SIGTERM without passing it on, leaving us orphaned (re-parented):
        // treat the loss of the parent as SIGTERM, so stopping the wrapper stops the server.
        const parent = process.ppid;
        const watch = setInterval(() => {
          if (process.ppid !== parent) {
            clearInterval(watch);
            stop("SIGTERM");
          }
        }, 500);
        watch.unref();
      });
    });
}

function integerFlag(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliError(`${flag} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`, { exitCode: 2 });
  }
  return value;
}
