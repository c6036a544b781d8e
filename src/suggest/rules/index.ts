export { createRulesService, type RulesService, type RulesServiceDeps, type LiveConversation } from './rules.service.ts';
export { compileRules, termStems, type RuleSource, type CompiledRuleSet, type CompiledRule } from './compile.ts';
export { createConversation, createWordsCache, messageWords, type Conversation, type ConversationMessage, type WordsCache } from './conversation.ts';
export {
  evaluateRules,
  collectHits,
  naiveHits,
  type Evaluation,
  type EvaluationContext,
  type EvaluateOptions,
  type FiredRule,
  type RuleMatch,
  type RenderedAction,
  type Hit,
} from './evaluate.ts';
export { stem } from './stemmer.ts';
export { regexProblem, MAX_REGEX_INPUT } from './regex-safety.ts';
export { templateVariables, templateProblems, type TemplateVariable } from './templates.ts';
export type { PublishedRules } from './published-rules.ts';
export {
  ruleDefinition,
  ruleCondition,
  ruleAction,
  updateRuleBody,
  ruleIdParams,
  listRulesQuery,
  publishRuleBody,
  rollbackRuleBody,
  ruleView,
  ruleVersionView,
  type RuleDefinition,
  type RuleDefinitionInput,
  type RuleCondition,
  type RuleAction,
  type UpdateRuleInput,
  type RuleView,
  type RuleVersionView,
} from './rules.schemas.ts';
export {
  ruleTestBody,
  ruleTestView,
  ruleReplayBody,
  ruleReplayView,
  firedRuleView,
  conversationMessageBody,
  type RuleTestInput,
  type RuleTestView,
  type RuleReplayInput,
  type RuleReplayView,
} from './evaluation.schemas.ts';
