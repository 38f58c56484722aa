import { create } from "@bufbuild/protobuf";
import { GraphProtoSchema } from "../onnx/gen/onnx_pb.js";
import { attr } from "./attributes.js";
import { GraphBuilder } from "./graph-builder.js";
import { valueInfo } from "./model-analysis.js";

/**
 * Row-wise elementwise chains run by chunks of rows in a Scan.
 *
 * onnxruntime runs a graph node by node, each over its whole tensor, so a chain of k
 * elementwise nodes over a tensor larger than the caches moves it through memory k times. In a
 * Scan over chunks of rows the chain's intermediate chunks stay in cache (Scan hands its body
 * views of the input chunks and writes each output chunk once). Measured: transformer2's GELU
 * backward ([16384, 512], 8 nodes; 428 -> 405 ms for the non-private step) and fmnist_cnn's
 * max-pool backward ([256, 3136], 10 nodes; 1-2 % of the step, its 3.2 MB already in L3 and
 * the Scan's own overhead about a quarter of the node's time).
 */

/** Floats per chunk: the chain's few live chunks of at most 512 KiB stay in L2. */
const CHUNK_FLOATS = 1 << 17;
/** Scan iterations cost some microseconds each: at most this many. */
const MAX_CHUNKS = 128;

/**
 * How many chunks of whole rows to run a chain over [rows, width] in, or undefined to run it
 * whole (too small to gain, or rows with no divisor that fits).
 */
export function scanChunks(rows: number, width: number): number | undefined {
  if (rows * width < 2 * CHUNK_FLOATS) return undefined;
  let per = Math.max(1, Math.floor(CHUNK_FLOATS / width), Math.ceil(rows / MAX_CHUNKS));
  while (rows % per !== 0) per++;
  const chunks = rows / per;
  return chunks >= 2 ? chunks : undefined;
}

/**
 * `chain` applied to `inputs` (each [rows, widths[i]], row-major), by `chunks` chunks of rows
 * in one Scan. `chain` emits its nodes with the builder it is given (the body's own, whose
 * fresh names stay unique in the whole model) and returns its [rows', width] output of the
 * chunk's rows; the result is the chunks' outputs stacked, [chunks, rows / chunks, width].
 */
export function scanRows(b: GraphBuilder, inputs: readonly string[], rows: number, widths: readonly number[], width: number, chunks: number, chain: (body: GraphBuilder, chunkInputs: readonly string[]) => string): string {
  const per = rows / chunks;
  const body = new GraphBuilder(b.opset, b.taken);
  body.nchwcBlock = b.nchwcBlock;
  const names = inputs.map(() => body.fresh("chunk"));
  const out = chain(body, names);
  const graph = create(GraphProtoSchema, {
    name: b.fresh("row_chunk"),
    node: body.nodes,
    initializer: body.initializers,
    input: names.map((name, i) => valueInfo(name, 1, [per, widths[i] ?? 0])),
    output: [valueInfo(out, 1, [per, width])],
  });
  const chunked = inputs.map((t, i) => b.reshape(t, [chunks, per, widths[i] ?? 0]));
  const [result = ""] = b.op("Scan", chunked, [attr.graph("body", graph), attr.int("num_scan_inputs", inputs.length)], 1);
  return result;
}
