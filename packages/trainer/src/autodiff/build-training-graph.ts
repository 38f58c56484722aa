import { clone, create } from "@bufbuild/protobuf";
import { GraphProtoSchema, ModelProtoSchema, type NodeProto, NodeProtoSchema, OperatorSetIdProtoSchema, type TensorProto } from "../onnx/gen/onnx_pb.js";
import { decodeModel, defaultOpsetVersion, encodeModel } from "../onnx/model-io.js";
import { OnnxDataType, tensorDims, tensorToNumbers } from "../onnx/tensor-data.js";
import { TrainerError } from "../trainer-error.js";
import { type DataInput, resolveDataInputs } from "./data-inputs.js";
import { type ForwardGraph, GradientMap, type ParameterUse, backwardPass, parameterGradients, perSampleNorms } from "./gradient-passes.js";
import { GraphBuilder, NCHWC_DOMAIN } from "./graph-builder.js";
import { type LossName, emitLoss, lossNames } from "./losses.js";
import { ancestorsOf, dependencies, valueInfo } from "./model-analysis.js";
import { separableMaxPool } from "./max-pool-grad.js";
import { lowerToNchwc } from "./nchwc-lowering.js";
import { checkParameterViews } from "./parameter-views.js";
import { checkSampleIndependence } from "./sample-independence.js";
import type { PerSampleUse } from "./per-sample-norms.js";
import { blockMatMulRows } from "./row-blocked-matmul.js";
import { inferShapes } from "./shape-inference.js";
import { trimUnreadBorders } from "./trim-unread-borders.js";
import { BATCH, dimOf, staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";
import { nonDifferentiableOps, vjpRules } from "./vjp-rules.js";

/** A trainable parameter (float32). */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Options of {@link buildTrainingGraph}. */
export interface BuildTrainingGraphOptions {
  readonly loss: LossName;
  /** "dp": per-sample norms and clipped sums; "non-private": plain summed gradients. */
  readonly mode: "dp" | "non-private";
  /** Initializer names or name prefixes to freeze; default none (all float initializers train). */
  readonly frozen?: readonly string[];
  /** Which model output the loss is applied to; default the first output. */
  readonly output?: string;
  /**
   * Sizes of the non-batch axes of data inputs, by input name (e.g. `{ input_ids: [64] }`),
   * for models exported with dynamic axes other than the batch (a sequence length). The
   * training graph is specialized to them; default: the model's own static sizes.
   */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /**
   * The one number of rows every run will feed (the trainer's fixed physical batch size): lets
   * the graph block large matrix products for the cache (row-blocked-matmul.ts). The graph then
   * refuses other batch sizes; default: any batch size.
   */
  readonly physicalBatchSize?: number;
  /**
   * NCHWc channel block of the onnxruntime that will run the graph (`detectNchwcBlockSize()`:
   * 16 with AVX-512F, 8 with AVX2). When given, the forward's convolutions and max pools run on
   * onnxruntime's NCHWc kernels (`nchwc-lowering.ts`), about 2x faster than the im2col path a
   * graph with runtime weights gets otherwise; the graph then only runs on a machine with the
   * same block size. Default: plain ONNX convolutions (portable).
   */
  readonly nchwcBlockSize?: number;
}

/** One training step as an ONNX model; see {@link buildTrainingGraph}. */
export interface TrainingGraph {
  /** Serialized ONNX model of one training step, runnable by onnxruntime-node. */
  readonly model: Uint8Array;
  /** Trainable parameters, in a stable order. Each is a graph INPUT named exactly as the initializer. */
  readonly params: readonly ParamSpec[];
  /** The original model's data inputs (names, dtypes, shapes with "batch" first axis). */
  readonly dataInputs: readonly DataInput[];
  /** The NCHWc block the graph's convolutions and pools were lowered to; undefined when none was (portable graph). */
  readonly nchwcBlockSize?: number;
}

const RESERVED = ["losses", "logits", "labels", "sample_mask", "max_grad_norm", "per_sample_grad_norms"];

/**
 * Builds one training step of an ONNX model (as PyTorch exports it, opset 13 or later) as a
 * single ONNX graph: forward, per-sample losses, one backward pass, and either the plain
 * summed gradients ("non-private") or, for DP-SGD, per-sample gradient norms by book-keeping
 * (Bu et al. 2022) and ghost norms (Li et al. 2021) and the sums of per-sample gradients
 * clipped to `max_grad_norm` (clip factor min(1, C / (norm + 1e-6)) as in Opacus). No
 * per-sample copy of the weights is ever made.
 *
 * Inputs: the model's data inputs, each trainable parameter (named as its initializer),
 * "labels" (int64 [B] for cross_entropy, float32 like the output otherwise), "sample_mask"
 * float32 [B] and in dp mode "max_grad_norm" float32 []. Outputs: "losses" [B] (0 where
 * masked), "logits", in dp mode "per_sample_grad_norms" [B], and "grad:<param>" for each
 * parameter. Throws TrainerError "unsupported-op" naming the op types and nodes it cannot
 * differentiate, "batchnorm" for BatchNormalization.
 */
export function buildTrainingGraph(model: Uint8Array, options: BuildTrainingGraphOptions): TrainingGraph {
  if (!lossNames.includes(options.loss)) {
    throw new TrainerError("invalid-argument", `options.loss must be one of ${lossNames.join(", ")}; got "${String(options.loss)}"`);
  }
  if (options.mode !== "dp" && options.mode !== "non-private") {
    throw new TrainerError("invalid-argument", `options.mode must be "dp" or "non-private"; got "${String(options.mode)}"`);
  }
  const dp = options.mode === "dp";
  const block = options.nchwcBlockSize;
  if (block !== undefined && !(Number.isInteger(block) && block >= 4 && block <= 64 && (block & (block - 1)) === 0)) {
    throw new TrainerError("invalid-argument", `options.nchwcBlockSize must be a power of two from 4 to 64 (what detectNchwcBlockSize() returns); got ${String(block)}`);
  }
  const m = clone(ModelProtoSchema, decodeModel(model));
  const graph = m.graph ?? create(GraphProtoSchema);
  const opset = defaultOpsetVersion(m);
  if (opset < 13) {
    throw new TrainerError("invalid-model", `the model uses ONNX opset ${opset}; export it with opset_version between 13 and 17`);
  }
  const batchNorms = graph.node.filter((n) => n.opType === "BatchNormalization");
  if (batchNorms.length > 0) {
    throw new TrainerError("batchnorm", `BatchNormalization (${batchNorms.map((n) => `"${n.name}"`).join(", ")}) mixes the samples of a batch, which breaks per-sample gradient clipping; use GroupNorm or LayerNorm instead`);
  }
  const initNames = new Set(graph.initializer.map((t) => t.name));
  const frozen = options.frozen ?? [];
  const trainable = graph.initializer.filter((t) => t.dataType === OnnxDataType.FLOAT && !frozen.some((f) => t.name === f || t.name.startsWith(f)));
  const trainableNames = new Set(trainable.map((t) => t.name));
  const dataInputs = graph.input.filter((i) => !initNames.has(i.name));
  const outputName = options.output ?? graph.output[0]?.name ?? "";
  if (!graph.output.some((o) => o.name === outputName)) {
    throw new TrainerError("invalid-argument", `options.output: "${outputName}" is not an output of the model (outputs: ${graph.output.map((o) => o.name).join(", ")})`);
  }

  const taken = new Set<string>([...initNames, ...graph.input.map((i) => i.name), ...graph.node.flatMap((n) => [...n.output, ...n.input])]);
  for (const r of RESERVED) {
    if (taken.has(r) && !(r === "logits" && r === outputName)) throw new TrainerError("invalid-model", `the model already uses the name "${r}", which the training graph reserves; rename it on export`);
  }
  const builder = new GraphBuilder(Math.max(opset, 17), taken);
  builder.nchwcBlock = block;
  const forward = ancestorsOf(graph, [outputName]);
  addAuxiliaryOutputs(forward, builder);
  for (const n of forward) {
    for (const o of n.output) builder.forwardProducer.set(o, n);
    for (const i of n.input) builder.forwardReaders.set(i, (builder.forwardReaders.get(i) ?? 0) + 1);
  }
  builder.forwardReaders.set(outputName, (builder.forwardReaders.get(outputName) ?? 0) + 1);

  const data = resolveDataInputs(dataInputs, options.inputShapes ?? {});
  const known = new Map<string, TensorInfo>(data.infos);
  for (const t of graph.initializer) known.set(t.name, initializerInfo(t, trainableNames.has(t.name)));
  const fwdGraph = create(GraphProtoSchema, { node: forward });
  let infos = inferShapes(fwdGraph, opset, known);
  // Each trim can leave a Conv further up reading fewer rows in turn: to a fixpoint.
  for (let round = 0; round < 8 && trimUnreadBorders(forward, infos, new Set([outputName])); round++) infos = inferShapes(fwdGraph, opset, known);
  const info = (name: string): TensorInfo => infos.get(name) ?? { dtype: 0, shape: undefined };
  const deps = dependencies(forward, dataInputs.map((d) => d.name), [...trainableNames], infos);
  const isAct = (n: string): boolean => deps.param.has(n) && deps.data.has(n);
  const isView = (n: string): boolean => deps.param.has(n) && !deps.data.has(n);

  refuseUnsupported(forward, deps.param);
  if (dp) {
    checkParameterViews(forward, trainableNames, isView, infos);
    checkSampleIndependence(forward, isAct, infos, opset);
  }

  const fwd: ForwardGraph = { nodes: forward, info, isActivation: isAct, isParameterView: isView, ...(options.physicalBatchSize === undefined ? {} : { batchSize: options.physicalBatchSize }) };
  const lossParts = emitLoss(builder, options.loss, outputName, info(outputName), "labels", "sample_mask");
  const grads = new GradientMap(builder);
  grads.add(outputName, lossParts.gradOutput);
  const uses = backwardPass(builder, fwd, grads);
  const outputs: { name: string; value: string; dtype: number; dims: (number | string)[] }[] = [];
  let clip: { factor: string; perUse: Map<ParameterUse, PerSampleUse> } | undefined;
  if (dp) {
    const r = perSampleNorms(builder, fwd, uses, "sample_mask", "max_grad_norm");
    clip = { factor: r.clip, perUse: r.perUse };
    outputs.push({ name: "per_sample_grad_norms", value: r.norms, dtype: OnnxDataType.FLOAT, dims: ["batch"] });
  }
  const pgrads = parameterGradients(builder, fwd, uses, clip);
  const params = trainable.map((t) => ({ name: t.name, shape: tensorDims(t) }));
  builder.scope = "outputs";
  for (const p of params) {
    const g = pgrads.total(p.name) ?? builder.zeros(p.shape);
    outputs.push({ name: `grad:${p.name}`, value: g, dtype: OnnxDataType.FLOAT, dims: p.shape });
  }

  // Assemble.
  const finals: NodeProto[] = [];
  const outInfo = info(outputName);
  const logitsDims = (outInfo.shape ?? []).map((d, i) => (i === 0 ? "batch" : (staticDim(d) ?? `d${i}`)));
  const named = [
    { name: "losses", value: lossParts.losses, dtype: OnnxDataType.FLOAT, dims: ["batch"] as (number | string)[] },
    { name: "logits", value: outputName, dtype: outInfo.dtype || OnnxDataType.FLOAT, dims: logitsDims },
    ...outputs,
  ];
  for (const o of named) {
    if (o.name !== o.value) finals.push(create(NodeProtoSchema, { opType: "Identity", input: [o.value], output: [o.name], name: builder.fresh(`out_${o.name}`) }));
  }
  const inputs = [
    ...data.valueInfos,
    ...params.map((p) => valueInfo(p.name, OnnxDataType.FLOAT, p.shape)),
    valueInfo("labels", lossParts.labels.dtype, lossParts.labels.shape),
    valueInfo("sample_mask", OnnxDataType.FLOAT, ["batch"]),
    ...(dp ? [valueInfo("max_grad_norm", OnnxDataType.FLOAT, [])] : []),
  ];
  let allNodes = [...forward, ...builder.nodes, ...finals];
  if (options.physicalBatchSize !== undefined) {
    const constants = new Map(known);
    for (const t of builder.initializers) constants.set(t.name, initializerInfo(t, false));
    constants.set("labels", { dtype: lossParts.labels.dtype, shape: lossParts.labels.shape.map((d) => (d === "batch" ? BATCH : dimOf(Number(d)))) });
    constants.set("sample_mask", { dtype: OnnxDataType.FLOAT, shape: [BATCH] });
    constants.set("max_grad_norm", { dtype: OnnxDataType.FLOAT, shape: [] });
    const all = inferShapes(create(GraphProtoSchema, { node: allNodes }), builder.opset, constants);
    allNodes = blockMatMulRows(allNodes, all, options.physicalBatchSize, builder);
  }
  builder.scope = "nchwc";
  const graphOutputs = new Set(named.map((o) => o.name));
  const initializers = new Map([...graph.initializer, ...builder.initializers].map((t) => [t.name, t]));
  const isScalarConstant = (name: string): boolean => {
    const t = initializers.get(name);
    return t !== undefined && !trainableNames.has(name) && tensorDims(t).reduce((a, c) => a * c, 1) === 1;
  };
  const nodes = block === undefined ? allNodes : lowerToNchwc(builder, allNodes, info, graphOutputs, block, isScalarConstant);
  // Constants of nodes the NCHWc lowering dropped would make onnxruntime warn.
  const used = new Set(nodes.flatMap((n) => n.input));
  const newGraph = create(GraphProtoSchema, {
    name: `${graph.name || "model"}_training_step`,
    node: nodes,
    initializer: [...graph.initializer.filter((t) => !trainableNames.has(t.name)), ...builder.initializers.filter((t) => used.has(t.name))],
    input: inputs,
    output: named.map((o) => valueInfo(o.name, o.dtype, o.dims)),
  });
  m.graph = newGraph;
  m.irVersion = m.irVersion < 8n ? 8n : m.irVersion;
  m.opsetImport = [
    ...m.opsetImport.filter((o) => o.domain !== "" && o.domain !== "ai.onnx"),
    create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(builder.opset) }),
    ...(nodes.some((n) => n.domain === NCHWC_DOMAIN) && !m.opsetImport.some((o) => o.domain === NCHWC_DOMAIN) ? [create(OperatorSetIdProtoSchema, { domain: NCHWC_DOMAIN, version: 1n })] : []),
  ];
  const lowered = block !== undefined && nodes.some((n) => n.domain === NCHWC_DOMAIN);
  return { model: encodeModel(m), params, dataInputs: data.described, ...(lowered ? { nchwcBlockSize: block } : {}) };
}

/** What shape inference knows of an initializer: its shape, and its values when small and constant. */
function initializerInfo(t: TensorProto, trainable: boolean): TensorInfo {
  const dims = tensorDims(t);
  const n = dims.reduce((a, c) => a * c, 1);
  const small = !trainable && n <= 64 && t.dataType !== OnnxDataType.STRING;
  return { dtype: t.dataType, shape: dims.map(dimOf), ...(small ? { value: tensorToNumbers(t).map(dimOf) } : {}) };
}

function refuseUnsupported(nodes: readonly NodeProto[], paramDependent: ReadonlySet<string>): void {
  const bad = nodes.filter((n) => n.output.some((o) => paramDependent.has(o)) && (!(n.domain === "" || n.domain === "ai.onnx") || (!vjpRules.has(n.opType) && !nonDifferentiableOps.has(n.opType))));
  if (bad.length === 0) return;
  const types = [...new Set(bad.map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType)))];
  throw new TrainerError("unsupported-op", `cannot differentiate op type(s) ${types.join(", ")} (node(s) ${bad.map((n) => `"${n.name || n.output[0]}"`).join(", ")}); rewrite the model with supported layers (Linear, Conv, Embedding, LayerNorm, GroupNorm, attention, elementwise activations)`);
}

/**
 * Gives Dropout, MaxPool and LayerNormalization the optional outputs their gradients reuse
 * (not stride-1 MaxPools: their gradient needs no Indices, which are slow to compute).
 */
function addAuxiliaryOutputs(nodes: readonly NodeProto[], b: GraphBuilder): void {
  for (const n of nodes) {
    const need = n.opType === "Dropout" || (n.opType === "MaxPool" && !separableMaxPool(n)) ? 2 : n.opType === "LayerNormalization" ? 3 : 0;
    while (n.output.length < need) n.output.push("");
    for (let i = 1; i < need; i++) if (n.output[i] === "") n.output[i] = b.fresh(`${n.opType}_aux`);
  }
}

