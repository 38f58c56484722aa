import { MAX_CHUNK_BYTES } from "../models/upload-limits.js";
import { ServerError } from "../server-error.js";

/** A message of a client stream that sends one head message (header or config), then chunks. */
export type ChunkedMessage<K extends "header" | "config", H> = {
  readonly part: { readonly case: K; readonly value: H } | { readonly case: "chunk"; readonly value: Uint8Array } | { readonly case: undefined; readonly value?: undefined };
};

/** Options of {@link receiveChunked}; the texts make its error messages. */
export interface ReceiveChunkedOptions<K extends "header" | "config", H> {
  /** The oneof case of the head message ("header", "config"). */
  readonly headCase: K;
  /** Prefix of every message ("upload", "dataset upload"). */
  readonly what: string;
  /** What the head carries, for "the first message must be ..." (e.g. "the header (name, access)"). */
  readonly headHint: string;
  /** Largest payload accepted, counted on bytes received. */
  readonly maxBytes: number;
  /** Message of the `resource-exhausted` error when the payload passes `maxBytes`. */
  readonly tooLarge: string;
  /** Message of the error for a stream with no payload bytes. */
  readonly empty: string;
  /** Runs as soon as the head arrived, so a refused call fails before megabytes flow. */
  readonly onHead: (head: H) => void;
}

/**
 * Reads a client stream: the head message first, then chunks of at most 1 MiB. The size
 * limit is enforced on bytes actually received, failing as soon as it is passed (DESIGN.md,
 * wire protocol); nothing is written anywhere while receiving, so a stream that fails or is
 * cut leaves nothing behind, and the received chunks are zeroed whatever happens (they hold
 * plaintext). The caller zeroes the returned payload when done with it.
 */
export async function receiveChunked<K extends "header" | "config", H>(
  requests: AsyncIterable<ChunkedMessage<K, H>>,
  options: ReceiveChunkedOptions<K, H>,
): Promise<{ head: H; bytes: Buffer }> {
  const { what, headCase } = options;
  let head: H | undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const message of requests) {
      const part = message.part;
      if (part.case === "chunk") {
        // A generic oneof case does not narrow: "chunk" is never K, so the value is the chunk.
        const chunk = part.value as Uint8Array;
        if (head === undefined) throw new ServerError("invalid-argument", `${what}: the first message must be ${options.headHint}`);
        if (chunk.byteLength > MAX_CHUNK_BYTES) {
          throw new ServerError("invalid-argument", `${what}: a chunk is ${chunk.byteLength} bytes; chunks must be at most ${MAX_CHUNK_BYTES} bytes`);
        }
        received += chunk.byteLength;
        if (received > options.maxBytes) throw new ServerError("resource-exhausted", options.tooLarge);
        chunks.push(chunk);
      } else if (part.case === headCase) {
        if (head !== undefined) throw new ServerError("invalid-argument", `${what}: the ${headCase} was sent twice; send it once, first`);
        head = part.value as H;
        options.onHead(head);
      } else {
        throw new ServerError("invalid-argument", `${what}: a message carries neither ${headCase} nor chunk`);
      }
    }
    if (head === undefined) throw new ServerError("invalid-argument", `${what}: the stream ended before the ${headCase}`);
    if (received === 0) throw new ServerError("invalid-argument", options.empty);
    return { head, bytes: Buffer.concat(chunks, received) };
  } finally {
    for (const c of chunks) c.fill(0);
  }
}
