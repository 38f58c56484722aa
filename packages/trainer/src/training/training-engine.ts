import * as ort from "onnxruntime-node";
import { TrainerError } from "../trainer-error.js";
import { BatchBuffers, checkLabels, type DataInputSpec, type PreparedDataset } from "./dataset.js";
import type { NoiseSource } from "./noise-source.js";
import type { Optimizer } from "./optimizer.js";
import { samplePoisson, shuffledIndices, splitPhysical } from "./poisson-sampler.js";
import type { RandomSource } from "./random-source.js";
import { arenaBytes, type FloatArena } from "./simd/float-arena.js";
import type { EpochMetrics, EvaluationResult, TrainingProgress } from "./training-types.js";

/**
 * Runs one ONNX graph: feeds in, outputs out (an onnxruntime session's `run`). With `fetches`,
 * only those outputs come back, and those given as tensors are written into them.
 */
export type RunGraph = (feeds: Record<string, ort.Tensor>, fetches?: Record<string, ort.Tensor | null>) => Promise<Record<string, ort.OnnxValue>>;

/** What the engine needs of the training graph (see buildTrainingGraph). */
export interface StepGraph {
  readonly params: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly dataInputs: readonly DataInputSpec[];
}

/** Resolved engine settings (validated by the caller). */
export interface EngineSettings {
  readonly loss: string;
  readonly graph: StepGraph;
  readonly runStep: RunGraph;
  /** Current parameters, in graph.params order, allocated in `arena`; updated in place. */
  readonly params: readonly Float32Array[];
  /**
   * Where the parameters, gradient sums and optimizer state live, so onnxruntime writes
   * gradients straight into them and the SIMD kernels update them in place; needs room for
   * two more arrays of each parameter's size (see trainingArenaBytes).
   */
  readonly arena: FloatArena;
  readonly optimizer: Optimizer;
  readonly train: PreparedDataset;
  /** "dp": Poisson sampling, clipping, noise; "non-private": shuffled fixed batches, mean gradients. */
  readonly mode: "dp" | "non-private";
  /** Expected (dp) or fixed (non-private) logical batch size. */
  readonly batchSize: number;
  /** Rows of every physical batch (the one fixed shape fed to onnxruntime; see physicalBatchSize()). */
  readonly physicalBatchSize: number;
  readonly maxGradNorm: number;
  readonly samplingRandom: RandomSource;
  /** Source of the DP noise (the OS CSPRNG in any run whose guarantee matters); required in dp mode, unused otherwise. */
  readonly noise?: NoiseSource;
}

/**
 * Arena bytes a training run needs for parameters of these lengths: the parameters, the
 * engine's gradient sums and scratch, up to two optimizer state arrays each, and with DP the
 * noise source's staging for the largest parameter.
 */
export function trainingArenaBytes(lengths: readonly number[], dp: boolean): number {
  const perCopy = lengths.reduce((n, length) => n + arenaBytes(length), 0);
  const largest = lengths.reduce((n, length) => Math.max(n, length), 0);
  return 5 * perCopy + (dp ? arenaBytes(largest) : 0);
}

/** Options of one run of epochs. */
export interface EngineFitOptions {
  readonly epochs: number;
  readonly noiseMultiplier: number;
  readonly stepsPerEpoch: number;
  readonly test?: PreparedDataset;
  readonly evaluate?: (test: PreparedDataset) => Promise<EvaluationResult>;
  readonly onProgress?: (event: TrainingProgress) => void;
  readonly shouldStop?: () => boolean;
}

/**
 * The DP-SGD loop (Abadi et al. 2016, as Opacus implements it): per logical step, a Poisson
 * sample split into fixed-shape physical batches, clipped gradient sums accumulated across
 * them, Gaussian noise N(0, sigma^2 C^2) added once, division by the expected batch size
 * q * N (Opacus' "mean" reduction, so the noise scale does not depend on the private batch
 * size), then one optimizer step. Internal: createTrainer runs it inside a worker thread.
 */
export class TrainingEngine {
  readonly #s: EngineSettings;
  readonly #buffers: BatchBuffers;
  readonly #feeds: Record<string, ort.Tensor>;
  readonly #gradSums: Float32Array[];
  /** A later physical batch's gradients, added into #gradSums. */
  readonly #gradScratch: Float32Array[];
  /** Outputs of a logical step's first physical batch (gradients into #gradSums) and of later ones (into #gradScratch). */
  readonly #fetchFirst: Record<string, ort.Tensor | null>;
  readonly #fetchLater: Record<string, ort.Tensor | null>;
  /** Model output row shape (without the batch axis), learned by {@link warmUp}. */
  outputRow: number[] = [];
  stepsTaken = 0;

  constructor(settings: EngineSettings) {
    if (settings.mode === "dp" && settings.noise === undefined) throw new RangeError("noise is required in dp mode");
    this.#s = settings;
    const p = settings.physicalBatchSize;
    this.#buffers = new BatchBuffers(settings.train, p);
    this.#feeds = {};
    settings.train.inputs.forEach((a, k) => {
      this.#feeds[a.name] = new ort.Tensor(a.dtype as "float32", this.#buffers.inputs[k] as Float32Array, [p, ...a.rowShape]);
    });
    const labels = settings.train.labels;
    this.#feeds["labels"] = new ort.Tensor(labels.dtype as "float32", this.#buffers.labels as Float32Array, [p, ...labels.rowShape]);
    this.#feeds["sample_mask"] = new ort.Tensor("float32", this.#buffers.mask, [p]);
    if (settings.mode === "dp") this.#feeds["max_grad_norm"] = new ort.Tensor("float32", Float32Array.of(settings.maxGradNorm), []);
    settings.graph.params.forEach((spec, k) => {
      this.#feeds[spec.name] = new ort.Tensor("float32", settings.params[k]!, [...spec.shape]);
    });
    this.#gradSums = settings.params.map((q) => settings.arena.floats(q.length));
    this.#gradScratch = settings.params.map((q) => settings.arena.floats(q.length));
    const fetches = (into: Float32Array[]): Record<string, ort.Tensor | null> => {
      const f: Record<string, ort.Tensor | null> = { losses: null, logits: null };
      settings.graph.params.forEach((spec, k) => (f[`grad:${spec.name}`] = new ort.Tensor("float32", into[k]!, [...spec.shape])));
      return f;
    };
    this.#fetchFirst = fetches(this.#gradSums);
    this.#fetchLater = fetches(this.#gradScratch);
  }

  /** One forward/backward on the first records: learns the output shape and checks labels before any update. */
  async warmUp(test?: PreparedDataset): Promise<void> {
    const n = Math.min(this.#s.physicalBatchSize, this.#s.train.size);
    this.#buffers.fill(this.#s.train, Uint32Array.from({ length: n }, (_, i) => i));
    // Labels are not checked yet (the class count comes from this run): feed valid zeros.
    const labels = this.#buffers.labels;
    if (labels instanceof BigInt64Array) labels.fill(0n);
    else (labels as Float32Array).fill(0);
    const out = await this.#runPhysical();
    const logits = out["logits"];
    if (logits === undefined || !("dims" in logits)) throw new TrainerError("invalid-model", "the training graph has no 'logits' output");
    this.outputRow = logits.dims.slice(1).map(Number);
    checkLabels(this.#s.train, this.#s.loss, this.outputRow, "train");
    if (test !== undefined) checkLabels(test, this.#s.loss, this.outputRow, "test");
  }

  /** Runs `epochs` epochs (or until shouldStop), reporting progress; returns per-epoch metrics. */
  async fit(options: EngineFitOptions): Promise<{ epochs: EpochMetrics[]; steps: number; cancelled: boolean }> {
    const s = this.#s;
    const metrics: EpochMetrics[] = [];
    const totalSteps = options.epochs * options.stepsPerEpoch;
    let steps = 0;
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const started = performance.now();
      const stats = { loss: 0, correct: 0, counted: 0, seen: 0 };
      const batches = s.mode === "dp" ? undefined : splitPhysical(shuffledIndices(s.train.size, s.samplingRandom), s.batchSize);
      for (let step = 0; step < options.stepsPerEpoch; step++) {
        if (options.shouldStop?.() === true) return { epochs: metrics, steps, cancelled: true };
        const indices = batches === undefined ? samplePoisson(s.train.size, s.batchSize / s.train.size, s.samplingRandom) : batches[step]!;
        const stepStats = await this.#logicalStep(indices, options.noiseMultiplier);
        stats.loss += stepStats.loss;
        stats.correct += stepStats.correct;
        stats.counted += stepStats.counted;
        stats.seen += indices.length;
        steps++;
        this.stepsTaken++;
        options.onProgress?.({
          kind: "step", epoch, step: steps, totalSteps,
          loss: indices.length > 0 ? stepStats.loss / indices.length : Number.NaN,
        });
      }
      const m: { -readonly [K in keyof EpochMetrics]: EpochMetrics[K] } = {
        epoch,
        trainLoss: stats.seen > 0 ? stats.loss / stats.seen : Number.NaN,
        durationMs: 0,
      };
      if (stats.counted > 0) m.trainAccuracy = stats.correct / stats.counted;
      if (options.test !== undefined && options.evaluate !== undefined) {
        const e = await options.evaluate(options.test);
        m.testLoss = e.loss;
        if (e.accuracy !== undefined) m.testAccuracy = e.accuracy;
      }
      m.durationMs = performance.now() - started;
      metrics.push(m);
      options.onProgress?.({ kind: "epoch", metrics: m });
    }
    return { epochs: metrics, steps, cancelled: false };
  }

  async #logicalStep(indices: Uint32Array, noiseMultiplier: number): Promise<{ loss: number; correct: number; counted: number }> {
    const s = this.#s;
    const stats = { loss: 0, correct: 0, counted: 0 };
    if (indices.length === 0) for (const g of this.#gradSums) g.fill(0);
    let firstChunk = true;
    // An empty Poisson sample is still a step: the update is pure noise, as the analysis assumes.
    for (const chunk of splitPhysical(indices, s.physicalBatchSize)) {
      this.#buffers.fill(s.train, chunk);
      const out = await this.#runPhysical(firstChunk ? this.#fetchFirst : this.#fetchLater);
      if (!firstChunk) this.#gradSums.forEach((sum, k) => s.arena.kernels.add_into(sum.byteOffset, this.#gradScratch[k]!.byteOffset, sum.length));
      firstChunk = false;
      const losses = (out["losses"] as ort.Tensor).data as Float32Array;
      for (let i = 0; i < chunk.length; i++) stats.loss += losses[i]!;
      const acc = countCorrect(s.loss, out["logits"] as ort.Tensor, this.#buffers.labels, chunk.length);
      stats.correct += acc.correct;
      stats.counted += acc.counted;
    }
    if (s.mode === "dp") {
      // Divide by the expected batch size q * N, never the private actual size.
      s.noise!.addTo(this.#gradSums, noiseMultiplier * s.maxGradNorm, 1 / s.batchSize);
      s.optimizer.step(s.params, this.#gradSums);
    } else {
      s.optimizer.step(s.params, this.#gradSums, 1 / Math.max(1, indices.length));
    }
    return stats;
  }

  async #runPhysical(fetches?: Record<string, ort.Tensor | null>): Promise<Record<string, ort.OnnxValue>> {
    try {
      return await this.#s.runStep(this.#feeds, fetches);
    } catch (cause) {
      throw new TrainerError("invalid-model", `onnxruntime failed to run the training step: ${(cause as Error).message}`, { cause });
    }
  }
}

/**
 * Correct predictions among the first `count` rows: argmax vs class id for cross_entropy,
 * (logit > 0) vs (label > 0.5) per element for bce_with_logits; none for mse.
 */
export function countCorrect(loss: string, logits: ort.Tensor | undefined, labels: ArrayLike<number | bigint>, count: number): { correct: number; counted: number } {
  if (logits === undefined || loss === "mse") return { correct: 0, counted: 0 };
  const data = logits.data as Float32Array;
  const rowLength = data.length / Number(logits.dims[0]);
  let correct = 0;
  if (loss === "cross_entropy") {
    for (let r = 0; r < count; r++) {
      let best = 0;
      for (let c = 1; c < rowLength; c++) if (data[r * rowLength + c]! > data[r * rowLength + best]!) best = c;
      if (BigInt(best) === BigInt(labels[r]!)) correct++;
    }
    return { correct, counted: count };
  }
  for (let i = 0; i < count * rowLength; i++) if (data[i]! > 0 === Number(labels[i]!) > 0.5) correct++;
  return { correct, counted: count * rowLength };
}
