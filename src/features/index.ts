export {
  analyzeMessage,
  zonedCalendar,
  defineFeature,
  type AnalyzedMessage,
  type CalendarParts,
  type Feature,
  type FeatureContext,
  type FeatureDefinition,
  type FeatureMessage,
  type FeatureType,
  type FeatureValue,
  type FeatureCalendar,
  type SparseFeatureDefinition,
  DEFAULT_BUSINESS_HOURS,
  UTC_CALENDAR,
  openingTest,
} from './feature.ts';
export { KNOWN_CHANNELS, seasonOf } from './definitions.ts';
export { featureRegistry, featureSetVersion, createOnlineFeatures, toFeatureMessage, resolveCalendar, type OnlineFeatures, type OnlineOptions } from './registry.ts';
export {
  tokenize,
  scoreTone,
  codePoints,
  capsWords,
  questionSentences,
  isDiagnosticQuestion,
  intentBits,
  intents,
  ngramCounts,
  unigramBucket,
  bigramBucket,
  INTENT_LEXICON,
  NGRAM_BUCKETS,
  NEGATORS,
  type Intent,
  type ToneResult,
} from './text.ts';
export { ensureFeatureTables, listConversations, readMessages, type ConversationHeader, type StoredMessage } from './features.store.ts';
export { sqlPrefixFeatures, sqlPrefixQuery, sqlFeatureNames, ngramPrefixSums, type SqlFeatureRow } from './features.sql.ts';
export { buildFeatures, type FeatureBuildOptions, type FeatureBuildProgress, type FeatureBuildSummary } from './features.service.ts';
export { renderFeatureCatalogue } from './catalogue.ts';
