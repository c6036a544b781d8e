export { createPredictionEngine, type PredictionEngine, type PredictionEngineDeps, type RefreshResult } from './predictions.engine.ts';
export { createPredictionService, type PredictionService } from './predictions.service.ts';
export { createTrainingService, type OutcomeTrainer, type TrainingService, type TrainingServiceDeps } from './training.service.ts';
export * from './predictions.schemas.ts';
export type { AtRiskRow, StoredPrediction } from './predictions.store.ts';
export type { LoadedOutcomeModel, OutcomeModelLoader, OutcomePrediction, OutcomeSession, PredictionDriver } from './predictions.types.ts';
