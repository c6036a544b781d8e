import { defaultCombinerConfig, trainCombiner, type CandidateList, type CombinerTrainConfig } from './combiner.train.ts';
import { concatenateDualEncoders, type DualEncoderWeights } from './dual-encoder.ts';
import { defaultDualEncoderConfig, trainDualEncoder, type DualEncoderTrainConfig, type DualEncoderTrainResult } from './dual-encoder.train.ts';
import { buildVocabulary, contextFeatures, defaultEncodingConfig, responseFeatures, toSparse, type EncodingConfig, type Vocabulary } from './encoding.ts';
import { hashString, seededRandom } from './random.ts';
import { createReplyRanker, defaultRankerConfig, FEATURE_COUNT, type Combiner, type RankerConfig, type ReplyModelParts, type ReplyRanker } from './ranker.ts';
import type { ReplyConversation } from './replies.store.ts';
import { buildReplyIndexData, replyExamples, type ContextMessage, type ReplyExample, type ReplyIndexOptions } from './reply-index.ts';
import { normalizeDocId, replyKey, stemmedWords, templateReply } from './text.ts';

/**
 * Training the reply model of a listing from its conversations:
 *
 * 1. The conversations are split by id (seeded hash) into a part for the dual encoder and a held
 *    out part (`combinerShare`, default 20 %) for the combination weights, so the weights see the
 *    dual encoder's scores on conversations it was not trained on (its scores on its own training
 *    pairs are overconfident).
 * 2. The dual encoder learns from every CSR reply with a non-empty context in the first part.
 * 3. The combination weights (conditional logits) are fitted on the held-out part, with the reply
 *    index of the first part: `rank` on lists of the true reply and `rankNegatives` random replies
 *    of the held-out part; `suggest` on the candidates the index retrieves for the context, the
 *    true reply's canonical reply being the positive (lists without one are skipped).
 * 4. The served index is built from all conversations.
 */

export interface ReplyTrainConfig {
  seed: number;
  /** Dual encoders trained with different seeds and summed (one wider encoder when served). */
  ensemble: number;
  /** Retrain the served dual encoder on all conversations after fitting the combination weights. */
  refit: boolean;
  /** With fewer replies than this, the combination weights are fitted by K-fold cross-fitting instead of one held-out split. */
  crossFitBelow: number;
  crossFitFolds: number;
  /** suggest lists: a candidate this close (word Jaccard) to the true reply counts as right when its own canonical reply is not in the index. */
  suggestMatch: number;
  /** Fewer suggest lists than this: `suggest` uses the `rank` weights. */
  minSuggestLists: number;
  combinerShare: number;
  rankNegatives: number;
  /** At most this many held-out lists per combiner (time bound). */
  maxCombinerLists: number;
  minCount: number;
  maxVocabulary: number;
  encoding: EncodingConfig;
  ranker: Omit<RankerConfig, 'encoding'>;
  index: ReplyIndexOptions;
  dualEncoder: DualEncoderTrainConfig;
  combiner: CombinerTrainConfig;
}

export const defaultReplyTrainConfig: ReplyTrainConfig = {
  seed: 1,
  ensemble: 3,
  refit: true,
  crossFitBelow: 3000,
  crossFitFolds: 5,
  suggestMatch: 0.6,
  minSuggestLists: 30,
  combinerShare: 0.2,
  rankNegatives: 30,
  maxCombinerLists: 4000,
  minCount: 2,
  maxVocabulary: 60_000,
  encoding: defaultEncodingConfig,
  ranker: defaultRankerConfig,
  index: {},
  dualEncoder: defaultDualEncoderConfig,
  combiner: defaultCombinerConfig,
};

export interface ReplyTrainReport {
  conversations: number;
  replies: number;
  dualEncoderPairs: number;
  combinerLists: { rank: number; suggest: number };
  vocabulary: { context: number; response: number };
  canonicalReplies: number;
  losses: number[];
  weights: { rank: number[]; suggest: number[] };
  seconds: { dualEncoder: number; total: number };
  backend: string;
}

export interface ReplyTrainResult {
  parts: ReplyModelParts;
  report: ReplyTrainReport;
}

export interface ReplyTrainProgress {
  stage: 'dual-encoder' | 'combiner' | 'index';
  epoch?: number;
  epochs?: number;
  loss?: number;
  member?: number;
  members?: number;
}

export function contextOf(example: ReplyExample): ContextMessage[] {
  return example.conversation.messages.slice(0, example.position).map((message) => ({ role: message.role, text: message.text }));
}

const heldOut = (id: string, seed: number, share: number) => hashString(id, (0x811c9dc5 ^ seed) >>> 0) % 10_000 < share * 10_000;

/** Overrides of the training configuration; nested sections merge with their defaults. */
export type ReplyTrainOverrides = Partial<Omit<ReplyTrainConfig, 'encoding' | 'ranker' | 'dualEncoder' | 'combiner'>> & {
  encoding?: Partial<EncodingConfig>;
  ranker?: Partial<ReplyTrainConfig['ranker']>;
  dualEncoder?: Partial<DualEncoderTrainConfig>;
  combiner?: Partial<CombinerTrainConfig>;
};

export function resolveTrainConfig(overrides: ReplyTrainOverrides = {}): ReplyTrainConfig {
  const base = defaultReplyTrainConfig;
  return {
    ...base,
    ...overrides,
    encoding: { ...base.encoding, ...overrides.encoding },
    ranker: { ...base.ranker, ...overrides.ranker },
    dualEncoder: { ...base.dualEncoder, ...overrides.dualEncoder },
    combiner: { ...base.combiner, ...overrides.combiner },
    index: { ...base.index, ...overrides.index },
  };
}

export async function trainReplyModelFromConversations(
  conversations: readonly ReplyConversation[],
  overrides: ReplyTrainOverrides = {},
  onProgress?: (progress: ReplyTrainProgress) => void,
): Promise<ReplyTrainResult> {
  const started = performance.now();
  const config = resolveTrainConfig(overrides);
  const rankerConfig: RankerConfig = { ...config.ranker, encoding: config.encoding };
  // Held-out parts for the combination weights: one split, or K-fold cross-fitting when the
  // history is small (every conversation then gives lists, from a model that did not see it).
  const replyCount = replyExamples(conversations).length;
  const splits: Array<{ fit: ReplyConversation[]; held: ReplyConversation[] }> = [];
  if (replyCount < config.crossFitBelow && config.crossFitFolds > 1) {
    const foldOf = (id: string) => hashString(id, (0x811c9dc5 ^ config.seed) >>> 0) % config.crossFitFolds;
    for (let fold = 0; fold < config.crossFitFolds; fold++) {
      splits.push({
        fit: conversations.filter((conversation) => foldOf(conversation.id) !== fold),
        held: conversations.filter((conversation) => foldOf(conversation.id) === fold),
      });
    }
  } else {
    splits.push({
      fit: conversations.filter((conversation) => !heldOut(conversation.id, config.seed, config.combinerShare)),
      held: conversations.filter((conversation) => heldOut(conversation.id, config.seed, config.combinerShare)),
    });
  }
  const zero: Combiner = { mean: new Float32Array(FEATURE_COUNT), std: new Float32Array(FEATURE_COUNT).fill(1), weights: new Float32Array(FEATURE_COUNT) };
  const rank: CandidateList[] = [];
  const suggest: CandidateList[] = [];
  let first: FittedDualEncoder | undefined;
  let dualEncoderSeconds = 0;
  for (const split of splits) {
    const fitted = await fitDualEncoder(split.fit, config, onProgress);
    first ??= fitted;
    dualEncoderSeconds += fitted.seconds;
    onProgress?.({ stage: 'combiner' });
    const partial = createReplyRanker({
      config: rankerConfig,
      index: buildReplyIndexData(split.fit, config.index),
      contextVocabulary: fitted.contextVocabulary.keys,
      responseVocabulary: fitted.responseVocabulary.keys,
      dualEncoder: fitted.weights,
      rank: zero,
      suggest: zero,
    });
    const lists = combinerLists(partial, split.held, config, Math.ceil(config.maxCombinerLists / splits.length));
    rank.push(...lists.rank);
    suggest.push(...lists.suggest);
  }
  const rankCombiner = await trainCombiner(rank, FEATURE_COUNT, config.combiner);
  // Too few lists to learn the suggest weights from (a history of mostly one-off replies): the
  // rank weights are the better guess.
  const suggestCombiner = suggest.length >= config.minSuggestLists ? await trainCombiner(suggest, FEATURE_COUNT, config.combiner) : rankCombiner;

  // The served dual encoder: the one of the single split, or (refit, cross-fitting) one learnt
  // from all conversations — the weights were fitted on scores of encoders like it.
  const refit = splits.length > 1 || (config.refit && splits[0]!.held.length > 0);
  const trained = refit ? await fitDualEncoder(conversations, config, onProgress) : first!;
  if (refit) dualEncoderSeconds += trained.seconds;

  onProgress?.({ stage: 'index' });
  const index = buildReplyIndexData(conversations, config.index);
  const parts: ReplyModelParts = {
    config: rankerConfig,
    index,
    contextVocabulary: trained.contextVocabulary.keys,
    responseVocabulary: trained.responseVocabulary.keys,
    dualEncoder: trained.weights,
    rank: rankCombiner,
    suggest: suggestCombiner,
  };
  return {
    parts,
    report: {
      conversations: conversations.length,
      replies: index.occurrences.length,
      dualEncoderPairs: trained.pairs,
      combinerLists: { rank: rank.length, suggest: suggest.length },
      vocabulary: { context: trained.contextVocabulary.size, response: trained.responseVocabulary.size },
      canonicalReplies: index.clusters.length,
      losses: trained.losses,
      weights: { rank: [...rankCombiner.weights], suggest: [...suggestCombiner.weights] },
      seconds: { dualEncoder: dualEncoderSeconds, total: (performance.now() - started) / 1000 },
      backend: trained.backend,
    },
  };
}

interface FittedDualEncoder {
  weights: DualEncoderWeights;
  contextVocabulary: Vocabulary;
  responseVocabulary: Vocabulary;
  pairs: number;
  losses: number[];
  seconds: number;
  backend: string;
}

/** Vocabularies and the (ensemble of) dual encoder(s) from every CSR reply with a non-empty context. */
async function fitDualEncoder(conversations: readonly ReplyConversation[], config: ReplyTrainConfig, onProgress?: (progress: ReplyTrainProgress) => void): Promise<FittedDualEncoder> {
  const pairs = replyExamples(conversations).filter((example) => example.position > 0);
  const contextMaps = pairs.map((example) => contextFeatures(contextOf(example), config.encoding));
  const responseMaps = pairs.map((example) => responseFeatures(example.conversation.messages[example.position]!.text, config.encoding));
  if (config.dualEncoder.tied && !config.encoding.sharedSlots) throw new Error('a tied dual encoder needs encoding.sharedSlots');
  const contextVocabulary = config.dualEncoder.tied
    ? buildVocabulary([...contextMaps, ...responseMaps], config.minCount, config.maxVocabulary)
    : buildVocabulary(contextMaps, config.minCount, config.maxVocabulary);
  const responseVocabulary = config.dualEncoder.tied ? contextVocabulary : buildVocabulary(responseMaps, config.minCount, config.maxVocabulary);
  const trainingSet = {
    contexts: contextMaps.map((map) => toSparse(map, contextVocabulary)),
    responses: responseMaps.map((map) => toSparse(map, responseVocabulary)),
    responseKeys: pairs.map((example) => replyKey(example.conversation.messages[example.position]!.text)),
    contextRows: contextVocabulary.size,
    responseRows: responseVocabulary.size,
  };
  const members: DualEncoderTrainResult[] = [];
  for (let member = 0; member < config.ensemble; member++) {
    members.push(
      await trainDualEncoder(trainingSet, { ...config.dualEncoder, seed: (config.seed + 7919 * member) >>> 0 }, (epoch, loss) =>
        onProgress?.({ stage: 'dual-encoder', epoch, epochs: config.dualEncoder.epochs, loss, member: member + 1, members: config.ensemble }),
      ),
    );
  }
  return {
    weights: concatenateDualEncoders(members.map((member) => member.weights)),
    contextVocabulary,
    responseVocabulary,
    pairs: pairs.length,
    losses: members[0]!.losses,
    seconds: members.reduce((sum, member) => sum + member.seconds, 0),
    backend: members[0]!.backend,
  };
}

function jaccard(a: ReadonlySet<string>, words: readonly string[]): number {
  const b = new Set(words);
  let shared = 0;
  for (const word of b) if (a.has(word)) shared++;
  const union = a.size + b.size - shared;
  return union === 0 ? 0 : shared / union;
}

function combinerLists(ranker: ReplyRanker, conversations: readonly ReplyConversation[], config: ReplyTrainConfig, maxLists: number): { rank: CandidateList[]; suggest: CandidateList[] } {
  const random = seededRandom(config.seed ^ 0x5bd1e995);
  const examples = replyExamples(conversations).filter((example) => example.position > 0);
  const pool = examples.map((example) => example.conversation.messages[example.position]!.text);
  const poolKeys = pool.map((text) => replyKey(text));
  // A seeded sample of the examples when there are more than the bound.
  const chosen = examples.map((_, i) => i);
  for (let i = chosen.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  chosen.length = Math.min(chosen.length, maxLists);
  chosen.sort((a, b) => a - b);
  const rank: CandidateList[] = [];
  const suggest: CandidateList[] = [];
  for (const i of chosen) {
    const example = examples[i]!;
    const brand = example.conversation.brand;
    const message = example.conversation.messages[example.position]!;
    const context = ranker.prepareContext(contextOf(example), brand);
    // rank: the true reply among random replies of other keys.
    const texts = [message.text];
    for (let attempt = 0; texts.length <= config.rankNegatives && attempt < config.rankNegatives * 4; attempt++) {
      const other = Math.floor(random() * pool.length);
      if (poolKeys[other] !== poolKeys[i]) texts.push(pool[other]!);
    }
    if (texts.length >= 2) {
      rank.push({ features: texts.map((text) => ranker.features(context, ranker.prepareCandidate(text))), positive: 0 });
    }
    // suggest: the retrieved canonical replies; the positive is the true reply's canonical reply
    // (same article, same key), else the candidate closest to it in words (Jaccard ≥
    // `suggestMatch`: a suggestion saying the same thing would have been as good).
    const ids = ranker.candidateClusters(context);
    const truth = message.docId ? (ranker.index.byDocId(normalizeDocId(message.docId), brand) ?? ranker.index.lookup(message.text, brand)) : ranker.index.lookup(message.text, brand);
    let positive = truth ? ids.indexOf(truth.id) : -1;
    if (truth && positive < 0) {
      ids.push(truth.id);
      positive = ids.length - 1;
    }
    if (!truth && !message.docId) {
      const words = new Set(stemmedWords(templateReply(message.text)));
      let best = config.suggestMatch;
      for (const [i, id] of ids.entries()) {
        const similarity = jaccard(words, ranker.index.clusterWords(id));
        if (similarity >= best) {
          best = similarity;
          positive = i;
        }
      }
    }
    if (positive < 0 || ids.length < 2) continue;
    suggest.push({ features: ids.map((id) => ranker.features(context, ranker.clusterCandidate(id))), positive });
  }
  return { rank, suggest };
}
