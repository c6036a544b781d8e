export { createSuggestService, type OutcomeScoring, type OutcomeScoringLoader, type SuggestService, type SuggestServiceDeps } from './suggest.service.ts';
export * from './suggest.schemas.ts';
