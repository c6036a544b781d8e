import { rankingMetrics, rankOf, type RankingMetrics } from './metrics.ts';
import { seededRandom, shuffleInPlace } from './random.ts';
import { createReplyRanker, type PreparedCandidate, type ReplyRanker } from './ranker.ts';
import type { ReplyConversation } from './replies.store.ts';
import { replyExamples } from './reply-index.ts';
import { normalizeDocId, normalizeUrl, replyKey } from './text.ts';
import { contextOf, trainReplyModelFromConversations, type ReplyTrainOverrides, type ReplyTrainReport } from './train.ts';

/**
 * Offline evaluation of the learned suggestions, k-fold by conversation (every reply of a
 * conversation is in the same fold; the model of fold f never saw fold f).
 *
 * `response selection` (USS-style dialogues): for every CSR reply with a non-empty context in the
 * held-out fold, the true reply among `negatives` (99) others drawn, with a fixed seed, from the
 * held-out fold's CSR replies with a different dedupe key; the model's `rank` scores vs BM25 of
 * the last message against each candidate (idf from the training folds' replies) in the same run.
 * Recall@1, Recall@5 and MRR, ties counted against the scorer.
 *
 * `article suggestion` (IBM Twitter threads): for every held-out thread ending in a CSR reply that
 * links a help article, `suggest` for the context before that reply, within the thread's brand;
 * a hit when a suggestion carries the same doc id or the same URL (web-archive prefix ignored).
 * Baseline: the brand's most sent articles in the training folds (ties by doc id).
 */

export interface EvalOptions {
  folds: number;
  seed: number;
  negatives: number;
  /** Evaluate only the first N folds (quicker experiments); default all. */
  onlyFolds?: number;
  train?: ReplyTrainOverrides;
  onProgress?: (message: string) => void;
}

export const defaultEvalOptions: EvalOptions = { folds: 5, seed: 1, negatives: 99 };

export interface FoldReport {
  fold: number;
  train: ReplyTrainReport;
  examples: number;
  seconds: number;
}

export interface SelectionReport {
  task: 'response-selection';
  conversations: number;
  candidates: number;
  model: RankingMetrics;
  baseline: RankingMetrics & { name: string };
  ablations: Record<string, RankingMetrics>;
  folds: FoldReport[];
  seconds: number;
}

export interface ArticleReport {
  task: 'article-suggestion';
  conversations: number;
  model: RankingMetrics;
  baseline: RankingMetrics & { name: string };
  folds: FoldReport[];
  seconds: number;
}

/** Fold of each conversation: a seeded shuffle of the ids (sorted first, so input order does not matter), dealt round-robin. */
export function assignFolds(ids: readonly string[], folds: number, seed: number): Map<string, number> {
  const order = shuffleInPlace([...ids].sort(), seededRandom(seed));
  return new Map(order.map((id, position) => [id, position % folds]));
}

async function eachFold(
  conversations: readonly ReplyConversation[],
  options: EvalOptions,
  work: (fold: number, train: ReplyConversation[], test: ReplyConversation[], ranker: ReplyRanker) => number,
): Promise<FoldReport[]> {
  const foldOf = assignFolds(
    conversations.map((conversation) => conversation.id),
    options.folds,
    options.seed,
  );
  const reports: FoldReport[] = [];
  for (let fold = 0; fold < Math.min(options.folds, options.onlyFolds ?? options.folds); fold++) {
    const started = performance.now();
    const train = conversations.filter((conversation) => foldOf.get(conversation.id) !== fold);
    const test = conversations.filter((conversation) => foldOf.get(conversation.id) === fold);
    options.onProgress?.(`fold ${fold + 1}/${options.folds}: training on ${train.length} conversations`);
    const trained = await trainReplyModelFromConversations(train, { ...options.train }, (progress) => {
      if (progress.stage === 'dual-encoder' && progress.epoch !== undefined && progress.epoch === progress.epochs) {
        options.onProgress?.(`fold ${fold + 1}/${options.folds}: dual encoder ${progress.member}/${progress.members} trained (final loss ${progress.loss?.toFixed(3)})`);
      }
    });
    const ranker = createReplyRanker(trained.parts);
    options.onProgress?.(`fold ${fold + 1}/${options.folds}: evaluating on ${test.length} conversations`);
    const examples = work(fold, train, test, ranker);
    reports.push({ fold, train: trained.report, examples, seconds: (performance.now() - started) / 1000 });
  }
  return reports;
}

export async function evaluateResponseSelection(conversations: readonly ReplyConversation[], overrides: Partial<EvalOptions> = {}): Promise<SelectionReport> {
  const options: EvalOptions = { ...defaultEvalOptions, ...overrides };
  const started = performance.now();
  const ranks = { model: [] as number[], baseline: [] as number[], dual_encoder: [] as number[], bm25_context: [] as number[], neighbour_lexical: [] as number[], neighbour_vector: [] as number[] };
  const folds = await eachFold(conversations, options, (fold, _train, test, ranker) => {
    const random = seededRandom((options.seed * 1_000_003 + fold) >>> 0);
    const examples = replyExamples(test).filter((example) => example.position > 0);
    const pool = examples.map((example) => example.conversation.messages[example.position]!.text);
    const keys = pool.map((text) => replyKey(text));
    const prepared = new Map<string, PreparedCandidate>();
    const candidateOf = (text: string) => {
      let candidate = prepared.get(text);
      if (!candidate) prepared.set(text, (candidate = ranker.prepareCandidate(text)));
      return candidate;
    };
    let count = 0;
    examples.forEach((example, i) => {
      const eligible: number[] = [];
      // Distinct texts of other keys, drawn without replacement.
      const picked = new Set<number>();
      const seenTexts = new Set<string>([pool[i]!]);
      for (let attempt = 0; eligible.length < options.negatives && attempt < options.negatives * 20; attempt++) {
        const other = Math.floor(random() * pool.length);
        if (picked.has(other) || keys[other] === keys[i] || seenTexts.has(pool[other]!)) continue;
        picked.add(other);
        seenTexts.add(pool[other]!);
        eligible.push(other);
      }
      if (eligible.length < options.negatives) return;
      const candidates = [candidateOf(pool[i]!), ...eligible.map((other) => candidateOf(pool[other]!))];
      const context = ranker.prepareContext(contextOf(example));
      const scores = ranker.scorePrepared(context, candidates, 'rank');
      ranks.model.push(rankOf(scores, 0));
      const features = candidates.map((candidate) => ranker.features(context, candidate));
      ranks.dual_encoder.push(rankOf(features.map((row) => row[0]!), 0));
      ranks.bm25_context.push(rankOf(features.map((row) => row[2]!), 0));
      ranks.neighbour_lexical.push(rankOf(features.map((row) => row[9]!), 0));
      ranks.neighbour_vector.push(rankOf(features.map((row) => row[10]!), 0));
      ranks.baseline.push(rankOf(features.map((row) => row[1]!), 0));
      count++;
    });
    return count;
  });
  return {
    task: 'response-selection',
    conversations: conversations.length,
    candidates: options.negatives + 1,
    model: rankingMetrics(ranks.model),
    baseline: { name: 'bm25-last-turn', ...rankingMetrics(ranks.baseline) },
    ablations: {
      dual_encoder: rankingMetrics(ranks.dual_encoder),
      bm25_context: rankingMetrics(ranks.bm25_context),
      neighbour_lexical: rankingMetrics(ranks.neighbour_lexical),
      neighbour_vector: rankingMetrics(ranks.neighbour_vector),
    },
    folds,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The reply of a thread that links an article: the last CSR message with a doc id or URL in its meta. */
function articleReply(conversation: ReplyConversation): number {
  for (let i = conversation.messages.length - 1; i >= 0; i--) {
    const message = conversation.messages[i]!;
    if (message.role === 'csr' && (message.docId || message.url)) return i;
  }
  return -1;
}

export async function evaluateArticleSuggestion(conversations: readonly ReplyConversation[], overrides: Partial<EvalOptions> = {}): Promise<ArticleReport> {
  const options: EvalOptions = { ...defaultEvalOptions, ...overrides };
  const started = performance.now();
  const ranks = { model: [] as number[], baseline: [] as number[] };
  const folds = await eachFold(conversations, options, (_fold, train, test, ranker) => {
    // Baseline: per brand, articles by how often the training folds sent them.
    const popularity = new Map<string, Map<string, number>>();
    for (const conversation of train) {
      for (const message of conversation.messages) {
        if (message.role !== 'csr' || (!message.docId && !message.url)) continue;
        const article = message.docId ? `doc:${normalizeDocId(message.docId)}` : `url:${normalizeUrl(message.url!)}`;
        const brand = conversation.brand ?? '';
        let counts = popularity.get(brand);
        if (!counts) popularity.set(brand, (counts = new Map()));
        counts.set(article, (counts.get(article) ?? 0) + 1);
      }
    }
    let count = 0;
    for (const conversation of test) {
      const position = articleReply(conversation);
      if (position < 0) continue;
      const truth = conversation.messages[position]!;
      const docId = truth.docId ? normalizeDocId(truth.docId) : undefined;
      const url = truth.url ? normalizeUrl(truth.url) : undefined;
      const matches = (candidate: { docId?: string; url?: string }) =>
        (docId !== undefined && candidate.docId !== undefined && normalizeDocId(candidate.docId) === docId) ||
        (url !== undefined && candidate.url !== undefined && normalizeUrl(candidate.url) === url);
      const context = conversation.messages.slice(0, position).map((message) => ({ role: message.role, text: message.text }));
      const suggestions = ranker.suggest(context, { top: 5, brand: conversation.brand });
      const hit = suggestions.findIndex((suggestion) => matches(suggestion));
      ranks.model.push(hit < 0 ? Infinity : hit + 1);
      const popular = [...(popularity.get(conversation.brand ?? '')?.entries() ?? [])]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .slice(0, 5)
        .map(([article]) => (article.startsWith('doc:') ? { docId: article.slice(4) } : { url: article.slice(4) }));
      const baselineHit = popular.findIndex((article) => matches(article));
      ranks.baseline.push(baselineHit < 0 ? Infinity : baselineHit + 1);
      count++;
    }
    return count;
  });
  return {
    task: 'article-suggestion',
    conversations: conversations.length,
    model: rankingMetrics(ranks.model),
    baseline: { name: 'brand-popularity', ...rankingMetrics(ranks.baseline) },
    folds,
    seconds: (performance.now() - started) / 1000,
  };
}
