import { compileDualEncoder, dot, type DualEncoderWeights } from './dual-encoder.ts';
import { contextFeatures, createVocabulary, responseFeatures, toSparse, type EncodingConfig, type Vocabulary } from './encoding.ts';
import { contextTerms, createReplyIndex, type CanonicalReply, type ContextMessage, type ReplyIndex, type ReplyIndexData } from './reply-index.ts';
import { retrievalTerms, stemmedWords, templateReply, urlsIn } from './text.ts';

/**
 * The response ranker at serving time: no tensors, no DuckDB, no awaits. For one request:
 *
 * 1. the context is encoded once (dual-encoder vector; retrieval terms of the last message and of
 *    the recent context; the nearest past contexts in the index — "replies that were given in
 *    similar conversations");
 * 2. candidates are either given (`rank`) or gathered from the index (`suggest`: the replies that
 *    followed the nearest past contexts, BM25 over the canonical replies, and the brand's most used
 *    replies);
 * 3. each candidate gets a small feature vector (`FEATURES`) and a linear score learnt as a
 *    conditional logit over candidate lists (combiner.train.ts): one weight set for given texts
 *    (`rank`), one for canonical replies from the index (`suggest`, whose candidates carry
 *    popularity and history).
 *
 * Outcome-aware ranking (`suggest`): when an `outcomeAfter(text, reply)` function is injected
 * (the outcome models' P(good outcome | the conversation continues with this reply)), the final
 * score is  relevance + outcomeWeight · ln(max(P, 0.01)). The relevance score is a log-linear
 * (softmax) score, so with outcomeWeight = 1 this ranks by P(reply is right) · P(good outcome):
 * a reply half as likely to lead to a good outcome needs twice the relevance. 0 switches it off;
 * larger values favour outcomes over relevance. Without the function the ranking is relevance
 * only.
 */

export const FEATURES = [
  'dual_encoder',
  'bm25_last',
  'bm25_context',
  'knn_max',
  'knn_max_relative',
  'knn_sum_relative',
  'log_size',
  'in_index',
  'log_length',
  'neighbour_lexical',
  'neighbour_vector',
  'has_link',
] as const;
export const FEATURE_COUNT = FEATURES.length;

/** A learnt linear scorer over standardised features. */
export interface Combiner {
  mean: Float32Array;
  std: Float32Array;
  weights: Float32Array;
}

export interface RankerConfig {
  encoding: EncodingConfig;
  /** Nearest past contexts looked at per request. */
  neighbours: number;
  /** Candidates from BM25 over the canonical replies (suggest). */
  replyCandidates: number;
  /** Most used replies of the brand added as candidates (suggest). */
  popularCandidates: number;
  /** Messages of the context used as the BM25 query against reply texts. */
  queryTurns: number;
}

export const defaultRankerConfig: Omit<RankerConfig, 'encoding'> = { neighbours: 50, replyCandidates: 30, popularCandidates: 20, queryTurns: 3 };

/** Everything a ranker needs; what the artifact stores. */
export interface ReplyModelParts {
  config: RankerConfig;
  index: ReplyIndexData;
  contextVocabulary: Int32Array;
  responseVocabulary: Int32Array;
  dualEncoder: DualEncoderWeights;
  rank: Combiner;
  suggest: Combiner;
}

export interface PreparedContext {
  readonly messages: readonly ContextMessage[];
  readonly brand: string | null | undefined;
  readonly group: number | undefined;
  readonly vector: Float32Array;
  readonly lastTerms: readonly string[];
  readonly queryTerms: readonly string[];
  /** Per cluster: best and summed BM25 of its past contexts among the nearest ones. */
  readonly knn: ReadonlyMap<number, { max: number; sum: number }>;
  readonly knnTop: number;
  /** idf-weighted terms of the replies given after the nearest past contexts (weighted by similarity), L2-normalised. */
  readonly neighbourTerms: ReadonlyMap<string, number>;
  /** Similarity-weighted mean of their dual-encoder reply vectors, L2-normalised. */
  readonly neighbourVector: Float32Array;
}

export interface PreparedCandidate {
  readonly text: string;
  readonly terms: readonly string[];
  readonly words: number;
  readonly vector: Float32Array;
  readonly vectorOffset: number;
  /** L2 norm of the vector. */
  readonly vectorNorm: number;
  /** Distinct terms with their idf, and the norm of that vector. */
  readonly termWeights: ReadonlyMap<string, number>;
  readonly termNorm: number;
  /** The reply links something (a help article). */
  readonly hasLink: boolean;
  readonly cluster: CanonicalReply | undefined;
}

export interface Suggestion {
  text: string;
  source: 'learned';
  /** Softmax of the final scores over the candidates considered (comparable within a request). */
  score: number;
  replyId: number;
  /** Times this canonical reply was given in the listing's history. */
  count: number;
  docId?: string;
  url?: string;
  /** P(good outcome) from `outcomeAfter`, when given. */
  outcome?: number;
}

export interface SuggestOptions {
  top?: number;
  /** Restrict to the replies of one brand/queue (multi-brand listings). */
  brand?: string | null;
  outcomeAfter?: (text: string, reply: CanonicalReply) => number;
  /** Weight of ln P(good outcome) (default 1). */
  outcomeWeight?: number;
}

export interface ReplyRanker {
  readonly parts: ReplyModelParts;
  readonly index: ReplyIndex;
  prepareContext(messages: readonly ContextMessage[], brand?: string | null): PreparedContext;
  prepareCandidate(text: string, brand?: string | null): PreparedCandidate;
  /** The feature vector of a candidate for a context (FEATURES order). */
  features(context: PreparedContext, candidate: PreparedCandidate, into?: Float32Array): Float32Array;
  /** Scores of given candidate texts (higher is better; comparable within one call). */
  rank(messages: readonly ContextMessage[], candidates: readonly string[], brand?: string | null): number[];
  scorePrepared(context: PreparedContext, candidates: readonly PreparedCandidate[], combiner?: 'rank' | 'suggest'): Float64Array;
  /** Canonical replies of the index for the context, best first. */
  suggest(messages: readonly ContextMessage[], options?: SuggestOptions): Suggestion[];
  /** The candidate clusters `suggest` considers for a context (before scoring). */
  candidateClusters(context: PreparedContext): number[];
  /** A canonical reply of the index as a prepared candidate. */
  clusterCandidate(id: number): PreparedCandidate;
}

export function combinerScore(combiner: Combiner, features: Float32Array): number {
  let score = 0;
  const { mean, std, weights } = combiner;
  for (let i = 0; i < weights.length; i++) score += weights[i]! * ((features[i]! - mean[i]!) / std[i]!);
  return score;
}

export function createReplyRanker(parts: ReplyModelParts): ReplyRanker {
  const index = createReplyIndex(parts.index);
  const contextVocabulary: Vocabulary = createVocabulary(parts.contextVocabulary);
  const responseVocabulary: Vocabulary = createVocabulary(parts.responseVocabulary);
  const encoder = compileDualEncoder(parts.dualEncoder);
  const dim = encoder.dim;
  const { config } = parts;
  // Precomputed per canonical reply: its dual-encoder vector (packed), length.
  const clusterVectors = new Float32Array(index.clusters.length * dim);
  const clusterWords = new Float32Array(index.clusters.length);
  for (const cluster of index.clusters) {
    encoder.encodeResponse(toSparse(responseFeatures(cluster.text, config.encoding), responseVocabulary), clusterVectors.subarray(cluster.id * dim, (cluster.id + 1) * dim));
    clusterWords[cluster.id] = index.clusterWords[cluster.id]!.length;
  }
  const termWeightsOf = (terms: readonly string[]) => {
    const weights = new Map<string, number>();
    let norm = 0;
    for (const term of terms) {
      if (weights.has(term)) continue;
      const idf = index.replies.idf(term);
      weights.set(term, idf);
      norm += idf * idf;
    }
    return { termWeights: weights, termNorm: Math.sqrt(norm) };
  };
  const norm = (vector: Float32Array, offset: number) => Math.sqrt(dot(vector, vector, offset, dim, offset));
  const clusterCandidates: PreparedCandidate[] = index.clusters.map((cluster) => ({
    text: cluster.text,
    terms: index.clusterTerms[cluster.id]!,
    words: clusterWords[cluster.id]!,
    vector: clusterVectors,
    vectorOffset: cluster.id * dim,
    vectorNorm: norm(clusterVectors, cluster.id * dim),
    ...termWeightsOf(index.clusterTerms[cluster.id]!),
    hasLink: Boolean(cluster.url || cluster.docId) || urlsIn(cluster.text).length > 0,
    cluster,
  }));
  const groupOf = (brand: string | null | undefined) => (brand === undefined ? undefined : (index.brandGroups.get(brand) ?? -1));

  const prepareContext = (messages: readonly ContextMessage[], brand?: string | null): PreparedContext => {
    const group = groupOf(brand);
    const vector = encoder.encodeContext(toSparse(contextFeatures(messages, config.encoding), contextVocabulary));
    const lastTerms = messages.length > 0 ? retrievalTerms(messages[messages.length - 1]!.text) : [];
    const queryTerms = contextTerms(messages, config.queryTurns);
    const knn = new Map<number, { max: number; sum: number }>();
    let knnTop = 0;
    const knnQuery = index.data.contextTurns === config.queryTurns ? queryTerms : contextTerms(messages, index.data.contextTurns);
    if (knnQuery.length > 0 && group !== -1) {
      for (const hit of index.contexts.search(knnQuery, config.neighbours, group === undefined ? {} : { group })) {
        const cluster = index.occurrenceCluster[hit.doc]!;
        const entry = knn.get(cluster);
        if (entry) {
          entry.sum += hit.score;
          if (hit.score > entry.max) entry.max = hit.score;
        } else knn.set(cluster, { max: hit.score, sum: hit.score });
        if (hit.score > knnTop) knnTop = hit.score;
      }
    }
    // The replies that followed the nearest contexts, pooled: lexically and as vectors.
    const neighbourTerms = new Map<string, number>();
    const neighbourVector = new Float32Array(dim);
    for (const [cluster, { sum }] of knn) {
      const weight = sum / (knnTop || 1);
      const candidate = clusterCandidates[cluster]!;
      for (const [term, idf] of candidate.termWeights) neighbourTerms.set(term, (neighbourTerms.get(term) ?? 0) + (weight * idf) / (candidate.termNorm || 1));
      const scale = weight / (candidate.vectorNorm || 1);
      for (let k = 0; k < dim; k++) neighbourVector[k] = neighbourVector[k]! + scale * clusterVectors[candidate.vectorOffset + k]!;
    }
    let termsNorm = 0;
    for (const value of neighbourTerms.values()) termsNorm += value * value;
    termsNorm = Math.sqrt(termsNorm) || 1;
    for (const [term, value] of neighbourTerms) neighbourTerms.set(term, value / termsNorm);
    const vectorNorm = Math.sqrt(dot(neighbourVector, neighbourVector)) || 1;
    for (let k = 0; k < dim; k++) neighbourVector[k] = neighbourVector[k]! / vectorNorm;
    return { messages, brand, group, vector, lastTerms, queryTerms, knn, knnTop, neighbourTerms, neighbourVector };
  };

  const prepareCandidate = (text: string, brand?: string | null): PreparedCandidate => {
    const templated = templateReply(text);
    const vector = encoder.encodeResponse(toSparse(responseFeatures(text, config.encoding), responseVocabulary));
    const terms = retrievalTerms(templated, { mentions: true });
    return {
      text,
      terms,
      words: stemmedWords(templated).length,
      vector,
      vectorOffset: 0,
      vectorNorm: norm(vector, 0),
      ...termWeightsOf(terms),
      hasLink: urlsIn(text).length > 0,
      cluster: index.lookup(text, brand),
    };
  };

  const features = (context: PreparedContext, candidate: PreparedCandidate, into = new Float32Array(FEATURE_COUNT)): Float32Array => {
    const cluster = candidate.cluster;
    const knn = cluster ? context.knn.get(cluster.id) : undefined;
    const top = context.knnTop || 1;
    into[0] = encoder.score(context.vector, candidate.vector, candidate.vectorOffset);
    into[1] = index.replies.scoreText(context.lastTerms, candidate.terms);
    into[2] = index.replies.scoreText(context.queryTerms, candidate.terms);
    into[3] = knn ? knn.max : 0;
    into[4] = knn ? knn.max / top : 0;
    into[5] = knn ? knn.sum / top : 0;
    into[6] = cluster ? Math.log1p(cluster.size) : 0;
    into[7] = cluster ? 1 : 0;
    into[8] = Math.log1p(candidate.words);
    let lexical = 0;
    if (candidate.termNorm > 0) {
      for (const [term, idf] of candidate.termWeights) lexical += idf * (context.neighbourTerms.get(term) ?? 0);
      lexical /= candidate.termNorm;
    }
    into[9] = lexical;
    into[10] = dot(context.neighbourVector, candidate.vector, candidate.vectorOffset, dim) / (candidate.vectorNorm || 1);
    into[11] = candidate.hasLink ? 1 : 0;
    return into;
  };

  const scratch = new Float32Array(FEATURE_COUNT);
  const scorePrepared = (context: PreparedContext, candidates: readonly PreparedCandidate[], which: 'rank' | 'suggest' = 'rank'): Float64Array => {
    const combiner = which === 'rank' ? parts.rank : parts.suggest;
    const scores = new Float64Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) scores[i] = combinerScore(combiner, features(context, candidates[i]!, scratch));
    return scores;
  };

  const candidateClusters = (context: PreparedContext): number[] => {
    if (context.group === -1) return [];
    const seen = new Set<number>(context.knn.keys());
    if (context.queryTerms.length > 0) {
      for (const hit of index.replies.search(context.queryTerms, config.replyCandidates, context.group === undefined ? {} : { group: context.group })) seen.add(hit.doc);
    }
    for (const id of index.popular(context.group, config.popularCandidates)) seen.add(id);
    return [...seen];
  };

  return {
    parts,
    index,
    prepareContext,
    prepareCandidate,
    features,
    scorePrepared,
    candidateClusters,
    clusterCandidate: (id) => clusterCandidates[id]!,
    rank(messages, candidates, brand) {
      const context = prepareContext(messages, brand);
      return [...scorePrepared(context, candidates.map((text) => prepareCandidate(text, brand)), 'rank')];
    },
    suggest(messages, options = {}) {
      const top = options.top ?? 5;
      const context = prepareContext(messages, options.brand);
      const ids = candidateClusters(context);
      const candidates = ids.map((id) => clusterCandidates[id]!);
      const scores = scorePrepared(context, candidates, 'suggest');
      const outcomes = options.outcomeAfter ? new Float64Array(ids.length) : undefined;
      if (options.outcomeAfter && outcomes) {
        const weight = options.outcomeWeight ?? 1;
        for (let i = 0; i < ids.length; i++) {
          const p = Math.min(1, Math.max(0, options.outcomeAfter(candidates[i]!.text, candidates[i]!.cluster!)));
          outcomes[i] = p;
          scores[i] = scores[i]! + weight * Math.log(Math.max(p, 0.01));
        }
      }
      let max = -Infinity;
      for (const score of scores) if (score > max) max = score;
      let total = 0;
      for (const score of scores) total += Math.exp(score - max);
      const order = ids.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || ids[a]! - ids[b]!);
      return order.slice(0, top).map((i) => {
        const cluster = candidates[i]!.cluster!;
        return {
          text: cluster.text,
          source: 'learned' as const,
          score: Math.exp(scores[i]! - max) / total,
          replyId: cluster.id,
          count: cluster.size,
          ...(cluster.docId ? { docId: cluster.docId } : {}),
          ...(cluster.url ? { url: cluster.url } : {}),
          ...(outcomes ? { outcome: outcomes[i]! } : {}),
        };
      });
    },
  };
}
