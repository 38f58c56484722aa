import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Trainer, TrainerOptions, TrainingDataset } from "@sanctum/trainer";
import type { DatasetAuditLog } from "../audit/dataset-audit-log.js";
import type { BudgetLedgers, PlannedCharge } from "../datasets/budget-ledgers.js";
import { assertMayTrain, mayReceiveWeights } from "../datasets/dataset-policy.js";
import type { DatasetRecord } from "../datasets/dataset-record.js";
import type { DatasetStore } from "../datasets/dataset-store.js";
import type { ModelSignature } from "../inference/worker-messages.js";
import type { ModelAccess, ModelRecord } from "../models/model-record.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { outcomeOf } from "../rpc/to-connect-error.js";
import { ServerError } from "../server-error.js";
import type { BlobStore } from "../storage/blob-store.js";
import { sweepOrphanBlobs } from "../storage/sealed-rows.js";
import { executeRun } from "./execute-run.js";
import { assertWeightsMayLeave, deployTrainedModel, releaseWeights, type ReleasedWeights, type RunResultsContext } from "./run-results.js";
import { createMetricsEvaluator } from "./metrics-evaluator.js";
import { planRun } from "./plan-run.js";
import type { RunConfig } from "./run-config.js";
import { createRunEventHub, type RunEvent, type RunEventHub } from "./run-events.js";
import type { TrainingRunRecord } from "./run-record.js";
import { newRunId, type RunStore } from "./run-store.js";
import { loadTrainingData } from "./training-data.js";
import { toTrainerError } from "./trainer-errors.js";

/** What the training manager needs. */
export interface TrainingManagerOptions {
  readonly datasets: DatasetStore;
  readonly ledgers: BudgetLedgers;
  readonly runs: RunStore;
  readonly audit: DatasetAuditLog;
  readonly blobs: BlobStore;
  readonly models: ModelRegistry;
  /** Validates ONNX bytes and reads inputs and outputs (the inference pool's inspect). */
  readonly inspectModel: (bytes: Uint8Array) => Promise<ModelSignature>;
  /** The trainer factory (`createTrainer` of @sanctum/trainer; injectable for tests). */
  readonly createTrainer: (options: TrainerOptions) => Promise<Trainer>;
  /** Runs allowed at once; more are refused with resource-exhausted. Default 2. */
  readonly maxConcurrentRuns?: number;
  readonly now: () => Date;
  readonly logger?: Logger;
}

/** Remote DP training: admission (authorization, calibration, reservation), runs, results. */
export interface TrainingManager {
  /** Checks, plans, reserves every ledger and starts the run; resolves once admitted. */
  start(caller: string, config: RunConfig, model: Uint8Array): Promise<TrainingRunRecord>;
  /** A run of the caller; `not-found` for others' runs. */
  get(caller: string, runId: string): TrainingRunRecord;
  list(caller: string): TrainingRunRecord[];
  /** The run now, then its events until it ends. */
  watch(caller: string, runId: string, signal?: AbortSignal): AsyncIterable<RunEvent>;
  cancel(caller: string, runId: string): TrainingRunRecord;
  /** The trained ONNX bytes and their SHA-256, if every training dataset's policy lets the caller have them. */
  downloadWeights(caller: string, runId: string): Promise<ReleasedWeights>;
  /** Deploys the trained model under the caller's ownership; the weights stay in the TEE. */
  deploy(caller: string, runId: string, name: string, access: ModelAccess): Promise<ModelRecord>;
  /** True while a run uses the dataset. */
  inUse(datasetId: string): boolean;
  /** Cancels the runs in progress and waits for them to stop. */
  close(): Promise<void>;
}

interface Active {
  readonly hub: RunEventHub;
  readonly abort: AbortController;
  readonly datasets: readonly string[];
  readonly done: Promise<void>;
  current: () => TrainingRunRecord;
}

/**
 * Opens the manager. Runs a crash left "running" are marked failed first (their
 * reservations stay in full), and weights of runs that did not succeed are removed, so no
 * partial model is ever served.
 */
export async function createTrainingManager(options: TrainingManagerOptions): Promise<TrainingManager> {
  const { datasets, ledgers, runs, audit, blobs } = options;
  const maxRuns = options.maxConcurrentRuns ?? 2;
  const active = new Map<string, Active>();
  const results: RunResultsContext = { datasets, runs, audit, blobs, models: options.models, inspectModel: options.inspectModel, now: options.now };

  for (const run of runs.failInterrupted(options.now())) {
    for (const id of run.datasets) audit.append({ dataset: id, caller: run.owner, action: "train-end", outcome: "aborted", details: { run: run.id, reason: "server restarted during the run" } });
    options.logger?.warn({ run: run.id }, "training run was interrupted by a restart: marked failed, reservation kept");
  }
  await sweepOrphanBlobs(blobs, "weights", runs.succeededIds());

  const ownRun = (caller: string, runId: string): TrainingRunRecord => {
    const run = active.get(runId)?.current() ?? runs.get(runId);
    // Another caller's run is reported as unknown: run ids are not theirs to probe.
    if (run === undefined || run.owner !== caller) {
      throw new ServerError("not-found", `no training run ${JSON.stringify(runId.slice(0, 80))} of yours: 'sanctum train' prints the run id`);
    }
    return run;
  };
  const resolveDatasets = (caller: string, ids: readonly string[]): DatasetRecord[] =>
    ids.map((id) => {
      const dataset = datasets.require(id);
      try {
        assertMayTrain(dataset, caller);
      } catch (err) {
        audit.append({ dataset: id, caller, action: "train", outcome: outcomeOf(err) });
        throw err;
      }
      return dataset;
    });

  return {
    async start(caller, config, model) {
      const train = resolveDatasets(caller, config.datasets);
      const evalSet = config.evalDataset === undefined ? undefined : resolveDatasets(caller, [config.evalDataset])[0]!;
      if (config.releaseWeights) assertWeightsMayLeave(train, caller, (id, err) => audit.append({ dataset: id, caller, action: "train", outcome: outcomeOf(err), details: { releaseWeights: true } }));
      if (active.size >= maxRuns) throw new ServerError("resource-exhausted", `${active.size} training runs are in progress, the most this server runs at once: retry when one ends`);
      const signature = await options.inspectModel(model);
      const inputNames = signature.inputs.map((i) => i.name);
      let trainData: TrainingDataset | undefined;
      let evalData: TrainingDataset | undefined;
      let trainer: Trainer | undefined;
      try {
        trainData = await loadTrainingData(datasets, train, { names: inputNames });
        evalData = evalSet === undefined ? undefined : await loadTrainingData(datasets, [evalSet], { names: inputNames });
        const trainRows = train.reduce((n, d) => n + d.rows, 0);
        const delta = Math.min(...train.map((d) => d.delta));
        const hasAccuracy = config.loss !== "mse";
        const plan = planRun({
          trainRows,
          batchSize: config.batchSize,
          epochs: config.epochs,
          epsilon: config.epsilon,
          delta,
          maxGradNorm: config.maxGradNorm,
          metricsShare: config.metricsShare,
          metricsOn: evalSet === undefined ? "train" : "eval",
          ...(evalSet === undefined ? {} : { evalRows: evalSet.rows, evalDelta: evalSet.delta }),
          hasAccuracy,
        });
        const maxBatchSize = config.maxBatchSize === 0 ? Math.min(config.batchSize, 256) : config.maxBatchSize;
        trainer = await toTrainerError(() =>
          options.createTrainer({
            model,
            loss: config.loss,
            ...(config.output === undefined ? {} : { output: config.output }),
            frozen: config.frozen,
            train: trainData!,
            privacy: { mode: "dp", maxGradNorm: config.maxGradNorm, noiseMultiplier: plan.training.noiseMultiplier, delta, accountant: "rdp" },
            optimizer:
              config.optimizer.kind === "sgd"
                ? { kind: "sgd", lr: config.optimizer.lr, momentum: config.optimizer.momentum, weightDecay: config.optimizer.weightDecay }
                : { kind: config.optimizer.kind, lr: config.optimizer.lr, ...(config.optimizer.weightDecay === 0 ? {} : { weightDecay: config.optimizer.weightDecay }) },
            batchSize: config.batchSize,
            maxBatchSize,
            intraOpThreads: 1,
          }),
        );
        // Fail closed if the trainer would run another mechanism than the one reserved.
        const trainerPlan = await trainer.plan(config.epochs);
        if (trainerPlan.steps !== plan.training.steps || trainerPlan.sampleRate !== plan.training.sampleRate || trainerPlan.noiseMultiplier !== plan.training.noiseMultiplier) {
          throw new ServerError("internal", "the trainer's plan differs from the reserved mechanism");
        }
        const charges: PlannedCharge[] = train.map((d) => ({ datasetId: d.id, kind: "training", ...plan.training }));
        if (plan.metrics !== undefined) {
          for (const d of evalSet === undefined ? train : [evalSet]) charges.push({ datasetId: d.id, kind: "metrics", ...plan.metrics });
        }
        const now = options.now();
        const run: TrainingRunRecord = {
          id: newRunId(),
          owner: caller,
          status: "running",
          datasets: train.map((d) => d.id),
          ...(evalSet === undefined ? {} : { evalDataset: evalSet.id }),
          loss: config.loss,
          epochs: config.epochs,
          batchSize: config.batchSize,
          maxBatchSize,
          optimizer: config.optimizer,
          stepsPlanned: plan.training.steps,
          stepsDone: 0,
          privacy: plan.privacy,
          metrics: [],
          modelSha256: createHash("sha256").update(model).digest("hex"),
          ...(config.deploy === undefined ? {} : { deploy: config.deploy }),
          weightsAvailable: train.every((d) => mayReceiveWeights(d, caller)),
          createdAt: now.toISOString(),
        };
        const involved = new Map([...train, ...(evalSet === undefined ? [] : [evalSet])].map((d) => [d.id, d]));
        // Checked again here: from this check to registering the run nothing awaits, so
        // concurrent starts cannot both take the last slot.
        if (active.size >= maxRuns) throw new ServerError("resource-exhausted", `${active.size} training runs are in progress, the most this server runs at once: retry when one ends`);
        try {
          ledgers.reserve(run.id, caller, charges, involved, now, () => runs.insert(run));
        } catch (err) {
          for (const id of involved.keys()) audit.append({ dataset: id, caller, action: "train", outcome: outcomeOf(err), details: { epsilon: config.epsilon } });
          throw err;
        }
        for (const c of charges) {
          audit.append({ dataset: c.datasetId, caller, action: "train", outcome: "ok", details: { run: run.id, kind: c.kind, noiseMultiplier: c.noiseMultiplier, sampleRate: c.sampleRate, steps: c.steps, runEpsilon: plan.privacy.epsilon } });
        }
        const hub = createRunEventHub();
        const abort = new AbortController();
        const metricsData = evalData ?? trainData;
        const evaluator = plan.metrics === undefined ? undefined : createMetricsEvaluator({ data: metricsData, loss: config.loss, ...(config.output === undefined ? {} : { output: config.output }), maxBatchSize });
        let latest = run;
        const runningTrainer = trainer;
        trainer = undefined; // owned by the run from here on
        const done = executeRun({
          run,
          trainer: runningTrainer,
          evaluator,
          metricsRows: evalSet?.rows ?? trainRows,
          metricsSource: evalSet === undefined ? "train" : "eval",
          hasAccuracy,
          signal: abort.signal,
          onUpdate: (r) => (latest = r),
          publish: (e) => hub.publish(e),
          manager: { ...options, datasetsOf: () => train, deploy: (r, name, access) => deployTrainedModel(results, r, r.owner, name, access) },
        }).finally(() => {
          active.delete(run.id);
          for (const a of [trainData, evalData]) if (a !== undefined) wipe(a);
        });
        active.set(run.id, { hub, abort, datasets: [...involved.keys()], done, current: () => latest });
        trainData = undefined;
        evalData = undefined;
        return run;
      } finally {
        await trainer?.close();
        for (const a of [trainData, evalData]) if (a !== undefined) wipe(a);
      }
    },

    get: (caller, runId) => ownRun(caller, runId),
    list: (caller) => runs.listByOwner(caller).map((r) => active.get(r.id)?.current() ?? r),

    watch(caller, runId, signal) {
      const run = ownRun(caller, runId);
      const a = active.get(runId);
      const events = a?.hub.subscribe(signal);
      return {
        async *[Symbol.asyncIterator]() {
          yield { kind: "run", run: a?.current() ?? run } satisfies RunEvent;
          if (events !== undefined) yield* events;
        },
      };
    },

    cancel(caller, runId) {
      const run = ownRun(caller, runId);
      const a = active.get(runId);
      if (a === undefined) throw new ServerError("failed-precondition", `training run ${runId} already ended (${run.status})`);
      a.abort.abort();
      return a.current();
    },

    downloadWeights: (caller, runId) => releaseWeights(results, ownRun(caller, runId), caller),

    deploy: (caller, runId, name, access) => deployTrainedModel(results, ownRun(caller, runId), caller, name, access),

    inUse: (datasetId) => [...active.values()].some((a) => a.datasets.includes(datasetId)),

    async close() {
      for (const a of active.values()) a.abort.abort();
      await Promise.allSettled([...active.values()].map((a) => a.done));
    },
  };
}

/** Zeroes a dataset's shared buffers once no worker needs them. */
function wipe(data: TrainingDataset): void {
  for (const a of [...Object.values(data.inputs), data.labels]) new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength).fill(0);
}
