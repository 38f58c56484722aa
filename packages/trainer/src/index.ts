/**
 * @sanctum/trainer: DP-SGD training of ONNX models on onnxruntime-node.
 * Public API only; everything else is internal.
 */
export { TrainerError } from "./trainer-error.js";
export type { TrainerErrorCode } from "./trainer-error.js";

// Training loop (helper "loop"): optimizers, sampling, noise, the worker-thread trainer, npz.
export { createTrainer } from "./training/create-trainer.js";
export type {
  AccountantName,
  EpochMetrics,
  EvaluationResult,
  FitOptions,
  FitResult,
  MechanismRecord,
  PrivacyOptions,
  PrivacyReport,
  Trainer,
  TrainerOptions,
  TrainingLoss,
  TrainingPlan,
  TrainingProgress,
} from "./training/training-types.js";
export type { DatasetArray, TrainingDataset } from "./training/dataset.js";
export type { TrainerKernels } from "./training/kernel-check.js";
export { createOptimizer } from "./training/optimizer.js";
export type { AdamConfig, Optimizer, OptimizerConfig, SgdConfig } from "./training/optimizer.js";
export { createSecureRandom, createSeededRandom } from "./training/random-source.js";
export type { RandomSource } from "./training/random-source.js";
export { addGaussianNoise } from "./training/gaussian-noise.js";
export { samplePoisson } from "./training/poisson-sampler.js";
export { decodeNpy, decodeNpz, encodeNpy, encodeNpz } from "./training/npz.js";
export type { NpyArray, NpyDataMap, NpyDtype } from "./training/npz.js";
export { planTraining } from "./training/plan-training.js";
export type { PlanTrainingOptions } from "./training/plan-training.js";
export { computeGradients } from "./training/compute-gradients.js";
export type { ComputeGradientsOptions, GradientReport } from "./training/compute-gradients.js";

// Autodiff (helper "autodiff"): ONNX model IO, the training-step graph, DP per-sample norms.
export { buildTrainingGraph } from "./autodiff/build-training-graph.js";
export { detectNchwcBlockSize } from "./autodiff/nchwc-block-size.js";
export type { BuildTrainingGraphOptions, ParamSpec, TrainingGraph } from "./autodiff/build-training-graph.js";
export type { DataInput } from "./autodiff/data-inputs.js";
export type { LossName } from "./autodiff/losses.js";
export { readInitializers, withInitializers } from "./onnx/initializers.js";
export { exportInferenceModel } from "./onnx/inference-model.js";
