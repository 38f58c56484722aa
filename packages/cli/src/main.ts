import { Command, CommanderError } from "commander";
import { formatError } from "./format-error.js";
import { COMMANDS } from "./commands/index.js";

/**
 * Runs the `sanctum` CLI and returns the exit code. Every failure ends as one line on
 * stderr starting with `error:`, saying what was wrong and what to do.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("sanctum")
    .description("Sanctum: confidential inference and differentially private training inside a TEE")
    .version(SANCTUM_VERSION)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showHelpAfterError(false);
  for (const register of COMMANDS) register(program);
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      process.stderr.write(`error: ${err.message.replace(/^error: /, "")} (see 'sanctum --help')\n`);
      return 2;
    }
    const { message, exitCode } = formatError(err);
    process.stderr.write(`error: ${message}\n`);
    return exitCode;
  }
}

/** The version every component reports (server evidence, `--version`). */
export const SANCTUM_VERSION = "0.1.0";
