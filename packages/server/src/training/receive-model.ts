import type { StartTrainingRequest, TrainingConfig } from "@sanctum/protocol";
import { MAX_CHUNK_BYTES } from "../models/upload-limits.js";
import { ServerError } from "../server-error.js";

/**
 * Reads a StartTraining stream: the config, then the ONNX model in chunks of at most 1 MiB,
 * the size limit enforced on bytes received. `onConfig` runs as soon as the config arrived,
 * so a refused run (unknown dataset, stranger, bad option) fails before the model flows.
 */
export async function receiveTrainingModel(
  requests: AsyncIterable<StartTrainingRequest>,
  options: { readonly maxModelBytes: number; readonly onConfig: (config: TrainingConfig) => void },
): Promise<{ config: TrainingConfig; model: Buffer }> {
  let config: TrainingConfig | undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const message of requests) {
    const part = message.part;
    if (part.case === "config") {
      if (config !== undefined) throw new ServerError("invalid-argument", "start training: the config was sent twice; send it once, first");
      config = part.value;
      options.onConfig(config);
    } else if (part.case === "chunk") {
      if (config === undefined) throw new ServerError("invalid-argument", "start training: the first message must be the config");
      if (part.value.byteLength > MAX_CHUNK_BYTES) throw new ServerError("invalid-argument", `start training: chunks must be at most ${MAX_CHUNK_BYTES} bytes`);
      received += part.value.byteLength;
      if (received > options.maxModelBytes) {
        throw new ServerError("resource-exhausted", `model is larger than this server's limit of ${options.maxModelBytes} bytes (--max-model-bytes): ask the operator to raise it`);
      }
      chunks.push(part.value);
    } else {
      throw new ServerError("invalid-argument", "start training: a message carries neither config nor chunk");
    }
  }
  if (config === undefined) throw new ServerError("invalid-argument", "start training: the stream ended before the config");
  if (received === 0) throw new ServerError("invalid-argument", "start training: no model bytes were sent");
  return { config, model: Buffer.concat(chunks, received) };
}
