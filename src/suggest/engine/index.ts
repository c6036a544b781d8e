export { createSuggestService, type SuggestService, type SuggestServiceDeps } from './suggest.service.ts';
export { createInProcessServing, type LearnedRequest, type LearnedResult, type ModelRef, type ModelServing, type OutcomeScoring, type OutcomeScoringLoader } from './model-host.ts';
export { createModelWorkerPool, type ModelWorkerPoolOptions } from './model-pool.ts';
export * from './suggest.schemas.ts';
