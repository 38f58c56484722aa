/**
 * An error the CLI reports as one `error: ...` line on stderr. `exitCode` distinguishes
 * usage errors (2) from failures (1); verification failures that still print a result use 1.
 */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;

  constructor(message: string, options?: { exitCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options?.exitCode ?? 1;
  }
}
