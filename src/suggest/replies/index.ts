/**
 * Learned reply suggestions (issue 5): the reply index of a listing (canonical replies clustered
 * from its CSRs' past replies, with outcomes), a dual encoder over hashed n-grams trained in tfjs
 * with in-batch negatives, BM25 retrieval, and a learned combination served from plain typed
 * arrays. See ranker.ts for the request path and train.ts for training.
 */
export { buildBm25, type Bm25Index, type Bm25Hit, type Bm25Options, type Bm25SearchOptions } from './bm25.ts';
export { templateText, templateReply, replyKey, retrievalTerms, stemmedWords, normalizeUrl, normalizeDocId, urlsIn, STOP_WORDS } from './text.ts';
export { readReplyConversations, type ReplyConversation, type ReplyMessage, type ReplyRole } from './replies.store.ts';
export {
  buildReplyIndexData,
  createReplyIndex,
  replyExamples,
  contextTerms,
  type CanonicalReply,
  type ContextMessage,
  type OutcomeStats,
  type ReplyIndex,
  type ReplyIndexData,
  type ReplyIndexOptions,
  type ReplyOccurrence,
} from './reply-index.ts';
export { ENCODING_VERSION, contextFeatures, contextSparse, responseFeatures, buildVocabulary, createVocabulary, toSparse, defaultEncodingConfig, type EncodingConfig, type SparseVector, type Vocabulary } from './encoding.ts';
export { compileDualEncoder, concatenateDualEncoders, encodeTower, type CompiledDualEncoder, type DualEncoderWeights, type TowerWeights } from './dual-encoder.ts';
export { trainDualEncoder, tfjsEncodings, defaultDualEncoderConfig, type DualEncoderTrainConfig, type DualEncoderTrainingSet, type DualEncoderTrainResult } from './dual-encoder.train.ts';
export { trainCombiner, defaultCombinerConfig, type CandidateList, type CombinerTrainConfig } from './combiner.train.ts';
export {
  createReplyRanker,
  buildReplyRanker,
  combinerScore,
  outcomeFromHistory,
  FEATURES as REPLY_FEATURES,
  type Combiner,
  type PreparedCandidate,
  type PreparedContext,
  type RankerConfig,
  type ReplyModelParts,
  type ReplyRanker,
  type Suggestion,
  type SuggestOptions,
} from './ranker.ts';
export {
  trainReplyModelFromConversations,
  resolveTrainConfig,
  defaultReplyTrainConfig,
  contextOf,
  type ReplyTrainConfig,
  type ReplyTrainOverrides,
  type ReplyTrainProgress,
  type ReplyTrainReport,
  type ReplyTrainResult,
} from './train.ts';
export { encodeReplyModel, decodeReplyModel, decodeReplyModelSteps, REPLY_MODEL_KIND, ARTIFACT_FORMAT } from './artifact.ts';
export { rankOf, rankingMetrics, type RankingMetrics } from './metrics.ts';
export {
  evaluateResponseSelection,
  evaluateArticleSuggestion,
  assignFolds,
  defaultEvalOptions,
  type EvalOptions,
  type SelectionReport,
  type ArticleReport,
  type FoldReport,
} from './evaluate.ts';
export { trainReplyModel, loadReplyRanker, conversationsHash, REPLY_TARGET, type TrainReplyModelDeps, type TrainReplyModelOptions, type TrainReplyModelResult } from './replies.service.ts';
export { seededRandom } from './random.ts';
export { contextMessage, rankInputLine, suggestInputLine, type ContextMessageInput, type RankInputLine, type SuggestInputLine } from './replies.schemas.ts';
