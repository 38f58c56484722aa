import type { KeyObject } from "node:crypto";
import type { ConnectRouter } from "@connectrpc/connect";
import { AuditService, DatasetService, TrainingService } from "@sanctum/protocol";
import { createTrainer, type Trainer, type TrainerOptions } from "@sanctum/trainer";
import type { Logger } from "pino";
import { createAuditService } from "../audit/audit-service.js";
import { createDatasetAuditLog } from "../audit/dataset-audit-log.js";
import { createBudgetLedgers } from "../datasets/budget-ledgers.js";
import { createDatasetService } from "../datasets/dataset-service.js";
import { createDatasetStore } from "../datasets/dataset-store.js";
import type { InferencePool } from "../inference/inference-pool.js";
import type { ModelRegistry } from "../models/model-registry.js";
import { MAX_UPLOAD_MESSAGE_BYTES } from "../models/upload-limits.js";
import type { BlobStore } from "../storage/blob-store.js";
import type { SanctumDatabase } from "../storage/database.js";
import { createRunStore } from "./run-store.js";
import { createTrainingManager, type TrainingManager } from "./training-manager.js";
import { createTrainingService } from "./training-service.js";

/** Options of {@link createTrainingFeature}. */
export interface TrainingFeatureOptions {
  readonly db: SanctumDatabase;
  readonly blobs: BlobStore;
  /** Key of the audit heads' MACs (`deriveAuditKey` of the root sealing key). */
  readonly auditKey: Uint8Array;
  readonly models: ModelRegistry;
  /** Validates ONNX and reads signatures. */
  readonly pool: Pick<InferencePool, "inspect">;
  /** The attested TLS private key (signs audit heads). */
  readonly signingKey: KeyObject;
  /** Largest model a run may send, in bytes received. */
  readonly maxModelBytes: number;
  /** Largest dataset (as safetensors), in bytes received; default 1 GiB. */
  readonly maxDatasetBytes?: number;
  /** Training runs at once; default 2. */
  readonly maxConcurrentRuns?: number;
  readonly now: () => Date;
  readonly logger?: Logger;
  /** The trainer factory; default @sanctum/trainer's createTrainer. */
  readonly createTrainer?: (options: TrainerOptions) => Promise<Trainer>;
}

/** Datasets, remote training and audit logs, ready to mount on the server's router. */
export interface TrainingFeature {
  readonly manager: TrainingManager;
  /** Registers DatasetService, TrainingService and AuditService. */
  routes(router: ConnectRouter): void;
  /** Cancels runs in progress and waits for them (call before closing the database). */
  close(): Promise<void>;
}

/**
 * Opens everything issue 6 adds to the server over its database and blob store: dataset
 * store, persistent ledgers, per-dataset audit chains, run store and training manager (which
 * marks runs a crash cut as failed, keeping their reservations), and their RPC services.
 */
export async function createTrainingFeature(options: TrainingFeatureOptions): Promise<TrainingFeature> {
  const datasets = await createDatasetStore(options.db, options.blobs);
  const ledgers = createBudgetLedgers(options.db);
  const audit = createDatasetAuditLog(options.db, options.auditKey, options.now);
  const runs = createRunStore(options.db);
  const manager = await createTrainingManager({
    datasets,
    ledgers,
    runs,
    audit,
    blobs: options.blobs,
    models: options.models,
    inspectModel: (bytes) => options.pool.inspect(bytes),
    createTrainer: options.createTrainer ?? createTrainer,
    ...(options.maxConcurrentRuns === undefined ? {} : { maxConcurrentRuns: options.maxConcurrentRuns }),
    now: options.now,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const datasetService = createDatasetService({
    store: datasets,
    ledgers,
    audit,
    maxDatasetBytes: options.maxDatasetBytes ?? 1024 * 1024 * 1024,
    inUse: (id) => manager.inUse(id),
    now: options.now,
  });
  const trainingService = createTrainingService({ manager, maxModelBytes: options.maxModelBytes });
  const auditService = createAuditService({ datasets, audit, signingKey: options.signingKey, now: options.now });
  const streamed = { readMaxBytes: MAX_UPLOAD_MESSAGE_BYTES * 4 };
  return {
    manager,
    routes(router) {
      router.rpc(DatasetService.method.uploadDataset, datasetService.uploadDataset, streamed);
      router.rpc(DatasetService.method.listDatasets, datasetService.listDatasets);
      router.rpc(DatasetService.method.getDataset, datasetService.getDataset);
      router.rpc(DatasetService.method.getDatasetBudget, datasetService.getDatasetBudget);
      router.rpc(DatasetService.method.deleteDataset, datasetService.deleteDataset);
      router.rpc(TrainingService.method.startTraining, trainingService.startTraining, streamed);
      router.rpc(TrainingService.method.watchTraining, trainingService.watchTraining);
      router.rpc(TrainingService.method.getTraining, trainingService.getTraining);
      router.rpc(TrainingService.method.listTrainings, trainingService.listTrainings);
      router.rpc(TrainingService.method.cancelTraining, trainingService.cancelTraining);
      router.rpc(TrainingService.method.downloadWeights, trainingService.downloadWeights);
      router.rpc(TrainingService.method.deployTraining, trainingService.deployTraining);
      router.service(AuditService, auditService);
    },
    close: () => manager.close(),
  };
}
