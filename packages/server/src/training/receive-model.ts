import type { StartTrainingRequest, TrainingConfig } from "@sanctum/protocol";
import { modelTooLarge } from "../models/receive-upload.js";
import { receiveChunked } from "../rpc/receive-chunked.js";

/**
 * Reads a StartTraining stream: the config, then the ONNX model in chunks of at most 1 MiB,
 * the size limit enforced on bytes received (see receiveChunked). `onConfig` runs as soon as
 * the config arrived, so a refused run (unknown dataset, stranger, bad option) fails before
 * the model flows.
 */
export async function receiveTrainingModel(
  requests: AsyncIterable<StartTrainingRequest>,
  options: { readonly maxModelBytes: number; readonly onConfig: (config: TrainingConfig) => void },
): Promise<{ config: TrainingConfig; model: Buffer }> {
  const { head, bytes } = await receiveChunked(requests, {
    headCase: "config",
    what: "start training",
    headHint: "the config",
    maxBytes: options.maxModelBytes,
    tooLarge: modelTooLarge(options.maxModelBytes),
    empty: "start training: no model bytes were sent",
    onHead: options.onConfig,
  });
  return { config: head, model: bytes };
}
