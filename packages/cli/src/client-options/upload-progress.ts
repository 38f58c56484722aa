import { SingleBar } from "cli-progress";

/** A progress display for uploads; a no-op when disabled (no TTY, or --json). */
export interface UploadProgress {
  readonly update: (bytesSent: number, totalBytes: number) => void;
  stop(): void;
}

/** Options of {@link createUploadProgress}. */
export interface UploadProgressOptions {
  readonly totalBytes: number;
  /** Draw the bar; the caller passes `stderr.isTTY && !json`. */
  readonly enabled: boolean;
}

/** A cli-progress bar on stderr, in MiB. */
export function createUploadProgress(options: UploadProgressOptions): UploadProgress {
  if (!options.enabled) return { update: () => {}, stop: () => {} };
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  const bar = new SingleBar({
    format: "uploading [{bar}] {percentage}% {sentMiB}/{totalMiB} MiB",
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(options.totalBytes, 0, { sentMiB: 0, totalMiB: mib(options.totalBytes) });
  return {
    update: (sent, total) => bar.update(sent, { sentMiB: mib(sent), totalMiB: mib(total) }),
    stop: () => bar.stop(),
  };
}
