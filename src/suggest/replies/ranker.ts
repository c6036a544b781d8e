import { dot, encodeTower, finishTower, type DualEncoderWeights, type TowerWeights } from './dual-encoder.ts';
import { contextSlots, createVocabulary, EARLIER_SLOT, markerFeatures, normalisedNgrams, responseFeaturesOfWords, slotKey, toSparse, type EncodingConfig, type Vocabulary } from './encoding.ts';
import { defaultQueryBudget, type Bm25QueryBudget } from './bm25.ts';
import { createReplyIndexSteps, type CanonicalReply, type ContextMessage, type ReplyIndex, type ReplyIndexData } from './reply-index.ts';
import { createBoundedCache, createTimeSlice, runSliced, runToEnd, type Steps, type TimeSlice } from '../../platform/index.ts';
import { addQuantizedRow, createQuantizedRows, dotQuantizedPair, quantizedRowNorm, quantizeRowInto, quantizeRowsSteps } from './quantized.ts';
import { messageWords, STOP_WORDS, urlsIn } from './text.ts';

/**
 * The response ranker at serving time: no tensors, no DuckDB, no awaits. For one request:
 *
 * 1. the context is encoded once: each recent message templated and stemmed once; the dual
 *    encoder's context vector; BM25 query weights of the last message and of the recent context;
 *    the nearest past contexts in the index ("replies that were given in similar conversations");
 *    the replies that followed them, pooled as terms and as a vector;
 * 2. candidates are either given (`rank`) or gathered from the index (`suggest`: the replies of
 *    the nearest contexts, BM25 over the canonical replies, and the brand's most used replies);
 *    BM25 queries run on a bounded budget (rarest terms first, bm25.ts);
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
  'repeats_context',
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
  /** Work bound of each BM25 query on the request path (bm25.ts). */
  budget: Bm25QueryBudget;
  /** Messages whose context-encoder bags are kept (each ≤ 3 × dim floats). */
  bagCache: number;
}

export const defaultRankerConfig: Omit<RankerConfig, 'encoding'> = {
  neighbours: 40,
  replyCandidates: 15,
  popularCandidates: 10,
  queryTurns: 3,
  budget: { maxTerms: 6, maxPostings: 3_000 },
  bagCache: 2_048,
};

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
  /**
   * The canonical replies that followed the nearest past contexts, in order of their best hit,
   * with (parallel) the best and the summed BM25 of their contexts among the nearest ones.
   */
  readonly knnClusters: Int32Array;
  readonly knnMax: Float64Array;
  readonly knnSum: Float64Array;
  readonly knnTop: number;
  /**
   * Sparse term-id vectors (ids in the reply BM25 index, parallel value arrays): the BM25 query
   * weights (idf × count) of the last message and of the recent context, and the idf-weighted
   * terms of the replies that followed the nearest past contexts (similarity-weighted,
   * L2-normalised). Scoring loads them into dense scratch arrays once per context.
   */
  readonly lastWeights: SparseTerms;
  readonly queryWeights: SparseTerms;
  readonly neighbourTerms: SparseTerms;
  /** Distinct term ids of each recent CSR message (at most 8): a reply that repeats one is rarely the next. */
  readonly csrTerms: readonly Int32Array[];
  /** Similarity-weighted mean of the neighbours' dual-encoder reply vectors, L2-normalised. */
  readonly neighbourVector: Float32Array;
}

export interface SparseTerms {
  ids: Int32Array;
  values: Float32Array;
}

export interface PreparedCandidate {
  readonly text: string;
  /** Ids (in the reply BM25 index) of the retrieval terms it knows, sorted; `termCount` counts all terms. */
  readonly termIds: Int32Array;
  readonly termCount: number;
  readonly words: number;
  /**
   * The dual encoder's response vector: of a given text as floats (`vectorRow` −1); of a canonical
   * reply, row `vectorRow` of the ranker's quantized reply vectors (`vector` empty).
   */
  readonly vector: Float32Array;
  readonly vectorRow: number;
  /** L2 norm of the vector. */
  readonly vectorNorm: number;
  /** Norm of the idf vector of the distinct terms (the lexical neighbour feature's cosine). */
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

/**
 * An `outcomeAfter` from the reply index's own history, for listings without an outcome model:
 * the share of a canonical reply's next customer turns rated above `dissatisfiedAtMost` (or, where
 * no turn is rated, of its conversations resolved), shrunk toward the listing-wide share with
 * `strength` pseudo-observations, so a reply seen twice is not judged on two ratings.
 */
export function outcomeFromHistory(index: ReplyIndex, options: { strength?: number; dissatisfiedAtMost?: number } = {}): (text: string, reply: CanonicalReply) => number {
  const strength = options.strength ?? 10;
  // OutcomeStats counts ratings ≤ 2 as dissatisfied; other thresholds are not recorded.
  if ((options.dissatisfiedAtMost ?? 2) !== 2) throw new Error('outcomeFromHistory: the index records dissatisfaction as a rating ≤ 2');
  const observed = (reply: CanonicalReply): { n: number; good: number } =>
    reply.outcomes.nextRated > 0
      ? { n: reply.outcomes.nextRated, good: reply.outcomes.nextRated - reply.outcomes.nextDissatisfied }
      : { n: reply.outcomes.resolvedKnown, good: reply.outcomes.resolved };
  let n = 0;
  let good = 0;
  for (const reply of index.clusters) {
    const counts = observed(reply);
    n += counts.n;
    good += counts.good;
  }
  const prior = n > 0 ? good / n : 0.5;
  return (_text, reply) => {
    const counts = observed(reply);
    return (counts.good + strength * prior) / (counts.n + strength);
  };
}

export function combinerScore(combiner: Combiner, features: Float32Array): number {
  let score = 0;
  const { mean, std, weights } = combiner;
  for (let i = 0; i < weights.length; i++) score += weights[i]! * ((features[i]! - mean[i]!) / std[i]!);
  return score;
}

export interface ReplyRankerOptions {
  /**
   * Keep `parts` reachable from the ranker (default true), e.g. to encode the artifact again. A
   * serving ranker passes false: the parts hold the index's occurrence objects (one per reply
   * given, with its context's terms), which only building needs and which every major GC would
   * otherwise trace; its `parts` then throws.
   */
  retainParts?: boolean;
}

export function createReplyRanker(parts: ReplyModelParts, options: ReplyRankerOptions = {}): ReplyRanker {
  return runToEnd(replyRankerSteps(parts, options));
}

/**
 * The same ranker built in time slices, for the api: building one over a 100k-reply index is ~3 s
 * of synchronous work (its BM25 indexes, every canonical reply through the response tower), which
 * held every request of the process when a listing's new model was promoted.
 */
export function buildReplyRanker(parts: ReplyModelParts, options: ReplyRankerOptions = {}, slice: TimeSlice = createTimeSlice()): Promise<ReplyRanker> {
  return runSliced(replyRankerSteps(parts, options), slice);
}

/** Canonical replies between two yields of a build (~0.1 ms of work). */
const CLUSTERS_PER_STEP = 32;

function* replyRankerSteps(parts: ReplyModelParts, options: ReplyRankerOptions): Steps<ReplyRanker> {
  // Closures below must not capture `parts` (see retainParts): what they need is taken here.
  const kept = options.retainParts === false ? undefined : parts;
  const combiners = { rank: parts.rank, suggest: parts.suggest };
  const index = yield* createReplyIndexSteps(parts.index);
  const contextVocabulary: Vocabulary = createVocabulary(parts.contextVocabulary);
  const responseVocabulary: Vocabulary = createVocabulary(parts.responseVocabulary);
  const dim = parts.dualEncoder.dim;
  // The response tower as trained (given candidates are encoded per request); the context tower
  // is served from int8 rows below, so the ranker keeps its bias and dense layer only, not the
  // float embedding (tens of MB per listing).
  const responseTower = parts.dualEncoder.response;
  const towerScratch = new Float32Array(dim);
  const encodeResponse = (input: ReturnType<typeof toSparse>, out = new Float32Array(dim)) => encodeTower(responseTower, dim, input, out, towerScratch);
  const { config } = parts;
  // Precomputed per canonical reply: its dual-encoder vector (int8 rows, quantized.ts), word
  // count, idf norm. The context tower's embedding is read as int8 rows too.
  const clusterVectors = createQuantizedRows(index.clusters.length, dim);
  const clusterWordCounts = new Int32Array(index.clusters.length);
  const encoded = new Float32Array(dim);
  for (const cluster of index.clusters) {
    if (cluster.id % CLUSTERS_PER_STEP === 0) yield;
    const words = index.clusterWords(cluster.id);
    clusterWordCounts[cluster.id] = words.length;
    quantizeRowInto(clusterVectors, cluster.id, encodeResponse(toSparse(responseFeaturesOfWords(words, config.encoding), responseVocabulary), encoded));
  }
  const noVector = new Float32Array(0);
  const replies = index.replies;
  const termIdsOf = (terms: readonly string[]) => {
    const ids: number[] = [];
    for (const term of terms) {
      const id = replies.termId(term);
      if (id >= 0) ids.push(id);
    }
    return Int32Array.from(ids).sort();
  };
  const idfNorm = (sorted: Int32Array) => {
    let sum = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (i > 0 && sorted[i] === sorted[i - 1]) continue;
      const idf = replies.idfOf(sorted[i]!);
      sum += idf * idf;
    }
    return Math.sqrt(sum);
  };
  const norm = (vector: Float32Array) => Math.sqrt(dot(vector, vector, 0, dim));
  // A canonical reply as a candidate is made when a request needs it (a few dozen per request,
  // dead before the next scavenge) from numbers precomputed here: 52k resident candidate objects,
  // with their term-id views and boxed norms, were ~200k objects for every major GC to trace.
  const clusterVectorNorms = new Float64Array(index.clusters.length);
  const clusterTermNorms = new Float64Array(index.clusters.length);
  const clusterHasLink = new Uint8Array(index.clusters.length);
  for (const cluster of index.clusters) {
    if (cluster.id % (CLUSTERS_PER_STEP * 8) === 0) yield;
    clusterVectorNorms[cluster.id] = quantizedRowNorm(clusterVectors, cluster.id);
    clusterTermNorms[cluster.id] = idfNorm(index.clusterTermIds(cluster.id));
    clusterHasLink[cluster.id] = cluster.url || cluster.docId || urlsIn(cluster.text).length > 0 ? 1 : 0;
  }
  const clusterCandidate = (id: number): PreparedCandidate => {
    const cluster = index.clusters[id]!;
    const termIds = index.clusterTermIds(id);
    return {
      text: cluster.text,
      termIds,
      termCount: termIds.length,
      words: clusterWordCounts[id]!,
      vector: noVector,
      vectorRow: id,
      vectorNorm: clusterVectorNorms[id]!,
      termNorm: clusterTermNorms[id]!,
      hasLink: clusterHasLink[id] === 1,
      cluster,
    };
  };
  const groupOf = (brand: string | null | undefined) => (brand === undefined ? undefined : (index.brandGroups.get(brand) ?? -1));
  const budget = config.budget ?? defaultQueryBudget;
  const MAX_CSR_SETS = 8;

  // The context tower's embedding bag is linear in the messages: each message's bag (per slot) is
  // computed once and kept, so a conversation that grew by one message costs one new bag plus a
  // weighted sum of six vectors, not the whole bag again. Bounded, least recently used out.
  const contextEmbedding = yield* quantizeRowsSteps(parts.dualEncoder.context.embedding, dim);
  const { embedding: _floatEmbedding, ...contextLayers } = parts.dualEncoder.context;
  const contextTower: TowerWeights = { ...contextLayers, embedding: new Float32Array(0) };
  const bags = createBoundedCache<readonly string[], Array<Float32Array | undefined>>(Math.max(2, config.bagCache ?? defaultRankerConfig.bagCache));
  // Only bags a later request can use again are kept: a message sits in slot 0 and in slot 1 for
  // one request each as its conversation grows, and in the earlier slot for up to four. Keeping
  // the other two was ~1.6 KB per request that survived into the old generation for nothing.
  const keepsBag = (slot: number) => config.encoding.sharedSlots || slot === EARLIER_SLOT;
  const bagScratch = [new Float32Array(dim), new Float32Array(dim)];
  const messageBag = (words: readonly string[], slot: number): Float32Array => {
    let entry: Array<Float32Array | undefined> | undefined;
    if (keepsBag(slot)) {
      entry = bags.get(words);
      if (!entry) bags.set(words, (entry = []));
      const cached = entry[slot];
      if (cached) return cached;
    }
    const bag = entry ? new Float32Array(dim) : bagScratch[slot]!.fill(0);
    const { buckets, values } = normalisedNgrams(words);
    for (let j = 0; j < buckets.length; j++) {
      const row = contextVocabulary.row(slotKey(slot, buckets[j]!));
      if (row !== undefined) addQuantizedRow(contextEmbedding, row, values[j]!, bag);
    }
    if (entry) entry[slot] = bag;
    return bag;
  };
  const preActivation = new Float32Array(dim);
  const encodeContext = (messages: readonly ContextMessage[], words: ReadonlyArray<readonly string[] | undefined>): Float32Array => {
    const out = new Float32Array(dim);
    const a = contextTower.dense ? preActivation : out;
    a.set(contextTower.bias);
    contextSlots(messages.length, config.encoding, (position, slot, weight) => {
      const bag = messageBag(words[position] ?? messageWords(messages[position]!.text), slot);
      for (let k = 0; k < dim; k++) a[k] = a[k]! + weight * bag[k]!;
    });
    for (const [key, value] of markerFeatures(messages)) {
      const row = contextVocabulary.row(key);
      if (row !== undefined) addQuantizedRow(contextEmbedding, row, value, a);
    }
    return finishTower(contextTower, dim, a, out);
  };

  const sparseOf = (weights: ReadonlyMap<number, number>, scale = 1): SparseTerms => {
    const ids = new Int32Array(weights.size);
    const values = new Float32Array(weights.size);
    let i = 0;
    for (const [id, value] of weights) {
      ids[i] = id;
      values[i++] = value * scale;
    }
    return { ids, values };
  };

  // Scratch for pooling the nearest contexts' replies' terms (a Map per request was the larger part
  // of preparing a context): values by term id, and the ids touched, in first-touch order.
  const pooledScratch = new Float64Array(replies.terms);
  const pooledSeen = new Uint8Array(replies.terms);
  let pooledIds = new Int32Array(1024);
  // Scratch for gathering the nearest contexts by canonical reply: its slot (−1: none yet), and per
  // slot the reply, the best and the summed score.
  const knnSlot = new Int32Array(index.clusters.length).fill(-1);
  const knnClusterScratch = new Int32Array(Math.max(1, config.neighbours));
  const knnMaxScratch = new Float64Array(Math.max(1, config.neighbours));
  const knnSumScratch = new Float64Array(Math.max(1, config.neighbours));

  const prepareContext = (messages: readonly ContextMessage[], brand?: string | null): PreparedContext => {
    const group = groupOf(brand);
    // Each recent message templated and stemmed once, for the encoder and the BM25 queries.
    const n = messages.length;
    const recent = Math.min(n, Math.max(config.encoding.maxTurns, config.queryTurns, index.contextTurns));
    const words: Array<readonly string[] | undefined> = new Array<readonly string[] | undefined>(n);
    for (let i = n - recent; i < n; i++) words[i] = messageWords(messages[i]!.text);
    const termsOf = (turns: number) => {
      const terms: string[] = [];
      for (let i = Math.max(0, n - turns); i < n; i++) for (const word of words[i]!) if (!STOP_WORDS.has(word)) terms.push(word);
      return terms;
    };
    const vector = encodeContext(messages, words);
    const csrTerms: Int32Array[] = [];
    for (let i = n - 1; i >= n - recent && csrTerms.length < MAX_CSR_SETS; i--) {
      if (messages[i]!.role !== 'csr') continue;
      const ids = new Set<number>();
      for (const word of words[i]!) {
        const id = replies.termId(word);
        if (id >= 0 && !STOP_WORDS.has(word)) ids.add(id);
      }
      if (ids.size > 0) csrTerms.push(Int32Array.from(ids));
    }
    const lastTerms = termsOf(1);
    const queryTerms = termsOf(config.queryTurns);
    let knnCount = 0;
    let knnTop = 0;
    const knnQuery = index.contextTurns === config.queryTurns ? queryTerms : termsOf(index.contextTurns);
    if (knnQuery.length > 0 && group !== -1) {
      for (const hit of index.contexts.search(knnQuery, config.neighbours, { budget, ...(group === undefined ? {} : { group }) })) {
        const cluster = index.occurrenceCluster[hit.doc]!;
        let at = knnSlot[cluster]!;
        if (at < 0) {
          knnSlot[cluster] = at = knnCount++;
          knnClusterScratch[at] = cluster;
          knnMaxScratch[at] = hit.score;
          knnSumScratch[at] = hit.score;
        } else {
          knnSumScratch[at] = knnSumScratch[at]! + hit.score;
          if (hit.score > knnMaxScratch[at]!) knnMaxScratch[at] = hit.score;
        }
        if (hit.score > knnTop) knnTop = hit.score;
      }
    }
    // The replies that followed the nearest contexts, pooled: lexically and as vectors.
    let pooledCount = 0;
    const neighbourVector = new Float32Array(dim);
    const knnClusters = knnClusterScratch.slice(0, knnCount);
    const knnMax = knnMaxScratch.slice(0, knnCount);
    const knnSum = knnSumScratch.slice(0, knnCount);
    for (let at = 0; at < knnCount; at++) {
      const cluster = knnClusters[at]!;
      knnSlot[cluster] = -1;
      const weight = knnSum[at]! / (knnTop || 1);
      const termScale = weight / (clusterTermNorms[cluster] || 1);
      const ids = index.clusterTermIds(cluster);
      if (pooledCount + ids.length > pooledIds.length) {
        const grown = new Int32Array(Math.max(pooledIds.length * 2, pooledCount + ids.length));
        grown.set(pooledIds.subarray(0, pooledCount));
        pooledIds = grown;
      }
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (i > 0 && id === ids[i - 1]) continue;
        if (!pooledSeen[id]) {
          pooledSeen[id] = 1;
          pooledIds[pooledCount++] = id;
        }
        pooledScratch[id] = pooledScratch[id]! + termScale * replies.idfOf(id);
      }
      const scale = (weight / (clusterVectorNorms[cluster] || 1)) * clusterVectors.scales[cluster]!;
      const codes = clusterVectors.codes;
      const offset = cluster * dim;
      for (let k = 0; k < dim; k++) neighbourVector[k] = neighbourVector[k]! + scale * codes[offset + k]!;
    }
    let pooledNorm = 0;
    for (let i = 0; i < pooledCount; i++) pooledNorm += pooledScratch[pooledIds[i]!]! ** 2;
    const pooledScale = 1 / (Math.sqrt(pooledNorm) || 1);
    const neighbourTerms: SparseTerms = { ids: pooledIds.slice(0, pooledCount), values: new Float32Array(pooledCount) };
    for (let i = 0; i < pooledCount; i++) {
      const id = pooledIds[i]!;
      neighbourTerms.values[i] = pooledScratch[id]! * pooledScale;
      pooledScratch[id] = 0;
      pooledSeen[id] = 0;
    }
    const vectorNorm = Math.sqrt(dot(neighbourVector, neighbourVector)) || 1;
    for (let k = 0; k < dim; k++) neighbourVector[k] = neighbourVector[k]! / vectorNorm;
    return {
      messages,
      brand,
      group,
      vector,
      lastTerms,
      queryTerms,
      knnClusters,
      knnMax,
      knnSum,
      knnTop,
      lastWeights: sparseOf(replies.queryWeightsById(lastTerms)),
      queryWeights: sparseOf(replies.queryWeightsById(queryTerms)),
      neighbourTerms,
      csrTerms,
      neighbourVector,
    };
  };

  const prepareCandidate = (text: string, brand?: string | null): PreparedCandidate => {
    // One templating and stemming pass serves the key, the retrieval terms and the n-grams.
    const words = messageWords(text, true);
    const terms = words.filter((word) => !STOP_WORDS.has(word));
    const termIds = termIdsOf(terms);
    const vector = encodeResponse(toSparse(responseFeaturesOfWords(words, config.encoding), responseVocabulary));
    return {
      text,
      termIds,
      termCount: terms.length,
      words: words.length,
      vector,
      vectorRow: -1,
      vectorNorm: norm(vector),
      termNorm: idfNorm(termIds),
      hasLink: urlsIn(text).length > 0,
      cluster: index.lookupKey(words.join(' '), text, brand),
    };
  };

  // Dense scratch, indexed by term id, holding the context being scored: a typed-array read per
  // candidate term instead of hash lookups. `loaded` says which context they hold; scoring another
  // context reloads them (clearing only the entries the previous one set).
  const termCount = replies.terms;
  const lastDense = new Float32Array(termCount);
  const queryDense = new Float32Array(termCount);
  const neighbourDense = new Float32Array(termCount);
  const csrMask = new Uint8Array(termCount);
  const shared = new Int32Array(MAX_CSR_SETS);
  // The nearest contexts' scores per canonical reply, likewise (0: not among them).
  const knnMaxDense = new Float32Array(index.clusters.length);
  const knnSumDense = new Float32Array(index.clusters.length);
  let loaded: PreparedContext | undefined;
  const scatter = (into: Float32Array, terms: SparseTerms | undefined, clear: boolean) => {
    if (!terms) return;
    for (let i = 0; i < terms.ids.length; i++) into[terms.ids[i]!] = clear ? 0 : terms.values[i]!;
  };
  const load = (context: PreparedContext) => {
    if (loaded === context) return;
    if (loaded) {
      scatter(lastDense, loaded.lastWeights, true);
      scatter(queryDense, loaded.queryWeights, true);
      scatter(neighbourDense, loaded.neighbourTerms, true);
      for (const ids of loaded.csrTerms) for (let i = 0; i < ids.length; i++) csrMask[ids[i]!] = 0;
      for (const cluster of loaded.knnClusters) knnMaxDense[cluster] = knnSumDense[cluster] = 0;
    }
    for (let at = 0; at < context.knnClusters.length; at++) {
      knnMaxDense[context.knnClusters[at]!] = context.knnMax[at]!;
      knnSumDense[context.knnClusters[at]!] = context.knnSum[at]!;
    }
    scatter(lastDense, context.lastWeights, false);
    scatter(queryDense, context.queryWeights, false);
    scatter(neighbourDense, context.neighbourTerms, false);
    context.csrTerms.forEach((ids, set) => {
      for (let i = 0; i < ids.length; i++) csrMask[ids[i]!] = csrMask[ids[i]!]! | (1 << set);
    });
    loaded = context;
  };

  const encoderScale = parts.dualEncoder.scale;
  // ⟨context vector, response⟩ and ⟨neighbours' vector, response⟩ of the candidate being scored.
  const pair = new Float64Array(2);
  const features = (context: PreparedContext, candidate: PreparedCandidate, into = new Float32Array(FEATURE_COUNT)): Float32Array => {
    load(context);
    const cluster = candidate.cluster;
    const knnMax = cluster ? knnMaxDense[cluster.id]! : 0;
    const knnSum = cluster ? knnSumDense[cluster.id]! : 0;
    const top = context.knnTop || 1;
    if (candidate.vectorRow >= 0) dotQuantizedPair(context.vector, context.neighbourVector, clusterVectors, candidate.vectorRow, pair);
    else {
      pair[0] = dot(context.vector, candidate.vector, 0, dim);
      pair[1] = dot(context.neighbourVector, candidate.vector, 0, dim);
    }
    into[0] = encoderScale * pair[0]!;
    into[1] = replies.scoreIdsDense(lastDense, candidate.termIds, candidate.termCount);
    into[2] = replies.scoreIdsDense(queryDense, candidate.termIds, candidate.termCount);
    into[3] = knnMax;
    into[4] = knnMax / top;
    into[5] = knnSum / top;
    into[6] = cluster ? Math.log1p(cluster.size) : 0;
    into[7] = cluster ? 1 : 0;
    into[8] = Math.log1p(candidate.words);
    // One pass over the candidate's distinct terms: the lexical neighbour cosine and the overlap
    // with each recent CSR message.
    const ids = candidate.termIds;
    const sets = context.csrTerms.length;
    let lexical = 0;
    let distinct = 0;
    if (sets > 0) shared.fill(0, 0, sets);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (i > 0 && id === ids[i - 1]) continue;
      distinct++;
      const pooled = neighbourDense[id]!;
      if (pooled !== 0) lexical += replies.idfOf(id) * pooled;
      const mask = csrMask[id]!;
      if (mask !== 0) for (let set = 0; set < sets; set++) if (mask & (1 << set)) shared[set]!++;
    }
    into[9] = candidate.termNorm > 0 ? lexical / candidate.termNorm : 0;
    into[10] = pair[1]! / (candidate.vectorNorm || 1);
    into[11] = candidate.hasLink ? 1 : 0;
    let repeats = 0;
    for (let set = 0; set < sets; set++) {
      const overlap = shared[set]!;
      if (overlap === 0) continue;
      const similarity = overlap / (distinct + context.csrTerms[set]!.length - overlap);
      if (similarity > repeats) repeats = similarity;
    }
    into[12] = repeats;
    return into;
  };

  const scratch = new Float32Array(FEATURE_COUNT);
  const scorePrepared = (context: PreparedContext, candidates: readonly PreparedCandidate[], which: 'rank' | 'suggest' = 'rank'): Float64Array => {
    const combiner = combiners[which];
    const scores = new Float64Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) scores[i] = combinerScore(combiner, features(context, candidates[i]!, scratch));
    return scores;
  };

  const candidateClusters = (context: PreparedContext): number[] => {
    if (context.group === -1) return [];
    const seen = new Set<number>(context.knnClusters);
    // Lexical candidates from the reply texts only when the nearest contexts gave few: a history
    // that covers the situation needs no second query.
    if (context.queryTerms.length > 0 && seen.size < config.replyCandidates) {
      for (const hit of index.replies.search(context.queryTerms, config.replyCandidates, { budget, ...(context.group === undefined ? {} : { group: context.group }) })) seen.add(hit.doc);
    }
    for (const id of index.popular(context.group, config.popularCandidates)) seen.add(id);
    return [...seen];
  };

  return {
    get parts(): ReplyModelParts {
      if (!kept) throw new Error('this reply ranker was created with retainParts: false; keep the decoded parts to encode them');
      return kept;
    },
    index,
    prepareContext,
    prepareCandidate,
    features,
    scorePrepared,
    candidateClusters,
    clusterCandidate,
    rank(messages, candidates, brand) {
      const context = prepareContext(messages, brand);
      return [...scorePrepared(context, candidates.map((text) => prepareCandidate(text, brand)), 'rank')];
    },
    suggest(messages, options = {}) {
      const top = options.top ?? 5;
      const context = prepareContext(messages, options.brand);
      const ids = candidateClusters(context);
      const candidates = ids.map(clusterCandidate);
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
