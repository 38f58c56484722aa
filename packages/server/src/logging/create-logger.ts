import pino, { type DestinationStream, type LevelWithSilentOrString, type Logger } from "pino";

/** Options of {@link createServerLogger}. */
export interface ServerLoggerOptions {
  readonly level: LevelWithSilentOrString;
  /** Default: stderr. */
  readonly destination?: DestinationStream | undefined;
  /** True on the simulation platform: every line then carries `insecure: true`. */
  readonly insecure: boolean;
}

/**
 * The server's pino logger. On an insecure platform a mixin stamps every line, so nobody can
 * read a log excerpt and mistake a development server for a protected one. Callers log ids,
 * sizes and codes only: never model bytes, tensors, tokens or keys.
 */
export function createServerLogger(options: ServerLoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level: options.level,
      base: { service: "sanctum-server" },
      ...(options.insecure ? { mixin: () => ({ insecure: true, platformWarning: "simulation: no TEE protection" }) } : {}),
      redact: { paths: ["token", "authorization", "*.authorization", "data", "*.data"], censor: "[redacted]" },
    },
    destination,
  );
}
