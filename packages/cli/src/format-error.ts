import { CliError } from "./cli-error.js";

/**
 * Turns any error into one actionable line. Errors of our packages carry a message written
 * for the user; anything else is unexpected, so its message is shown with a hint to report it.
 */
export function formatError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CliError) return { message: oneLine(err.message), exitCode: err.exitCode };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (err.name === "ConnectError" || typeof code === "string" || err instanceof RangeError || err instanceof TypeError) {
      return { message: oneLine(err.message), exitCode: 1 };
    }
    return { message: `unexpected failure: ${oneLine(err.message)} (please report this)`, exitCode: 1 };
  }
  return { message: `unexpected failure: ${String(err)}`, exitCode: 1 };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
