import { clone, create } from "@bufbuild/protobuf";
import { GraphProtoSchema, ModelProtoSchema, type NodeProto, NodeProtoSchema, OperatorSetIdProtoSchema } from "../onnx/gen/onnx_pb.js";
import { decodeModel, defaultOpsetVersion, encodeModel } from "../onnx/model-io.js";
import { OnnxDataType, dtypeName, tensorDims, tensorToNumbers } from "../onnx/tensor-data.js";
import { TrainerError } from "../trainer-error.js";
import { GraphBuilder } from "./graph-builder.js";
import { type LossName, emitLoss, lossNames } from "./losses.js";
import { ancestorsOf, dependencies, isDifferentiableInput, valueInfo } from "./model-analysis.js";
import { checkParameterViews } from "./parameter-views.js";
import { perSampleUse } from "./per-sample-norms.js";
import { scaleByBatch } from "./batch-layout.js";
import { inferShapes } from "./shape-inference.js";
import { BATCH, type Dim, dimOf, staticDim } from "./sym-dim.js";
import type { TensorInfo } from "./tensor-info.js";
import type { VjpContext } from "./vjp-context.js";
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
}

/** One training step as an ONNX model; see {@link buildTrainingGraph}. */
export interface TrainingGraph {
  /** Serialized ONNX model of one training step, runnable by onnxruntime-node. */
  readonly model: Uint8Array;
  /** Trainable parameters, in a stable order. Each is a graph INPUT named exactly as the initializer. */
  readonly params: readonly ParamSpec[];
  /** The original model's data inputs (names, dtypes, shapes with "batch" first axis). */
  readonly dataInputs: readonly { name: string; dtype: string; shape: readonly (number | string)[] }[];
}

const RESERVED = ["losses", "logits", "labels", "sample_mask", "max_grad_norm", "per_sample_grad_norms"];
/** Opacus' clip factor: min(1, C / (norm + 1e-6)). */
const CLIP_EPSILON = 1e-6;

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
  const forward = ancestorsOf(graph, [outputName]);
  addAuxiliaryOutputs(forward, builder);

  const known = new Map<string, TensorInfo>();
  const pinned = options.inputShapes ?? {};
  for (const name of Object.keys(pinned)) {
    if (!dataInputs.some((d) => d.name === name)) throw new TrainerError("invalid-argument", `options.inputShapes: "${name}" is not a data input of the model`);
  }
  const dataInputInfo = dataInputs.map((vi) => {
    const t = vi.type?.value.case === "tensorType" ? vi.type.value.value : undefined;
    const dims = t?.shape?.dim ?? [];
    const fixed = pinned[vi.name];
    if (fixed !== undefined) {
      const ok = fixed.length === dims.length - 1 && fixed.every((n, i) => Number.isInteger(n) && n >= 1 && (dims[i + 1]?.value.case !== "dimValue" || Number(dims[i + 1]?.value.value) === n));
      if (!ok) throw new TrainerError("invalid-argument", `options.inputShapes.${vi.name}: expected ${dims.length - 1} positive sizes after the batch axis that agree with the model's static sizes`);
    }
    const shape: Dim[] = dims.map((d, i) => (i === 0 ? BATCH : fixed !== undefined ? dimOf(fixed[i - 1] ?? 0) : d.value.case === "dimValue" ? dimOf(Number(d.value.value)) : undefined));
    const dtype = t?.elemType ?? OnnxDataType.FLOAT;
    known.set(vi.name, { dtype, shape, batch: { axis: 0, outer: 1 } });
    return { name: vi.name, dtype: dtypeName(dtype), shape: shape.map((d, i) => (i === 0 ? "batch" : (staticDim(d) ?? (dims[i]?.value.case === "dimParam" ? String(dims[i]?.value.value) : "?")))) };
  });
  for (const t of graph.initializer) {
    const dims = tensorDims(t);
    const n = dims.reduce((a, c) => a * c, 1);
    const small = !trainableNames.has(t.name) && n <= 64 && t.dataType !== OnnxDataType.STRING;
    known.set(t.name, { dtype: t.dataType, shape: dims.map(dimOf), ...(small ? { value: tensorToNumbers(t).map(dimOf) } : {}) });
  }
  const fwdGraph = create(GraphProtoSchema, { node: forward });
  const infos = inferShapes(fwdGraph, opset, known);
  const info = (name: string): TensorInfo => infos.get(name) ?? { dtype: 0, shape: undefined };
  const deps = dependencies(forward, dataInputs.map((d) => d.name), [...trainableNames], infos);
  const isAct = (n: string): boolean => deps.param.has(n) && deps.data.has(n);
  const isView = (n: string): boolean => deps.param.has(n) && !deps.data.has(n);

  refuseUnsupported(forward, deps.param);
  if (dp) checkParameterViews(forward, trainableNames, isView, infos);

  // Loss and its gradient.
  const mask = "sample_mask";
  const labels = "labels";
  const lossParts = emitLoss(builder, options.loss, outputName, info(outputName), labels, mask);
  const grads = new Map<string, string[]>();
  const addGrad = (map: Map<string, string[]>, name: string, g: string | undefined): void => {
    if (g === undefined) return;
    const list = map.get(name);
    if (list === undefined) map.set(name, [g]);
    else list.push(g);
  };
  const total = (map: Map<string, string[]>, name: string): string | undefined => {
    const list = map.get(name);
    if (list === undefined) return undefined;
    const s = builder.accumulate(list);
    map.set(name, [s]);
    return s;
  };
  addGrad(grads, outputName, lossParts.gradOutput);

  // Phase A: one backward pass over activations; record every use of a parameter view.
  interface Use { node: NodeProto; input: number; gradOut: (string | undefined)[] }
  const uses: Use[] = [];
  const ctxFor = (node: NodeProto, gradOut: readonly (string | undefined)[], want: readonly boolean[]): VjpContext => {
    builder.scope = node.name;
    return { b: builder, node, info, gradOut, want };
  };
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k];
    if (node === undefined) continue;
    const gradOut = node.output.map((o) => (isAct(o) ? total(grads, o) : undefined));
    if (gradOut.every((g) => g === undefined)) continue;
    const rule = vjpRules.get(node.opType);
    if (rule === undefined) continue;
    const want = node.input.map((i, j) => i !== "" && isAct(i) && isDifferentiableInput(node.opType, j));
    if (want.some((w) => w)) {
      const res = rule(ctxFor(node, gradOut, want));
      node.input.forEach((i, j) => { if (want[j]) addGrad(grads, i, res[j]); });
    }
    node.input.forEach((i, j) => { if (i !== "" && isView(i) && isDifferentiableInput(node.opType, j)) uses.push({ node, input: j, gradOut }); });
  }

  // Phase B (dp): per-sample squared norms of every parameter use, clip factors.
  let clip: string | undefined;
  const perUse = new Map<Use, ReturnType<typeof perSampleUse>>();
  const outputs: { name: string; value: string; dtype: number; dims: (number | string)[] }[] = [];
  if (dp) {
    const squares: string[] = [];
    for (const u of uses) {
      const r = perSampleUse(ctxFor(u.node, u.gradOut, u.node.input.map((_, j) => j === u.input)), u.input);
      perUse.set(u, r);
      squares.push(r.squaredNorm);
    }
    const sq = squares.length === 0 ? builder.mul(builder.reshape(mask, [-1]), builder.f32(0)) : builder.sum(squares);
    const norm = builder.op1("Sqrt", [sq]);
    const factor = builder.op1("Min", [builder.div("max_grad_norm", builder.add(norm, builder.f32(CLIP_EPSILON))), builder.f32(1)]);
    clip = factor;
    outputs.push({ name: "per_sample_grad_norms", value: builder.mul(norm, mask), dtype: OnnxDataType.FLOAT, dims: ["batch"] });
  }

  // Phase C: clipped (dp) or plain gradient sums, then back through parameter views.
  const pgrads = new Map<string, string[]>();
  for (const u of uses) {
    const r = perUse.get(u);
    let g: string | undefined;
    if (clip !== undefined && r?.clippedSum !== undefined) {
      g = r.clippedSum(clip);
    } else {
      const c = clip;
      const gradOut = c === undefined ? u.gradOut : u.gradOut.map((go, j) => (go === undefined ? undefined : scaleByBatch(builder, go, info(u.node.output[j] ?? ""), c, `${u.node.opType} node "${u.node.name}"`)));
      const rule = vjpRules.get(u.node.opType);
      g = rule?.(ctxFor(u.node, gradOut, u.node.input.map((_, j) => j === u.input)))[u.input];
    }
    addGrad(pgrads, u.node.input[u.input] ?? "", g);
  }
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k];
    if (node === undefined || !node.output.some((o) => isView(o))) continue;
    const gradOut = node.output.map((o) => total(pgrads, o));
    if (gradOut.every((g) => g === undefined)) continue;
    const want = node.input.map((i, j) => i !== "" && isView(i) && isDifferentiableInput(node.opType, j));
    const res = vjpRules.get(node.opType)?.(ctxFor(node, gradOut, want)) ?? [];
    node.input.forEach((i, j) => { if (want[j]) addGrad(pgrads, i, res[j]); });
  }
  const params = trainable.map((t) => ({ name: t.name, shape: tensorDims(t) }));
  for (const p of params) {
    const g = total(pgrads, p.name) ?? builder.zeros(p.shape);
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
    ...dataInputs.map((vi, i) => (pinned[vi.name] === undefined ? vi : valueInfo(vi.name, known.get(vi.name)?.dtype ?? OnnxDataType.FLOAT, dataInputInfo[i]?.shape ?? []))),
    ...params.map((p) => valueInfo(p.name, OnnxDataType.FLOAT, p.shape)),
    valueInfo(labels, lossParts.labels.dtype, lossParts.labels.shape),
    valueInfo(mask, OnnxDataType.FLOAT, ["batch"]),
    ...(dp ? [valueInfo("max_grad_norm", OnnxDataType.FLOAT, [])] : []),
  ];
  const newGraph = create(GraphProtoSchema, {
    name: `${graph.name || "model"}_training_step`,
    node: [...forward, ...builder.nodes, ...finals],
    initializer: [...graph.initializer.filter((t) => !trainableNames.has(t.name)), ...builder.initializers],
    input: inputs,
    output: named.map((o) => valueInfo(o.name, o.dtype, o.dims)),
  });
  m.graph = newGraph;
  m.irVersion = m.irVersion < 8n ? 8n : m.irVersion;
  m.opsetImport = [
    ...m.opsetImport.filter((o) => o.domain !== "" && o.domain !== "ai.onnx"),
    create(OperatorSetIdProtoSchema, { domain: "", version: BigInt(builder.opset) }),
  ];
  return { model: encodeModel(m), params, dataInputs: dataInputInfo };
}

function refuseUnsupported(nodes: readonly NodeProto[], paramDependent: ReadonlySet<string>): void {
  const bad = nodes.filter((n) => n.output.some((o) => paramDependent.has(o)) && (!(n.domain === "" || n.domain === "ai.onnx") || (!vjpRules.has(n.opType) && !nonDifferentiableOps.has(n.opType))));
  if (bad.length === 0) return;
  const types = [...new Set(bad.map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType)))];
  throw new TrainerError("unsupported-op", `cannot differentiate op type(s) ${types.join(", ")} (node(s) ${bad.map((n) => `"${n.name || n.output[0]}"`).join(", ")}); rewrite the model with supported layers (Linear, Conv, Embedding, LayerNorm, GroupNorm, attention, elementwise activations)`);
}

/** Gives Dropout, MaxPool and LayerNormalization the optional outputs their gradients reuse. */
function addAuxiliaryOutputs(nodes: readonly NodeProto[], b: GraphBuilder): void {
  for (const n of nodes) {
    const need = n.opType === "Dropout" || n.opType === "MaxPool" ? 2 : n.opType === "LayerNormalization" ? 3 : 0;
    while (n.output.length < need) n.output.push("");
    for (let i = 1; i < need; i++) if (n.output[i] === "") n.output[i] = b.fresh(`${n.opType}_aux`);
  }
}

