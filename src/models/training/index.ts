/**
 * The trainer's TensorFlow.js side (importing this loads tfjs): the pure model builder, the
 * training loop and the evaluation helpers. Tests, benchmarks and train.service.ts use it.
 */
export { initTensorflow, tf, type TfBackendName } from './tf-runtime.ts';
export { buildModel, readWeights, writeWeights } from './model.ts';
export { fitModel, predictWithModel, classWeightsFor, type FitOptions, type FitResult } from './fit.ts';
export {
  DEFAULT_TRAINING,
  trainOn,
  planSplits,
  indicesWhere,
  scoreSet,
  classificationMetrics,
  meanMetrics,
  earlyWarning,
  permutationImportance,
  tuneDecision,
  teacherTargets,
  slotMask,
  type TrainingConfig,
  type TrainedModel,
  type Teacher,
  type SplitKind,
  type SplitPlan,
  type ClassificationMetrics,
  type EarlyWarningPoint,
  type DriverImportance,
} from './evaluate.ts';
