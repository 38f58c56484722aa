import { create } from "@bufbuild/protobuf";
import { type AttributeProto, type NodeProto, NodeProtoSchema } from "../onnx/gen/onnx_pb.js";
import { attr } from "./attributes.js";
import type { GraphBuilder } from "./graph-builder.js";
import { dimAtBatch } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";

/** Rows per block: the block's output (rows x N floats) stays in the core's L2 cache. */
const BLOCK_ROWS = 1024;
/** MLAS packs B in K-slices of 128: past that, an unblocked product rereads its output. */
const MLAS_STRIDE_K = 128;

/**
 * MatMul(A [..., K], B [K, N]) with many rows and K > 128 is about 30 % slower in
 * onnxruntime's CPU GEMM when B is a graph input than when it is a constant: MLAS then walks
 * the whole output once per 128-wide slice of K, and an output of 16k rows leaves the cache
 * between walks (constant B is pre-packed whole). Blocking the rows (A as [c, R, K] against
 * B expanded to [c, K, N], a batched MatMul) keeps each block's output in cache: a
 * transformer's FFN products at batch 256 x 64 tokens went from 15 to 11 ms. Needs the rows
 * known, so only for graphs built for one physical batch size; returns the nodes with such
 * MatMuls replaced, their output names unchanged.
 */
export function blockMatMulRows(nodes: readonly NodeProto[], infos: ReadonlyMap<string, TensorInfo>, batch: number, b: GraphBuilder): NodeProto[] {
  const out: NodeProto[] = [];
  for (const node of nodes) {
    const plan = node.opType === "MatMul" && node.domain === "" ? blockPlan(node, infos, batch) : undefined;
    if (plan === undefined) {
      out.push(node);
      continue;
    }
    const [a, w] = node.input as [string, string];
    const { blocks, rows, k, n } = plan;
    const name = (hint: string): string => b.fresh(`${(node.name || "MatMul").replace(/^__ad\//, "")}/row_blocks/${hint}`);
    const a3 = name("A");
    const w3 = name("B");
    const y3 = name("Y");
    const lead = name("lead");
    const shape = name("shape");
    const mk = (opType: string, input: string[], output: string, attribute: AttributeProto[] = []): NodeProto => create(NodeProtoSchema, { opType, input, output: [output], name: name(opType), attribute });
    // The output shape is computed from A's at run time: a constant one would give onnxruntime
    // static shapes downstream, and with them fusions (MatMul + Add into Gemm) that run slower.
    out.push(
      mk("Reshape", [a, b.i64([blocks, rows / blocks, k])], a3),
      mk("Expand", [w, b.i64([blocks, k, n])], w3),
      mk("MatMul", [a3, w3], y3),
      mk("Shape", [a], lead, [attr.int("end", -1)]),
      mk("Concat", [lead, b.i64([n])], shape, [attr.int("axis", 0)]),
      mk("Reshape", [y3, shape], node.output[0]!),
    );
  }
  return out;
}

function blockPlan(node: NodeProto, infos: ReadonlyMap<string, TensorInfo>, batch: number): { blocks: number; rows: number; k: number; n: number } | undefined {
  const a = infos.get(node.input[0] ?? "")?.shape?.map((d) => dimAtBatch(d, batch));
  const w = infos.get(node.input[1] ?? "")?.shape?.map((d) => dimAtBatch(d, batch));
  if (a === undefined || w === undefined || w.length !== 2 || a.length < 2 || a.some((d) => d === undefined) || w.some((d) => d === undefined)) return undefined;
  const [k, n] = w as [number, number];
  const dims = a as number[];
  if (dims[dims.length - 1] !== k || k <= MLAS_STRIDE_K) return undefined;
  const rows = dims.slice(0, -1).reduce((p, c) => p * c, 1);
  if (rows < 4 * BLOCK_ROWS) return undefined;
  // The largest block of at most BLOCK_ROWS rows that divides them; tiny blocks cost more than they save.
  let r = BLOCK_ROWS;
  while (r > BLOCK_ROWS / 4 && rows % r !== 0) r--;
  if (rows % r !== 0) return undefined;
  return { blocks: rows / r, rows, k, n };
}
