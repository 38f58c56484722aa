import { createHash } from "node:crypto";
import { createSecureRandom, samplePoisson, type Trainer } from "@sanctum/trainer";
import type { DatasetRecord } from "../datasets/dataset-record.js";
import type { ModelAccess, ModelRecord } from "../models/model-record.js";
import type { MetricsEvaluator } from "./metrics-evaluator.js";
import { releaseMetrics } from "./release-metrics.js";
import type { RunEvent } from "./run-events.js";
import type { EpochMetricsRecord, RunStatus, TrainingRunRecord } from "./run-record.js";
import { asServerError } from "./trainer-errors.js";
import type { TrainingManagerOptions } from "./training-manager.js";

/** Everything one run needs once admitted. */
export interface ExecuteRunOptions {
  readonly run: TrainingRunRecord;
  readonly trainer: Trainer;
  readonly evaluator: MetricsEvaluator | undefined;
  readonly metricsRows: number;
  readonly metricsSource: "train" | "eval";
  readonly hasAccuracy: boolean;
  readonly signal: AbortSignal;
  readonly onUpdate: (run: TrainingRunRecord) => void;
  readonly publish: (event: RunEvent) => void;
  readonly manager: TrainingManagerOptions & {
    readonly datasetsOf: () => readonly DatasetRecord[];
    readonly deploy: (run: TrainingRunRecord, name: string, access: ModelAccess) => Promise<ModelRecord>;
  };
}

/** Least time between two progress events of a run, in ms. */
const PROGRESS_INTERVAL_MS = 200;

/**
 * Runs an admitted run to its end: one epoch at a time (so the noised metrics can be released
 * between epochs), then the trained model sealed as the run's weights and the ledgers settled
 * with what ran, in the same transaction that marks the run succeeded; then the deploy asked
 * for. On failure or cancellation the ledgers are settled with every step that may have run
 * (the one in flight included) and no weights are kept. Never throws.
 */
export async function executeRun(o: ExecuteRunOptions): Promise<void> {
  const { trainer, manager } = o;
  const { ledgers, runs, audit, blobs } = manager;
  const started = performance.now();
  let run = o.run;
  let releases = 0;
  let inFlight = false;
  const metrics: EpochMetricsRecord[] = [];
  const random = createSecureRandom();
  const set = (next: TrainingRunRecord) => {
    run = next;
    o.onUpdate(run);
  };
  const finish = (status: RunStatus, extra: Partial<TrainingRunRecord>, stepsCharged: number) => {
    const now = manager.now();
    const final: TrainingRunRecord = { ...run, ...extra, status, metrics, finishedAt: now.toISOString(), durationMs: Math.round(performance.now() - started) };
    ledgers.settle(run.id, { training: Math.min(stepsCharged, run.stepsPlanned), metrics: releases }, now, () => runs.update(final, true));
    set(final);
    for (const id of run.datasets) {
      audit.append({ dataset: id, caller: run.owner, action: "train-end", outcome: status === "succeeded" ? "ok" : status, details: { run: run.id, steps: final.stepsDone, metricsReleases: releases } });
    }
  };
  try {
    const perEpoch = run.privacy.stepsPerEpoch;
    let lastProgress = 0;
    let cancelled = false;
    for (let epoch = 1; epoch <= run.epochs && !cancelled; epoch++) {
      if (o.signal.aborted) {
        cancelled = true; // cancelled between epochs (the trainer refuses an aborted signal)
        break;
      }
      const base = (epoch - 1) * perEpoch;
      inFlight = true;
      const result = await trainer.fit({
        epochs: 1,
        signal: o.signal,
        onProgress(event) {
          if (event.kind !== "step") return; // the trainer's own metrics are not noised: never released
          const now = performance.now();
          set({ ...run, stepsDone: base + event.step });
          if (now - lastProgress >= PROGRESS_INTERVAL_MS || event.step === perEpoch) {
            lastProgress = now;
            o.publish({ kind: "progress", epoch, step: base + event.step, totalSteps: run.stepsPlanned });
          }
        },
      });
      inFlight = false;
      set({ ...run, stepsDone: base + result.steps });
      if (result.cancelled) {
        cancelled = true;
        break;
      }
      if (o.evaluator !== undefined) {
        const model = await trainer.exportModel();
        const indices = samplePoisson(o.metricsRows, run.privacy.metricsSampleRate, random);
        const sums = await o.evaluator.evaluate(model, indices, run.privacy.lossClip);
        const m = releaseMetrics(sums, run.privacy, { epoch, rows: o.metricsRows, source: o.metricsSource, hasAccuracy: o.hasAccuracy, random });
        releases++;
        metrics.push(m);
        o.publish({ kind: "epoch", metrics: m });
      }
      set({ ...run, metrics: [...metrics] });
      runs.update(run);
    }
    if (cancelled) {
      finish("cancelled", { error: "cancelled by its owner" }, run.stepsDone);
    } else {
      const trained = await trainer.exportModel();
      const trainedSha256 = createHash("sha256").update(trained).digest("hex");
      // Sealed before the run is marked succeeded: a crash in between leaves a "running" run
      // (failed at restart, its blob swept), never a succeeded run without weights.
      await blobs.put("weights", run.id, trained);
      trained.fill(0);
      finish("succeeded", { trainedSha256 }, run.stepsDone);
      if (run.deploy !== undefined) {
        try {
          const model = await manager.deploy(run, run.deploy.name, run.deploy.access);
          set({ ...run, modelId: model.id });
        } catch (err) {
          const e = asServerError(err);
          const message = e.code === "internal" ? "internal error" : e.message;
          set({ ...run, error: `trained, but the deploy failed: ${message}; deploy it under another name with client.training.deploy('${run.id}', NAME)` });
          runs.update(run);
        }
      }
    }
  } catch (err) {
    if (o.signal.aborted && run.status === "running") {
      // Cancelled while a step or the metrics were in flight: what may have run is charged.
      try {
        finish("cancelled", { error: "cancelled by its owner" }, run.stepsDone + (inFlight ? 1 : 0));
        return;
      } catch {
        // fall through: reported as a failure below
      }
    }
    const e = asServerError(err);
    if (e.code === "internal") manager.logger?.error({ run: run.id, errName: (err as Error).name, errCode: (err as { code?: string }).code }, "training run failed");
    try {
      // A step in flight may have updated the model: it counts as run.
      finish("failed", { error: e.code === "internal" ? "the run failed inside the server: the operator can find the cause in the server log" : e.message }, run.stepsDone + (inFlight ? 1 : 0));
    } catch (settleErr) {
      manager.logger?.error({ run: run.id, errName: (settleErr as Error).name }, "could not settle a failed run; its reservation stays in full");
    }
  } finally {
    await trainer.close().catch(() => undefined);
    await o.evaluator?.close().catch(() => undefined);
    o.publish({ kind: "run", run });
  }
}
