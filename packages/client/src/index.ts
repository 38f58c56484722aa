/**
 * @sanctum/client: the TypeScript SDK of Sanctum. `connect()` attests a server before
 * anything is sent, pins its key, and returns a client whose APIs (models, datasets,
 * training, audit) all go over that attested channel. Also the file formats the CLI reads
 * and writes (.npy, .npz, JSON tensors, receipt files). Never imports server code.
 */
export { ClientError } from "./client-error.js";
export type { ClientErrorCode } from "./client-error.js";
export { createTensor, elementCount } from "./typed-tensor.js";
export type { TypedTensor, TensorDataMap, TensorMap } from "./typed-tensor.js";
export { decodeNpy, encodeNpy } from "./npy.js";
export { decodeNpz, encodeNpz } from "./npz.js";
export type { EncodeNpzOptions } from "./npz.js";
export { decodeJsonTensors, encodeJsonTensors } from "./json-tensors.js";
export type { JsonTensor, JsonElement } from "./json-tensors.js";
export { connect } from "./connect.js";
export type { ConnectOptions, SanctumClient } from "./connect.js";
export { UPLOAD_CHUNK_BYTES } from "./models-api.js";
export type { ModelsApi, UploadOptions, AccessOption, PredictOptions, PredictResult } from "./models-api.js";
export type { ModelInfo, TensorSpec, ModelAccess } from "./model-info.js";
export { encodeReceiptFile, decodeReceiptFile, verifyReceiptFile } from "./receipt-file.js";
export type { ReceiptFile, VerifyReceiptOptions, ReceiptVerification, ReceiptProblem } from "./receipt-file.js";
export { spkiFingerprint } from "./server-key.js";
export { readTensorFile, writeTensorFile } from "./tensor-file.js";
export type { TensorFileContents } from "./tensor-file.js";
export { createRemoteLearner } from "./remote-learner.js";
export type { RemoteLearner, RemoteLearnerOptions, FitOptions } from "./remote-learner.js";
export type { DatasetsApi, DatasetUploadOptions } from "./datasets-api.js";
export type { TrainingApi, StartTrainingOptions, LossName, OptimizerName, OptimizerOption } from "./training-api.js";
export type { AuditApi, DatasetAuditLog } from "./audit-api.js";
export type { DatasetInfo, DatasetBudget, LedgerEntry, EpochMetrics, TrainingPrivacy, TrainingRun, TrainingEvent, WeightsRelease } from "./training-types.js";
export { readDatasetFile, encodeDatasetUpload, DATASET_UPLOAD_FORMAT } from "./dataset-file.js";
export type { DatasetFileOptions } from "./dataset-file.js";
export { parseCsvDataset } from "./csv-table.js";
export type { CsvDatasetOptions } from "./csv-table.js";
