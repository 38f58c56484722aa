/**
 * @sanctum/trainer: DP-SGD training of ONNX models on onnxruntime-node.
 * Public API only; everything else is internal.
 */
export { TrainerError } from "./trainer-error.js";
export type { TrainerErrorCode } from "./trainer-error.js";
