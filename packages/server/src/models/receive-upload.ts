import type { UploadModelHeader, UploadModelRequest } from "@sanctum/protocol";
import { ServerError } from "../server-error.js";
import { MAX_CHUNK_BYTES } from "./upload-limits.js";

/** An upload stream read to its end: the header and the bytes. */
export interface ReceivedUpload {
  readonly header: UploadModelHeader;
  readonly bytes: Buffer;
}

/**
 * Reads an upload stream: first a header, then chunks of at most 1 MiB. The size limit is
 * enforced on bytes actually received, failing as soon as it is passed; nothing is written
 * anywhere while receiving, so a stream that fails or is cut leaves nothing behind.
 * `onHeader` runs as soon as the header arrived (early checks: name taken, access valid).
 */
export async function receiveUpload(
  requests: AsyncIterable<UploadModelRequest>,
  options: { readonly maxModelBytes: number; readonly onHeader: (header: UploadModelHeader) => void },
): Promise<ReceivedUpload> {
  let header: UploadModelHeader | undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const message of requests) {
    const part = message.part;
    if (part.case === "header") {
      if (header !== undefined) throw new ServerError("invalid-argument", "upload: the header was sent twice; send it once, first");
      header = part.value;
      options.onHeader(header);
    } else if (part.case === "chunk") {
      if (header === undefined) throw new ServerError("invalid-argument", "upload: the first message must be the header (name, access)");
      if (part.value.byteLength > MAX_CHUNK_BYTES) {
        throw new ServerError("invalid-argument", `upload: a chunk is ${part.value.byteLength} bytes; chunks must be at most ${MAX_CHUNK_BYTES} bytes`);
      }
      received += part.value.byteLength;
      if (received > options.maxModelBytes) {
        throw new ServerError(
          "resource-exhausted",
          `model is larger than this server's limit of ${options.maxModelBytes} bytes (--max-model-bytes): ask the operator to raise it`,
        );
      }
      chunks.push(part.value);
    } else {
      throw new ServerError("invalid-argument", "upload: a message carries neither header nor chunk");
    }
  }
  if (header === undefined) throw new ServerError("invalid-argument", "upload: the stream ended before the header");
  if (received === 0) throw new ServerError("invalid-argument", "upload: no model bytes were sent: the file is empty");
  const bytes = Buffer.concat(chunks, received);
  return { header, bytes };
}
