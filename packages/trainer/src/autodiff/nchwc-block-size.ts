import { create } from "@bufbuild/protobuf";
import * as ort from "onnxruntime-node";
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema } from "../onnx/gen/onnx_pb.js";
import { encodeModel } from "../onnx/model-io.js";
import { OnnxDataType } from "../onnx/tensor-data.js";
import { valueInfo } from "./model-analysis.js";
import { NCHWC_DOMAIN } from "./graph-builder.js";

/**
 * The channel block of onnxruntime's NCHWc kernels on this machine (MLAS picks it at run
 * time: 16 with AVX-512F, 8 with AVX2), or undefined where the runtime has no NCHWc kernels.
 * Found by running one `com.microsoft.nchwc.ReorderInput` of 4 channels: it pads the channels
 * to a whole block. Pass the result as {@link BuildTrainingGraphOptions.nchwcBlockSize}.
 */
export function detectNchwcBlockSize(): Promise<number | undefined> {
  // The hardware does not change while the process runs: probe once.
  return (probed ??= probe());
}

let probed: Promise<number | undefined> | undefined;

async function probe(): Promise<number | undefined> {
  const graph = create(GraphProtoSchema, {
    name: "nchwc_probe",
    node: [create(NodeProtoSchema, { opType: "ReorderInput", domain: NCHWC_DOMAIN, input: ["x"], output: ["y"], name: "probe" })],
    input: [valueInfo("x", OnnxDataType.FLOAT, [1, 4, 1, 1])],
    output: [valueInfo("y", OnnxDataType.FLOAT, [1, "c", 1, 1])],
  });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    graph,
    opsetImport: [
      create(OperatorSetIdProtoSchema, { domain: "", version: 17n }),
      create(OperatorSetIdProtoSchema, { domain: NCHWC_DOMAIN, version: 1n }),
    ],
  });
  try {
    const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, graphOptimizationLevel: "disabled" });
    try {
      const out = await session.run({ x: new ort.Tensor("float32", new Float32Array(4), [1, 4, 1, 1]) });
      const block = out.y?.dims[1] ?? 0;
      // A block of 4 or less means MLAS has no NCHWc kernels here (ReorderInput then returns the input's channels).
      return block >= 8 && (block & (block - 1)) === 0 ? block : undefined;
    } finally {
      await session.release();
    }
  } catch {
    return undefined;
  }
}
