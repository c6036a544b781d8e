import { runToEnd, type Steps } from '../../platform/index.ts';
import { buildBm25Steps, type Bm25Index } from './bm25.ts';
import type { ReplyConversation, ReplyMessage, ReplyRole } from './replies.store.ts';
import { normalizeDocId, normalizeUrl, replyKey, retrievalTerms, stemmedWords, templateReply, urlsIn } from './text.ts';

/**
 * The reply index of a listing: every CSR reply of its past conversations, deduplicated and
 * clustered into canonical replies (as Smart Reply does, so that the suggestions are diverse and
 * not five spellings of "you're welcome"), each with what followed it.
 *
 * 1. Dedupe: replies with the same key (templated, stemmed words: `replyKey`) are one variant.
 *    Replies that link a help article (a doc id or URL in the message meta) are keyed by the
 *    article instead, so every reply sending article 1770 is one canonical reply.
 * 2. Cluster near-duplicates: variants, most frequent first, join the first cluster of the same
 *    brand whose word set has a Jaccard similarity ≥ `clusterThreshold` (default 0.8) with theirs;
 *    candidates come from an inverted index on the variant's rarest words, so this stays
 *    near-linear on 100k replies.
 * 3. The representative text is the cluster's most frequent templated variant (codes, numbers and
 *    handles as placeholders: `[ref]`, `[number]`, `[time]`, `@[user]`).
 *
 * Outcome statistics per canonical reply: the satisfaction rating of the next customer turn when
 * it has one (USS rates every user turn), and the conversation's outcome: resolved, satisfaction,
 * converted.
 *
 * Retrieval structures (built from the serialisable `ReplyIndexData`, so a serving process needs
 * no DuckDB): BM25 over the representative texts, BM25 over the contexts each reply was given in
 * (the "similar past conversations"), the most used replies per brand, and lookups from a text's
 * key, a URL or a doc id to its canonical reply.
 */

export interface ContextMessage {
  role: ReplyRole;
  text: string;
}

/**
 * What followed a canonical reply. Flat (one object per canonical reply, not five): a serving
 * process holds tens of thousands of them, and every major GC traces each object.
 */
export interface OutcomeStats {
  /** Replies followed by a rated customer turn: how many, the rating sum, how many ≤ 2. */
  nextRated: number;
  nextRatingSum: number;
  nextDissatisfied: number;
  /** Replies in conversations with a known resolution, and of those, resolved. */
  resolvedKnown: number;
  resolved: number;
  /** Replies in conversations with an overall satisfaction rating, and the rating sum. */
  satisfactionKnown: number;
  satisfactionSum: number;
  /** Replies in conversations with a known conversion, and of those, converted. */
  convertedKnown: number;
  converted: number;
}

/** The nested form reply model artifacts stored until 21 November 2026. */
interface NestedOutcomeStats {
  next: { n: number; sum: number; dissatisfied: number };
  resolved: { n: number; yes: number };
  satisfaction: { n: number; sum: number };
  converted: { n: number; yes: number };
}

/** Outcome statistics as stored by any version of the artifact. */
export function outcomeStatsOf(stored: OutcomeStats | NestedOutcomeStats): OutcomeStats {
  if (!('next' in stored)) return stored;
  return {
    nextRated: stored.next.n,
    nextRatingSum: stored.next.sum,
    nextDissatisfied: stored.next.dissatisfied,
    resolvedKnown: stored.resolved.n,
    resolved: stored.resolved.yes,
    satisfactionKnown: stored.satisfaction.n,
    satisfactionSum: stored.satisfaction.sum,
    convertedKnown: stored.converted.n,
    converted: stored.converted.yes,
  };
}

export interface CanonicalReply {
  id: number;
  /** The representative (templated) text. */
  text: string;
  /** The dedupe key of the representative. */
  key: string;
  /** Replies in the cluster. */
  size: number;
  /** Distinct keys in the cluster. */
  variants: number;
  brand: string | null;
  docId?: string;
  url?: string;
  outcomes: OutcomeStats;
}

/** One reply as given: its cluster and the retrieval terms of the context before it. */
export interface ReplyOccurrence {
  cluster: number;
  /** Retrieval terms, space-separated. */
  context: string;
}

export interface ReplyIndexData {
  version: 1;
  clusters: CanonicalReply[];
  occurrences: ReplyOccurrence[];
  /** How many messages before a reply form its retrieval context. */
  contextTurns: number;
}

export interface ReplyIndexOptions {
  clusterThreshold?: number;
  contextTurns?: number;
}

export interface ReplyExample {
  conversation: ReplyConversation;
  /** Position of the reply in `conversation.messages`. */
  position: number;
}

const emptyOutcomes = (): OutcomeStats => ({
  nextRated: 0,
  nextRatingSum: 0,
  nextDissatisfied: 0,
  resolvedKnown: 0,
  resolved: 0,
  satisfactionKnown: 0,
  satisfactionSum: 0,
  convertedKnown: 0,
  converted: 0,
});

/** The last `turns` messages before `position`, as retrieval terms. */
export function contextTerms(messages: readonly ContextMessage[], turns: number, end = messages.length): string[] {
  const terms: string[] = [];
  for (let i = Math.max(0, end - turns); i < end; i++) terms.push(...retrievalTerms(messages[i]!.text));
  return terms;
}

/** The CSR replies of the conversations (every CSR message with text). */
export function replyExamples(conversations: readonly ReplyConversation[]): ReplyExample[] {
  const examples: ReplyExample[] = [];
  for (const conversation of conversations) {
    conversation.messages.forEach((message, position) => {
      if (message.role === 'csr' && message.text.trim() !== '') examples.push({ conversation, position });
    });
  }
  return examples;
}

function articleOf(message: ReplyMessage): { docId?: string; url?: string } {
  const url = message.url ?? urlsIn(message.text)[0];
  return {
    ...(message.docId ? { docId: normalizeDocId(message.docId) } : {}),
    ...(url ? { url } : {}),
  };
}

interface Variant {
  brand: string | null;
  key: string;
  article: { docId?: string; url?: string };
  count: number;
  texts: Map<string, number>;
  words: string[];
  members: number[];
}

export function buildReplyIndexData(conversations: readonly ReplyConversation[], options: ReplyIndexOptions = {}): ReplyIndexData {
  const threshold = options.clusterThreshold ?? 0.8;
  const contextTurns = options.contextTurns ?? 2;
  const examples = replyExamples(conversations);

  // 1. Variants: exact groups by (brand, article or key).
  const variants = new Map<string, Variant>();
  const variantOf: Variant[] = [];
  for (const [index, example] of examples.entries()) {
    const message = example.conversation.messages[example.position]!;
    const article = articleOf(message);
    const key = replyKey(message.text);
    const brand = example.conversation.brand;
    const articleKey = article.docId ? `doc:${article.docId}` : message.url ? `url:${normalizeUrl(message.url)}` : undefined;
    const groupKey = `${brand ?? ''}\u0000${articleKey ?? key}`;
    let variant = variants.get(groupKey);
    if (!variant) {
      variant = { brand, key, article: articleKey ? article : {}, count: 0, texts: new Map(), words: [...new Set(key.split(' ').filter(Boolean))], members: [] };
      variants.set(groupKey, variant);
    }
    variant.count++;
    const display = templateReply(message.text);
    variant.texts.set(display, (variant.texts.get(display) ?? 0) + 1);
    variant.members.push(index);
    variantOf.push(variant);
  }

  // 2. Near-duplicate clusters of the text variants (article variants are clusters already).
  const ordered = [...variants.values()].sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const wordDf = new Map<string, number>();
  for (const variant of ordered) for (const word of variant.words) wordDf.set(word, (wordDf.get(word) ?? 0) + 1);
  const clusterOf = new Map<Variant, number>();
  const clusterWords: Array<Set<string>> = [];
  const clusterVariants: Variant[][] = [];
  const byWord = new Map<string, number[]>();
  for (const variant of ordered) {
    let target = -1;
    if (!variant.article.docId && !variant.article.url && variant.words.length > 0) {
      const rarest = [...variant.words].sort((a, b) => wordDf.get(a)! - wordDf.get(b)! || (a < b ? -1 : 1)).slice(0, 3);
      const checked = new Set<number>();
      for (const word of rarest) {
        for (const candidate of byWord.get(word) ?? []) {
          if (checked.has(candidate) || checked.size >= 64) continue;
          checked.add(candidate);
          const first = clusterVariants[candidate]![0]!;
          if (first.brand !== variant.brand || first.article.docId || first.article.url) continue;
          if (jaccard(clusterWords[candidate]!, variant.words) >= threshold) {
            target = candidate;
            break;
          }
        }
        if (target >= 0) break;
      }
    }
    if (target < 0) {
      target = clusterVariants.length;
      clusterVariants.push([]);
      clusterWords.push(new Set(variant.words));
      for (const word of variant.words) {
        let list = byWord.get(word);
        if (!list) byWord.set(word, (list = []));
        list.push(target);
      }
    }
    clusterVariants[target]!.push(variant);
    clusterOf.set(variant, target);
  }

  // 3. Representatives and outcome statistics.
  const clusters: CanonicalReply[] = clusterVariants.map((members, id) => {
    const texts = new Map<string, number>();
    for (const variant of members) for (const [text, count] of variant.texts) texts.set(text, (texts.get(text) ?? 0) + count);
    const text = [...texts.entries()].sort((a, b) => b[1] - a[1] || a[0].length - b[0].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))[0]![0];
    const article = members[0]!.article;
    return {
      id,
      text,
      key: replyKey(text),
      size: members.reduce((sum, variant) => sum + variant.count, 0),
      variants: members.length,
      brand: members[0]!.brand,
      ...(article.docId ? { docId: article.docId } : {}),
      ...(article.url ? { url: article.url } : {}),
      outcomes: emptyOutcomes(),
    };
  });
  const occurrences: ReplyOccurrence[] = [];
  for (const [index, example] of examples.entries()) {
    const cluster = clusters[clusterOf.get(variantOf[index]!)!]!;
    const { conversation, position } = example;
    addOutcomes(cluster.outcomes, conversation, position);
    occurrences.push({ cluster: cluster.id, context: contextTerms(conversation.messages, contextTurns, position).join(' ') });
  }
  return { version: 1, clusters, occurrences, contextTurns };
}

function jaccard(a: ReadonlySet<string>, b: readonly string[]): number {
  let shared = 0;
  for (const word of b) if (a.has(word)) shared++;
  return shared / (a.size + b.length - shared);
}

function addOutcomes(stats: OutcomeStats, conversation: ReplyConversation, position: number): void {
  const messages = conversation.messages;
  for (let i = position + 1; i < messages.length; i++) {
    if (messages[i]!.role === 'csr') break;
    if (messages[i]!.role !== 'customer') continue;
    const rating = conversation.turnSatisfaction.get(messages[i]!.seq);
    if (rating !== undefined) {
      stats.nextRated++;
      stats.nextRatingSum += rating;
      if (rating <= 2) stats.nextDissatisfied++;
    }
    break;
  }
  const { resolved, satisfaction, converted } = conversation.outcome;
  if (resolved !== null) {
    stats.resolvedKnown++;
    if (resolved) stats.resolved++;
  }
  if (satisfaction !== null) {
    stats.satisfactionKnown++;
    stats.satisfactionSum += satisfaction;
  }
  if (converted !== null) {
    stats.convertedKnown++;
    if (converted) stats.converted++;
  }
}

/**
 * Canonical replies by (brand, key), keeping the largest cluster per key, and by key across
 * brands (`get` with brand undefined). Nested maps rather than `${brand}\u0000${key}` keys: those
 * were ~100k concatenated strings that a serving process kept for every major GC to trace.
 */
function createScopedLookup() {
  const anyBrand = new Map<string, CanonicalReply>();
  const byBrand = new Map<string | null, Map<string, CanonicalReply>>();
  const offerTo = (map: Map<string, CanonicalReply>, key: string, cluster: CanonicalReply) => {
    const existing = map.get(key);
    if (!existing || existing.size < cluster.size) map.set(key, cluster);
  };
  return {
    offer(brand: string | null, key: string, cluster: CanonicalReply): void {
      let scoped = byBrand.get(brand);
      if (!scoped) byBrand.set(brand, (scoped = new Map()));
      offerTo(scoped, key, cluster);
      offerTo(anyBrand, key, cluster);
    },
    /** `brand` undefined: any brand; null: replies without a brand. */
    get(brand: string | null | undefined, key: string): CanonicalReply | undefined {
      return brand === undefined ? anyBrand.get(key) : byBrand.get(brand)?.get(key);
    },
  };
}

/** The searchable form of `ReplyIndexData`. */
export interface ReplyIndex {
  readonly clusters: readonly CanonicalReply[];
  /** How many messages before a reply formed its retrieval context (ReplyIndexData). */
  readonly contextTurns: number;
  /** Brand → group number used by the BM25 indexes (null brand included). */
  readonly brandGroups: ReadonlyMap<string | null, number>;
  /**
   * Ids in `replies` of the retrieval terms of a cluster's representative text, sorted (equal ids
   * adjacent: a term's every occurrence). A view into one packed array: the index keeps no
   * per-cluster string arrays, which a serving process would carry through every major GC.
   */
  clusterTermIds(id: number): Int32Array;
  /** Stemmed words (stop words kept) of a representative, for the dual encoder (computed on each call). */
  clusterWords(id: number): readonly string[];
  readonly replies: Bm25Index;
  readonly contexts: Bm25Index;
  /** The cluster of each occurrence (the documents of `contexts`). */
  readonly occurrenceCluster: Int32Array;
  /** Clusters by size, largest first, per brand group. */
  popular(group: number | undefined, k: number): number[];
  /** The canonical reply a text belongs to: same key, or the same article (doc id or URL). */
  lookup(text: string, brand?: string | null): CanonicalReply | undefined;
  /** The same when the text's key (`replyKey`) is known already. */
  lookupKey(key: string, text: string, brand?: string | null): CanonicalReply | undefined;
  byDocId(docId: string, brand?: string | null): CanonicalReply | undefined;
}

export function createReplyIndex(data: ReplyIndexData): ReplyIndex {
  return runToEnd(createReplyIndexSteps(data));
}

/** Canonical replies or occurrences between two yields of a build. */
const ITEMS_PER_STEP = 128;

/** createReplyIndex as steps (time-slice.ts): the api builds a promoted model while it serves. */
export function* createReplyIndexSteps(data: ReplyIndexData): Steps<ReplyIndex> {
  // No closure below may capture `data`: its occurrences (one object and context string per
  // reply given) are needed only to build the context index, and a serving process should not
  // keep them.
  const clusters = data.clusters;
  const brandGroups = new Map<string | null, number>();
  const groupOf = (brand: string | null) => {
    let group = brandGroups.get(brand);
    if (group === undefined) brandGroups.set(brand, (group = brandGroups.size));
    return group;
  };
  const clusterGroups = new Int32Array(data.clusters.length);
  // Only while building: the BM25 index's documents, then packed as term ids.
  const clusterTerms: string[][] = [];
  const byKey = createScopedLookup();
  const byArticle = createScopedLookup();
  for (const cluster of data.clusters) {
    if (cluster.id % ITEMS_PER_STEP === 0) yield;
    clusterGroups[cluster.id] = groupOf(cluster.brand);
    clusterTerms.push(retrievalTerms(cluster.text, { mentions: true }).sort());
    byKey.offer(cluster.brand, cluster.key, cluster);
    if (cluster.docId) byArticle.offer(cluster.brand, `doc:${cluster.docId}`, cluster);
    if (cluster.url) byArticle.offer(cluster.brand, `url:${normalizeUrl(cluster.url)}`, cluster);
  }
  const occurrenceCluster = Int32Array.from(data.occurrences, (occurrence) => occurrence.cluster);
  const occurrenceGroups = Int32Array.from(data.occurrences, (occurrence) => clusterGroups[occurrence.cluster]!);
  const replies = yield* buildBm25Steps(clusterTerms, { groups: clusterGroups });
  const termOffsets = new Int32Array(clusterTerms.length + 1);
  for (let id = 0; id < clusterTerms.length; id++) termOffsets[id + 1] = termOffsets[id]! + clusterTerms[id]!.length;
  const termIds = new Int32Array(termOffsets[clusterTerms.length]!);
  for (const [id, terms] of clusterTerms.entries()) {
    if (id % ITEMS_PER_STEP === 0) yield;
    const ids = termIds.subarray(termOffsets[id]!, termOffsets[id + 1]!);
    terms.forEach((term, i) => (ids[i] = replies.termId(term)));
    ids.sort();
  }
  const contextTerms: string[][] = [];
  for (const occurrence of data.occurrences) {
    if (contextTerms.length % ITEMS_PER_STEP === 0) yield;
    contextTerms.push(occurrence.context === '' ? [] : occurrence.context.split(' '));
  }
  const contexts = yield* buildBm25Steps(contextTerms, { groups: occurrenceGroups });
  const popularity = new Map<number, number[]>();
  const all = [...data.clusters].sort((a, b) => b.size - a.size || a.id - b.id).map((cluster) => cluster.id);
  for (const id of all) {
    const group = clusterGroups[id]!;
    let list = popularity.get(group);
    if (!list) popularity.set(group, (list = []));
    if (list.length < 256) list.push(id);
  }
  const lookupKey = (key: string, text: string, brand?: string | null): CanonicalReply | undefined => {
    const byText = byKey.get(brand, key);
    if (byText) return byText;
    for (const url of urlsIn(text)) {
      const found = byArticle.get(brand, `url:${normalizeUrl(url)}`);
      if (found) return found;
    }
    return undefined;
  };
  return {
    clusters,
    contextTurns: data.contextTurns,
    brandGroups,
    clusterTermIds: (id) => termIds.subarray(termOffsets[id]!, termOffsets[id + 1]!),
    clusterWords: (id) => stemmedWords(clusters[id]!.text),
    replies,
    contexts,
    occurrenceCluster,
    popular(group, k) {
      return (group === undefined ? all : (popularity.get(group) ?? [])).slice(0, k);
    },
    lookup: (text, brand) => lookupKey(replyKey(text), text, brand),
    lookupKey,
    byDocId(docId, brand) {
      return byArticle.get(brand, `doc:${normalizeDocId(docId)}`);
    },
  };
}
