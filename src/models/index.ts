/**
 * Outcome models: training (TensorFlow.js, loaded only when a process trains), evaluation, the
 * registry, and serving (compiled weights: no tensors). Importing this module does not load tfjs:
 * `trainOutcomeModel` and `evaluateUssFile` import the trainer when first called.
 */
import type { AnalyticsDb } from '../analytics-store/index.ts';
import type { OutcomeEvaluation, TrainedOutcome, TrainOutcomeOptions } from './train.service.ts';
import type { UssEvaluation, UssEvaluationOptions } from './uss-eval.ts';

export {
  rocAuc,
  averagePrecision,
  confusionMatrix,
  unweightedAverageRecall,
  cohenKappa,
  spearman,
  spearmanUss,
  binaryF1,
  logLoss,
  brierScore,
  binaryBrier,
  calibrationTable,
  type BinaryF1,
  type CalibrationBin,
} from './metrics.ts';
export { createModelRegistry, type ModelArtifact, type ModelRegistry, type ModelVersion, type ModelVersionMetadata, type SaveOptions } from './registry/index.ts';
export {
  loadOutcomeModel,
  type ConversationSession,
  type OutcomeModel,
  type Prediction,
  type PreparedCandidate,
  type SessionOptions,
} from './outcome-model.ts';
export type { Driver } from './drivers.ts';
export { describeFeature, featureLabel, formatDuration } from './drivers.ts';
export {
  ConversationState,
  RAW_COLUMNS,
  CATEGORY_COLUMNS,
  ENCODING_VERSION,
  SPARSE_SLOTS,
  modelFeatureSet,
  readRaw,
  standardize,
  encodeSparse,
  fitDenseSpec,
  createSparseRow,
  denseLayout,
  type DenseSpec,
  type SparseRow,
  type SparseSlot,
} from './encoding.ts';
export { compileScorer, compactSparse, expandSparse, type CompiledScorer, type CompiledWeights } from './scorer.ts';
export { inputWidth, ngramProduct } from './model.types.ts';
export { encodeArtifact, decodeArtifact, type ArtifactContent } from './artifact.ts';
export { placements, BUILTIN_TARGETS, DISSATISFIED_AT_MOST, ussArgmaxRating, type Placement, type TargetSpec, type LabelValue } from './targets.ts';
export type { ModelConfig, ModelKind, ModelWeights } from './model.types.ts';
export { scoreContextLines, scoreLineSchema, type ScoreSummary } from './batch-score.ts';
export type { OutcomeEvaluation, OutcomeModelMetadata, TrainedOutcome, TrainOutcomeOptions, TrainProgress, GlobalDriver } from './train.service.ts';
export type { UssEvaluation, UssEvaluationOptions } from './uss-eval.ts';

/**
 * Trains an outcome model for a listing from the analytics store: evaluation (a later time period,
 * or k-fold by conversation), then the final model on everything; returns the artifact, its
 * metadata for the registry, and the evaluation.
 */
export async function trainOutcomeModel(db: AnalyticsDb, options: TrainOutcomeOptions): Promise<TrainedOutcome> {
  const trainer = await import('./train.service.ts');
  return trainer.trainOutcomeModel(db, options);
}

/** Evaluation only (no final model), e.g. on a scratch listing. */
export async function evaluateOutcomeModel(db: AnalyticsDb, options: TrainOutcomeOptions): Promise<OutcomeEvaluation> {
  const trainer = await import('./train.service.ts');
  return (await trainer.trainOutcomeModel(db, { ...options, evaluateOnly: true })).evaluation;
}

/** `loopwise eval satisfaction --format uss`: the whole path on a USS file in a scratch store. */
export async function evaluateUssFile(options: UssEvaluationOptions): Promise<UssEvaluation> {
  const evaluation = await import('./uss-eval.ts');
  return evaluation.evaluateUssFile(options);
}
