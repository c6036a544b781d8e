export { createSuggestionLog, type SuggestionLog, type SuggestionLogDeps } from './suggestion-log.service.ts';
export {
  suggestionSources,
  feedbackOutcomes,
  suggestionIdParams,
  suggestionFeedbackBody,
  suggestionView,
  ruleAnalyticsQuery,
  ruleAnalyticsView,
  type SuggestionSource,
  type FeedbackOutcome,
  type SuggestionFeedbackInput,
  type SuggestionView,
  type RuleAnalyticsInput,
  type RuleAnalyticsView,
  type NewSuggestion,
  type FiredRuleRef,
} from './suggestion-log.schemas.ts';
