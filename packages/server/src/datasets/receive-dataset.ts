import type { UploadDatasetHeader, UploadDatasetRequest } from "@sanctum/protocol";
import { MAX_CHUNK_BYTES } from "../models/upload-limits.js";
import { ServerError } from "../server-error.js";

/**
 * Reads a dataset upload stream: a header, then chunks of at most 1 MiB. The size limit is
 * enforced on bytes actually received, failing as soon as it is passed; nothing is written
 * while receiving, so a stream that fails or is cut leaves nothing behind. `onHeader` runs as
 * soon as the header arrived (name taken, policy valid), before megabytes flow.
 */
export async function receiveDataset(
  requests: AsyncIterable<UploadDatasetRequest>,
  options: { readonly maxDatasetBytes: number; readonly onHeader: (header: UploadDatasetHeader) => void },
): Promise<{ header: UploadDatasetHeader; bytes: Buffer }> {
  let header: UploadDatasetHeader | undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for await (const message of requests) {
      const part = message.part;
      if (part.case === "header") {
        if (header !== undefined) throw new ServerError("invalid-argument", "dataset upload: the header was sent twice; send it once, first");
        header = part.value;
        options.onHeader(header);
      } else if (part.case === "chunk") {
        if (header === undefined) throw new ServerError("invalid-argument", "dataset upload: the first message must be the header (name, budget, policy)");
        if (part.value.byteLength > MAX_CHUNK_BYTES) {
          throw new ServerError("invalid-argument", `dataset upload: a chunk is ${part.value.byteLength} bytes; chunks must be at most ${MAX_CHUNK_BYTES} bytes`);
        }
        received += part.value.byteLength;
        if (received > options.maxDatasetBytes) {
          throw new ServerError(
            "resource-exhausted",
            `dataset is larger than this server's limit of ${options.maxDatasetBytes} bytes (as safetensors): split it, or ask the operator to raise the limit`,
          );
        }
        chunks.push(part.value);
      } else {
        throw new ServerError("invalid-argument", "dataset upload: a message carries neither header nor chunk");
      }
    }
  } catch (err) {
    for (const c of chunks) c.fill(0);
    throw err;
  }
  if (header === undefined) throw new ServerError("invalid-argument", "dataset upload: the stream ended before the header");
  if (received === 0) throw new ServerError("invalid-argument", "dataset upload: no dataset bytes were sent");
  const bytes = Buffer.concat(chunks, received);
  for (const c of chunks) c.fill(0);
  return { header, bytes };
}
