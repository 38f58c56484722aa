/**
 * @sanctum/protocol: what client and server share on the wire. The generated protobuf
 * messages and services, identities and access tokens, receipts, tensor digests.
 */
export { ProtocolError } from "./protocol-error.js";
export type { ProtocolErrorCode } from "./protocol-error.js";
export { DTYPES, DTYPE_BYTES, isDtype } from "./dtype.js";
export type { Dtype } from "./dtype.js";
export { digestTensors } from "./tensor-digest.js";
export type { RawTensor } from "./tensor-digest.js";
export {
  generateIdentity,
  publicKeyIdOf,
  parsePublicKeyId,
  isPublicKeyId,
  encodeIdentityFile,
  decodeIdentityFile,
} from "./identity.js";
export type { Identity } from "./identity.js";
export {
  audienceForSpki,
  createAccessToken,
  verifyAccessToken,
  DEFAULT_TOKEN_LIFETIME_SEC,
  MAX_TOKEN_LIFETIME_SEC,
} from "./access-token.js";
export type { CreateAccessTokenOptions, VerifyAccessTokenOptions } from "./access-token.js";
export { signReceipt, verifyReceiptSignature, canonicalJson } from "./receipt.js";
export type { ReceiptPayload, SignedReceipt } from "./receipt.js";
export * from "./gen/sanctum/v1/tensor_pb.js";
export * from "./gen/sanctum/v1/attestation_pb.js";
export * from "./gen/sanctum/v1/models_pb.js";
export { decodeSafetensors, encodeSafetensors } from "./safetensors.js";
export type { SafetensorsContents, DecodeSafetensorsOptions } from "./safetensors.js";
export { validateDatasetArrays, DATASET_DTYPES, LABELS_ARRAY } from "./dataset-arrays.js";
export type { DatasetSummary, DatasetDtype, ValidateDatasetOptions } from "./dataset-arrays.js";
export { hashDatasetAuditEntry, signAuditHead, verifyAuditLog, AUDIT_GENESIS_HASH } from "./audit-chain.js";
export type { DatasetAuditEntry, AuditHeadPayload, SignedStatement, AuditVerification } from "./audit-chain.js";
export * from "./gen/sanctum/v1/datasets_pb.js";
export * from "./gen/sanctum/v1/training_pb.js";
export * from "./gen/sanctum/v1/audit_pb.js";
