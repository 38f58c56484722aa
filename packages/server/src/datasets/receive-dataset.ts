import type { UploadDatasetHeader, UploadDatasetRequest } from "@sanctum/protocol";
import { receiveChunked } from "../rpc/receive-chunked.js";

/**
 * Reads a dataset upload stream: a header, then chunks of at most 1 MiB, the size limit
 * enforced on bytes received (see receiveChunked). `onHeader` runs as soon as the header
 * arrived (name taken, policy valid), before megabytes flow.
 */
export async function receiveDataset(
  requests: AsyncIterable<UploadDatasetRequest>,
  options: { readonly maxDatasetBytes: number; readonly onHeader: (header: UploadDatasetHeader) => void },
): Promise<{ header: UploadDatasetHeader; bytes: Buffer }> {
  const { head, bytes } = await receiveChunked(requests, {
    headCase: "header",
    what: "dataset upload",
    headHint: "the header (name, budget, policy)",
    maxBytes: options.maxDatasetBytes,
    tooLarge: `dataset is larger than this server's limit of ${options.maxDatasetBytes} bytes (as safetensors): split it, or ask the operator to raise it (--max-dataset-bytes)`,
    empty: "dataset upload: no dataset bytes were sent",
    onHead: options.onHeader,
  });
  return { header: head, bytes };
}
