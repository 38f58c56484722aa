import type { UploadModelHeader, UploadModelRequest } from "@sanctum/protocol";
import { receiveChunked } from "../rpc/receive-chunked.js";

/** An upload stream read to its end: the header and the bytes. */
export interface ReceivedUpload {
  readonly header: UploadModelHeader;
  readonly bytes: Buffer;
}

/** The refusal of an ONNX model over --max-model-bytes, whichever stream (upload, start training) carries it. */
export function modelTooLarge(maxModelBytes: number): string {
  return `model is larger than this server's limit of ${maxModelBytes} bytes (--max-model-bytes): ask the operator to raise it`;
}

/**
 * Reads a model upload stream: first a header, then chunks of at most 1 MiB, the size limit
 * enforced on bytes received (see receiveChunked). `onHeader` runs as soon as the header
 * arrived (early checks: name taken, access valid).
 */
export async function receiveUpload(
  requests: AsyncIterable<UploadModelRequest>,
  options: { readonly maxModelBytes: number; readonly onHeader: (header: UploadModelHeader) => void },
): Promise<ReceivedUpload> {
  const { head, bytes } = await receiveChunked(requests, {
    headCase: "header",
    what: "upload",
    headHint: "the header (name, access)",
    maxBytes: options.maxModelBytes,
    tooLarge: modelTooLarge(options.maxModelBytes),
    empty: "upload: no model bytes were sent: the file is empty",
    onHead: options.onHeader,
  });
  return { header: head, bytes };
}
