import * as ort from "onnxruntime-node";
import { buildTrainingGraph, type TrainingGraph } from "../autodiff/build-training-graph.js";
import { detectNchwcBlockSize } from "../autodiff/nchwc-block-size.js";
import { exportInferenceModel } from "../onnx/inference-model.js";
import { decodeModel } from "../onnx/model-io.js";
import { readInitializers } from "../onnx/initializers.js";
import { TrainerError } from "../trainer-error.js";
import { BatchBuffers, checkLabels, prepareDataset, type PreparedDataset, type TrainingDataset } from "./dataset.js";
import { rowLoss } from "./eval-loss.js";
import { KERNEL_AGREEMENT, portableDifference, type TrainerKernels } from "./kernel-check.js";
import { FloatArena } from "./simd/float-arena.js";
import { countCorrect, TrainingEngine, trainingArenaBytes } from "./training-engine.js";
import { createOptimizer } from "./optimizer.js";
import { epsilonOf, planTraining } from "./plan-training.js";
import { createPrefetchedNoise, type NoiseSource } from "./noise-source.js";
import { physicalBatchSize } from "./poisson-sampler.js";
import { createSecureRandom, createSeededRandom } from "./random-source.js";
import { validateTrainerOptions, type ResolvedTrainerOptions } from "./validate-trainer-options.js";
import type { EvaluationResult, FitResult, MechanismRecord, PrivacyReport, TrainerOptions, TrainingPlan, TrainingProgress } from "./training-types.js";

/**
 * Everything a trainer does, on the thread that calls it. The worker runs one of these;
 * tests may too. Internal: the public API is createTrainer.
 */
export class TrainerCore {
  readonly params: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly datasetSize: number;
  readonly kernels: TrainerKernels;
  readonly #o: ResolvedTrainerOptions;
  readonly #engine: TrainingEngine;
  readonly #values: Float32Array[];
  readonly #dataInputs: TrainingGraph["dataInputs"];
  readonly #history: MechanismRecord[] = [];
  readonly #session: ort.InferenceSession;
  /** The DP noise thread; none in non-private mode. */
  readonly #noise: NoiseSource | undefined;
  #eval: { version: number; session: ort.InferenceSession } | undefined;

  private constructor(o: ResolvedTrainerOptions, session: ort.InferenceSession, noise: NoiseSource | undefined, engine: TrainingEngine, graph: TrainingGraph, values: Float32Array[], size: number, kernels: TrainerKernels) {
    this.#o = o;
    this.#session = session;
    this.#noise = noise;
    this.#engine = engine;
    this.params = graph.params.map((p) => ({ name: p.name, shape: [...p.shape] }));
    this.#dataInputs = graph.dataInputs;
    this.#values = values;
    this.datasetSize = size;
    this.kernels = kernels;
  }

  /** Builds the training graph, checks the data, opens the session and runs one warm-up step. */
  static async create(options: TrainerOptions): Promise<TrainerCore> {
    const o = validateTrainerOptions(options);
    const mode = o.privacy.mode;
    // Every run feeds the same number of rows, so the graph is built for it (it blocks large
    // products for the cache); the dataset's size comes from its labels, checked just below.
    const records = o.train.labels.shape[0];
    // The graph runs here, so it may use this machine's NCHWc convolution kernels.
    const nchwcBlockSize = o.nchwcBlockSize === "off" ? undefined : (o.nchwcBlockSize ?? await detectNchwcBlockSize());
    // Only DP physical batches are aligned (physicalBatchSize), so only DP decodes the model for it.
    const align = mode === "dp" && nchwcBlockSize !== undefined && hasConv(o.model) ? nchwcBlockSize : 1;
    const rows = records !== undefined && Number.isInteger(records) && records >= o.batchSize ? physicalBatchSize(mode, o.batchSize, records, o.maxBatchSize, align) : undefined;
    const build = (block: number | undefined): TrainingGraph => buildTrainingGraph(o.model, {
      loss: o.loss,
      mode,
      ...(o.frozen ? { frozen: o.frozen } : {}),
      ...(o.output ? { output: o.output } : {}),
      ...(rows === undefined ? {} : { physicalBatchSize: rows }),
      ...(block === undefined ? {} : { nchwcBlockSize: block }),
    });
    let graph = build(nchwcBlockSize);
    const initial = readInitializers(o.model);
    const inits = graph.params.map((p) => {
      const init = initial.get(p.name);
      if (init === undefined) throw new TrainerError("invalid-model", `trainable parameter '${p.name}' is not a float initializer of the model`);
      return init.data;
    });
    const arena = new FloatArena(trainingArenaBytes(inits.map((d) => d.length), mode === "dp"));
    const values = inits.map((data) => {
      const v = arena.floats(data.length);
      v.set(data);
      return v;
    });
    let kernels: TrainerKernels = { kind: "portable", reason: nchwcBlockSize === undefined ? "no NCHWc kernels here, or turned off" : "the model has no convolution to lower" };
    const block = graph.nchwcBlockSize;
    if (block !== undefined) {
      const portable = build(undefined);
      const difference = await portableDifference(graph, portable, values, rows ?? Math.min(o.batchSize, o.maxBatchSize));
      if (difference <= KERNEL_AGREEMENT) {
        kernels = { kind: "nchwc", block };
      } else {
        graph = portable;
        kernels = { kind: "portable", reason: `the graph lowered to NCHWc block ${block} disagreed with the portable graph (relative difference ${difference}) on a check batch; it runs the portable graph` };
      }
    }
    const train = prepareDataset(o.train, graph.dataInputs, o.loss, "train");
    if (o.batchSize > train.size) {
      throw new TrainerError("invalid-argument", `batchSize must be at most the number of training records (${train.size}), got ${o.batchSize}`);
    }
    const session = await ort.InferenceSession.create(graph.model, sessionOptions(o.intraOpThreads));
    const totalParams = values.reduce((n, v) => n + v.length, 0);
    const noise = mode === "dp" ? createPrefetchedNoise(totalParams, o.insecureReproducibleNoise ? o.seed : undefined, arena) : undefined;
    const engine = new TrainingEngine({
      loss: o.loss,
      graph,
      runStep: (feeds, fetches) => (fetches === undefined ? session.run(feeds) : session.run(feeds, fetches)),
      params: values,
      arena,
      optimizer: createOptimizer(o.optimizer, { arena }),
      train,
      mode,
      batchSize: o.batchSize,
      physicalBatchSize: rows ?? physicalBatchSize(mode, o.batchSize, train.size, o.maxBatchSize, align),
      maxGradNorm: o.privacy.mode === "dp" ? o.privacy.maxGradNorm : 0,
      samplingRandom: o.seed === undefined ? createSecureRandom() : createSeededRandom(o.seed, "sampling"),
      ...(noise === undefined ? {} : { noise }),
    });
    try {
      await engine.warmUp();
    } catch (err) {
      await session.release();
      await noise?.close();
      throw err;
    }
    return new TrainerCore(o, session, noise, engine, graph, values, train.size, kernels);
  }

  plan(epochs: number): TrainingPlan {
    const p = this.#o.privacy;
    if (p.mode === "dp" && "targetEpsilon" in p && this.#history.length > 0) {
      throw new TrainerError("invalid-argument", "targetEpsilon calibrates a single fit; this trainer already ran one, so pass noiseMultiplier for further fits");
    }
    return planTraining({ datasetSize: this.datasetSize, batchSize: this.#o.batchSize, epochs, privacy: p });
  }

  async fit(epochs: number, test: TrainingDataset | undefined, onProgress: (e: TrainingProgress) => void, shouldStop: () => boolean): Promise<FitResult> {
    const started = performance.now();
    const plan = this.plan(epochs);
    let preparedTest: PreparedDataset | undefined;
    if (test !== undefined) {
      preparedTest = prepareDataset(test, this.#dataInputs, this.#o.loss, "test");
      checkLabels(preparedTest, this.#o.loss, this.#engine.outputRow, "test");
    }
    const record: MechanismRecord = { noiseMultiplier: plan.noiseMultiplier, sampleRate: plan.sampleRate, steps: 0 };
    if (plan.mode === "dp") this.#history.push(record);
    const result = await this.#engine.fit({
      epochs,
      noiseMultiplier: plan.noiseMultiplier,
      stepsPerEpoch: plan.stepsPerEpoch,
      ...(preparedTest ? { test: preparedTest, evaluate: (t: PreparedDataset) => this.#evaluatePrepared(t, 512) } : {}),
      onProgress: (e) => {
        if (e.kind === "step") (record as { steps: number }).steps++;
        onProgress(e);
      },
      shouldStop,
    });
    return { epochs: result.epochs, steps: result.steps, cancelled: result.cancelled, privacy: this.privacy(), durationMs: performance.now() - started };
  }

  privacy(): PrivacyReport {
    const p = this.#o.privacy;
    if (p.mode === "non-private") return { mode: "non-private" };
    const delta = p.delta ?? 1e-5;
    const accountant = p.accountant ?? "rdp";
    const last = this.#history[this.#history.length - 1];
    return {
      mode: "dp",
      epsilon: epsilonOf(this.#history, delta, accountant),
      delta,
      accountant,
      noiseMultiplier: last?.noiseMultiplier ?? ("noiseMultiplier" in p ? p.noiseMultiplier : Number.NaN),
      maxGradNorm: p.maxGradNorm,
      sampleRate: this.#o.batchSize / this.datasetSize,
      history: this.#history.map((m) => ({ ...m })),
    };
  }

  parameters(): Map<string, Float32Array> {
    return new Map(this.params.map((p, k) => [p.name, Float32Array.from(this.#values[k]!)]));
  }

  exportModel(): Uint8Array {
    return exportInferenceModel(this.#o.model, new Map(this.params.map((p, k) => [p.name, this.#values[k]!])));
  }

  async evaluate(dataset: TrainingDataset, batchSize = 512): Promise<EvaluationResult> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TrainerError("invalid-argument", `batchSize must be an integer >= 1, got ${batchSize}`);
    const prepared = prepareDataset(dataset, this.#dataInputs, this.#o.loss, "test");
    checkLabels(prepared, this.#o.loss, this.#engine.outputRow, "test");
    return this.#evaluatePrepared(prepared, batchSize);
  }

  /** Runs the inference model with the current weights (a session cached until the next step). */
  async #evaluatePrepared(data: PreparedDataset, batchSize: number): Promise<EvaluationResult> {
    if (this.#eval?.version !== this.#engine.stepsTaken) {
      await this.#eval?.session.release();
      this.#eval = { version: this.#engine.stepsTaken, session: await ort.InferenceSession.create(this.exportModel(), sessionOptions(this.#o.intraOpThreads)) };
    }
    const session = this.#eval.session;
    const output = this.#o.output ?? session.outputNames[0]!;
    const capacity = Math.min(batchSize, data.size);
    const buffers = new BatchBuffers(data, capacity);
    const feeds: Record<string, ort.Tensor> = {};
    data.inputs.forEach((a, k) => {
      feeds[a.name] = new ort.Tensor(a.dtype as "float32", buffers.inputs[k] as Float32Array, [capacity, ...a.rowShape]);
    });
    let loss = 0;
    let correct = 0;
    let counted = 0;
    for (let start = 0; start < data.size; start += capacity) {
      const count = Math.min(capacity, data.size - start);
      buffers.fill(data, Uint32Array.from({ length: count }, (_, i) => start + i));
      const out = (await session.run(feeds))[output] as ort.Tensor;
      const values = out.data as Float32Array;
      const rowLength = values.length / capacity;
      const labelLength = data.labels.rowLength;
      for (let r = 0; r < count; r++) {
        const label = this.#o.loss === "cross_entropy" ? (buffers.labels as BigInt64Array)[r]! : (buffers.labels as Float32Array).subarray(r * labelLength, (r + 1) * labelLength);
        loss += rowLoss(this.#o.loss, values.subarray(r * rowLength, (r + 1) * rowLength), label);
      }
      const acc = countCorrect(this.#o.loss, out, buffers.labels as Float32Array, count);
      correct += acc.correct;
      counted += acc.counted;
    }
    return { loss: loss / data.size, ...(counted > 0 ? { accuracy: correct / counted } : {}), count: data.size };
  }

  async close(): Promise<void> {
    await this.#eval?.session.release();
    this.#eval = undefined;
    await this.#session.release();
    await this.#noise?.close();
  }
}

/** Whether the model has a Conv (whose NCHWc gradients want a physical batch that is a multiple of the block). */
function hasConv(model: Uint8Array): boolean {
  return (decodeModel(model).graph?.node ?? []).some((n) => n.opType === "Conv" && (n.domain === "" || n.domain === "ai.onnx"));
}

function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential" };
  // Spinning pool threads steal the core the noise thread draws on while the graph runs
  // (fmnist_cnn, 2 threads, loaded 2-core machine: 29.9 ms per step spinning, 15.2 ms not).
  return threads > 1 ? { ...options, extra: { session: { intra_op: { allow_spinning: "0" } } } } : options;
}
