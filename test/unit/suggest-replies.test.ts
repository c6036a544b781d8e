import { describe, expect, it } from 'vitest';
import {
  buildBm25,
  buildReplyIndexData,
  compileDualEncoder,
  contextFeatures,
  createReplyIndex,
  createVocabulary,
  createReplyRanker,
  decodeReplyModel,
  encodeReplyModel,
  normalizeDocId,
  normalizeUrl,
  outcomeFromHistory,
  rankingMetrics,
  rankOf,
  replyKey,
  responseFeatures,
  seededRandom,
  templateReply,
  tfjsEncodings,
  toSparse,
  buildVocabulary,
  trainDualEncoder,
  trainReplyModelFromConversations,
  type ReplyConversation,
  type ReplyTrainOverrides,
} from '../../src/suggest/index.ts';
import { outcomeStatsOf, type OutcomeStats } from '../../src/suggest/replies/reply-index.ts';

const conversation = (id: string, turns: Array<[ReplyConversation['messages'][number]['role'], string, number?]>, extra: Partial<ReplyConversation> = {}): ReplyConversation => ({
  id,
  brand: null,
  messages: turns.map(([role, text], i) => ({ seq: i + 1, role, text })),
  turnSatisfaction: new Map(turns.flatMap(([, , rating], i) => (rating === undefined ? [] : [[i + 1, rating] as [number, number]]))),
  outcome: { resolved: null, satisfaction: null, converted: null },
  ...extra,
});

/** A small synthetic listing with three intents, each answered in its own words. */
function syntheticListing(count: number, seed = 7): ReplyConversation[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const intents = [
    { asks: ['I want my money back for order', 'please refund my order', 'how do I get a refund for the broken lamp'], reply: 'I have issued a refund to your card, it takes 5 days to arrive.' },
    { asks: ['I forgot my password', 'cannot log in to my account', 'reset my password please'], reply: 'I sent you a password reset link by e-mail.' },
    { asks: ['where is my parcel', 'my delivery has not arrived', 'when will my package be delivered'], reply: 'Your parcel is with the courier, tracking number 1Z999AA1.' },
  ];
  return Array.from({ length: count }, (_, i) => {
    const intent = intents[i % intents.length]!;
    return conversation(`c${String(i).padStart(3, '0')}`, [
      ['customer', `hello, ${pick(intent.asks)}`],
      ['csr', intent.reply],
      ['customer', pick(['thanks', 'thank you so much', 'great, thanks']), 4],
      ['csr', pick(['You are welcome, goodbye!', 'You are welcome. Goodbye.'])],
    ]);
  });
}

const tiny: ReplyTrainOverrides = {
  ensemble: 1,
  refit: false,
  crossFitBelow: 0,
  minCount: 1,
  dualEncoder: { dim: 8, epochs: 3, batchSize: 16 },
  combiner: { iterations: 60 },
};

describe('BM25 index', () => {
  // N = 3, average length 2, k1 = 1.2, b = 0.75.
  // idf(cat) = ln(1 + (3 − 2 + 0.5)/(2 + 0.5)) = ln 1.6 = 0.470004; idf(fish) = ln(1 + 2.5/1.5) = 0.980829.
  // doc 0 (length 2): cat tf 1 → 1·2.2/(1 + 1.2·1) = 1 → 0.470004.
  // doc 1 (length 3): cat tf 2 → 2·2.2/(2 + 1.2·1.375) = 1.205479 → 0.566580; fish tf 1 → 2.2/2.65 = 0.830189 → 0.814273.
  const index = buildBm25([['cat', 'dog'], ['cat', 'cat', 'fish'], ['bird']], { groups: Int32Array.from([0, 1, 0]) });

  it('scores like the hand computation and ranks best first', () => {
    const hits = index.search(['cat', 'fish'], 5);
    expect(hits.map((hit) => hit.doc)).toEqual([1, 0]);
    expect(hits[0]!.score).toBeCloseTo(0.566580 + 0.814274, 5);
    expect(hits[1]!.score).toBeCloseTo(0.470004, 5);
    expect(index.idf('cat')).toBeCloseTo(0.470004, 5);
    expect(index.idf('unknown')).toBe(0);
    expect(index.search(['unknown'], 5)).toEqual([]);
  });

  it('keeps the top k, filters by group, and scores outside documents with its statistics', () => {
    expect(index.search(['cat', 'fish'], 1).map((hit) => hit.doc)).toEqual([1]);
    expect(index.search(['cat'], 5, { group: 0 }).map((hit) => hit.doc)).toEqual([0]);
    expect(index.scoreText(['cat'], ['cat', 'dog'])).toBeCloseTo(0.470004, 5);
    expect(index.scoreText(['cat', 'fish'], ['cat', 'cat', 'fish'])).toBeCloseTo(1.380854, 5);
    // Repeated searches reuse the accumulator: nothing left over from the last one.
    expect(index.search(['bird'], 5).map((hit) => hit.doc)).toEqual([2]);
  });

  it('breaks score ties by document number', () => {
    const same = buildBm25([['a'], ['a'], ['a']]);
    expect(same.search(['a'], 2).map((hit) => hit.doc)).toEqual([0, 1]);
  });
});

describe('normalisation and templating', () => {
  it('templates codes, times, numbers and handles, keeping URLs whole', () => {
    expect(templateReply('@gaz1234 Your booking 3DX8BMS0 is at 11:15 for 2 people, see https://x.org/a/185111')).toBe(
      '@[user] Your booking [ref] is at [time] for [number] people, see https://x.org/a/185111',
    );
    expect(replyKey('Your reference is Y6Z4DPIG!')).toBe(replyKey('your reference is 3DX8BMS0'));
    expect(replyKey('Thanks, goodbye.')).toBe(replyKey('thank goodbye'));
  });

  it('compares help-article URLs without the web-archive prefix and doc ids without leading zeros', () => {
    expect(normalizeUrl('https://web.archive.org/web/20200401224734/https://support.google.com/youtube/answer/185111/')).toBe('support.google.com/youtube/answer/185111');
    expect(normalizeDocId('0195')).toBe('195');
  });
});

describe('reply index: dedupe, clusters, outcomes', () => {
  const conversations = [
    conversation('a', [['customer', 'book it'], ['csr', 'Your reference number is 3DX8BMS0.'], ['customer', 'thanks', 5], ['csr', 'Is there anything else I can help you with?'], ['customer', 'no', 2]]),
    conversation('b', [['customer', 'book it'], ['csr', 'your reference number is Y6Z4DPIG'], ['customer', 'ok', 3], ['csr', 'Is there anything else I can help you with?']]),
    conversation('c', [['customer', 'and?'], ['csr', 'Is there anything else I can help with?'], ['customer', 'no thanks', 4], ['csr', 'Is there anything else I can help you with']]),
    conversation('d', [['customer', 'when?'], ['csr', 'The train leaves at 10:15.']], { outcome: { resolved: true, satisfaction: 5, converted: null } }),
  ];
  const data = buildReplyIndexData(conversations);
  const index = createReplyIndex(data);

  it('dedupes variants and clusters near-duplicates, most frequent variant first', () => {
    expect(data.occurrences).toHaveLength(7);
    const anything = index.lookup('is there anything else I can help you with?')!;
    expect(anything.size).toBe(4);
    expect(anything.variants).toBe(2);
    expect(anything.text).toBe('Is there anything else I can help you with?');
    const reference = index.lookup('Your reference number is ABC12345')!;
    expect(reference.size).toBe(2);
    // One of each spelling: the tie goes to the shorter.
    expect(reference.text).toBe('your reference number is [ref]');
    expect(index.lookup('The train leaves at 09:30')!.size).toBe(1);
    expect(data.clusters).toHaveLength(3);
  });

  it('counts what followed each canonical reply', () => {
    const anything = index.lookup('Is there anything else I can help you with?')!;
    expect(anything.outcomes).toMatchObject({ nextRated: 2, nextRatingSum: 6, nextDissatisfied: 1 });
    expect(index.lookup('The train leaves at 10:15')!.outcomes).toMatchObject({ resolvedKnown: 1, resolved: 1, satisfactionKnown: 1, satisfactionSum: 5 });
    // Artifacts saved before the flat form still load with the same counts.
    expect(
      outcomeStatsOf({ next: { n: 2, sum: 6, dissatisfied: 1 }, resolved: { n: 3, yes: 2 }, satisfaction: { n: 1, sum: 5 }, converted: { n: 4, yes: 1 } } as unknown as OutcomeStats),
    ).toEqual({ nextRated: 2, nextRatingSum: 6, nextDissatisfied: 1, resolvedKnown: 3, resolved: 2, satisfactionKnown: 1, satisfactionSum: 5, convertedKnown: 4, converted: 1 });
  });

  it('estimates P(good outcome) after a reply from its history, shrunk toward the listing', () => {
    const outcome = outcomeFromHistory(index, { strength: 2 });
    // Observations: next turns rated 5, 3 (reference), 2, 4 ("anything else"), and one resolved
    // conversation (the train, no rated next turn) → prior 4 of 5.
    const anything = index.lookup('Is there anything else I can help you with?')!;
    expect(outcome(anything.text, anything)).toBeCloseTo((1 + 2 * 0.8) / (2 + 2), 10);
    const train = index.lookup('The train leaves at 10:15')!;
    expect(outcome(train.text, train)).toBeCloseTo((1 + 2 * 0.8) / (1 + 2), 10);
  });

  it('finds the replies given in similar contexts', () => {
    const hits = index.contexts.search(['book'], 5);
    expect(new Set(hits.map((hit) => index.clusters[index.occurrenceCluster[hit.doc]!]!.text))).toEqual(new Set(['your reference number is [ref]']));
  });

  it('keys replies that link an article by the article', () => {
    const articles = buildReplyIndexData([
      conversation('x', [['customer', 'suspended'], ['csr', '@ann appeal here https://a.org/1']], { brand: 'YT' }),
      conversation('y', [['customer', 'banned'], ['csr', '@bob Here is how to appeal: https://a.org/1']], { brand: 'YT' }),
    ]);
    articles.clusters.forEach((cluster) => expect(cluster.docId).toBeUndefined());
    const withMeta = buildReplyIndexData(
      ['x', 'y'].map((id, i) => ({
        ...conversation(id, [['customer', 'suspended'], ['csr', i ? '@bob Here is how to appeal: https://a.org/1' : '@ann appeal here https://a.org/1']], { brand: 'YT' }),
        messages: [
          { seq: 1, role: 'customer' as const, text: 'suspended' },
          { seq: 2, role: 'csr' as const, text: i ? '@bob Here is how to appeal: https://a.org/1' : '@ann appeal here https://a.org/1', url: 'https://a.org/1', docId: '0017' },
        ],
      })),
    );
    expect(withMeta.clusters).toHaveLength(1);
    expect(withMeta.clusters[0]).toMatchObject({ size: 2, docId: '17', brand: 'YT' });
    expect(createReplyIndex(withMeta).byDocId('17', 'YT')?.size).toBe(2);
  });
});

describe('ranking metrics', () => {
  it('ranks pessimistically on ties and averages Recall@k and MRR', () => {
    expect(rankOf([0.5, 0.9, 0.1], 0)).toBe(2);
    expect(rankOf([0.5, 0.5, 0.5], 0)).toBe(3);
    expect(rankOf([2, 1, 0], 0)).toBe(1);
    expect(rankingMetrics([1, 2, 6, Infinity])).toEqual({ examples: 4, recallAt1: 0.25, recallAt5: 0.5, mrr: (1 + 0.5 + 1 / 6) / 4 });
  });
});

describe('dual encoder and ranker', () => {
  const listing = syntheticListing(60);

  it('is reproducible from its seed', async () => {
    const first = await trainReplyModelFromConversations(listing, { ...tiny, seed: 3 });
    const second = await trainReplyModelFromConversations(listing, { ...tiny, seed: 3 });
    const other = await trainReplyModelFromConversations(listing, { ...tiny, seed: 4 });
    expect(Buffer.from(encodeReplyModel(second.parts)).equals(Buffer.from(encodeReplyModel(first.parts)))).toBe(true);
    expect(Buffer.from(encodeReplyModel(other.parts)).equals(Buffer.from(encodeReplyModel(first.parts)))).toBe(false);
  });

  it('serves the same encodings as tfjs computes (≤ 1e-5), with and without the dense layer', async () => {
    const pairs = listing.map((c) => ({ context: contextFeatures([{ role: 'customer', text: c.messages[0]!.text }]), response: responseFeatures(c.messages[1]!.text) }));
    const contextVocabulary = buildVocabulary(pairs.map((pair) => pair.context), 1, 10_000);
    const responseVocabulary = buildVocabulary(pairs.map((pair) => pair.response), 1, 10_000);
    const contexts = pairs.map((pair) => toSparse(pair.context, contextVocabulary));
    const responses = pairs.map((pair) => toSparse(pair.response, responseVocabulary));
    for (const dense of [false, true]) {
      const { weights } = await trainDualEncoder(
        { contexts, responses, responseKeys: listing.map((c) => c.messages[1]!.text), contextRows: contextVocabulary.size, responseRows: responseVocabulary.size },
        { dim: 12, dense, tied: false, epochs: 2, batchSize: 16, learningRate: 0.01, scale: 1, symmetric: true, initScale: 0.1, inputDropout: 0, seed: 5 },
      );
      const reference = await tfjsEncodings(weights, contexts.slice(0, 10), responses.slice(0, 10));
      const compiled = compileDualEncoder(weights);
      let worst = 0;
      for (let i = 0; i < 10; i++) {
        const c = compiled.encodeContext(contexts[i]!);
        const r = compiled.encodeResponse(responses[i]!);
        for (let k = 0; k < 12; k++) {
          worst = Math.max(worst, Math.abs(c[k]! - reference.contexts[i * 12 + k]!), Math.abs(r[k]! - reference.responses[i * 12 + k]!));
        }
      }
      expect(worst).toBeLessThanOrEqual(1e-5);
    }
  });

  it('encodes a context from cached per-message bags as the plain forward pass does (within int8 rounding)', async () => {
    const { parts } = await trainReplyModelFromConversations(listing, tiny);
    const ranker = createReplyRanker(parts);
    const encoder = compileDualEncoder(parts.dualEncoder);
    const vocabulary = createVocabulary(parts.contextVocabulary);
    const conversation = [
      { role: 'customer' as const, text: 'hello, where is my parcel' },
      { role: 'csr' as const, text: 'Your parcel is with the courier, tracking number 1Z999AA1.' },
      { role: 'customer' as const, text: 'thanks, and I forgot my password' },
    ];
    // Growing the conversation reuses the first messages' bags (now in other slots): exactly what a
    // ranker with nothing cached computes, and the float forward pass up to the int8 embedding's
    // rounding (each entry within half a step of 1/127 of its row's largest magnitude).
    for (let length = 1; length <= conversation.length; length++) {
      const messages = conversation.slice(0, length);
      const cached = ranker.prepareContext(messages).vector;
      expect(createReplyRanker(parts).prepareContext(messages).vector).toEqual(cached);
      const plain = encoder.encodeContext(toSparse(contextFeatures(messages, parts.config.encoding), vocabulary));
      const largest = Math.max(...plain.map(Math.abs));
      for (let k = 0; k < plain.length; k++) expect(Math.abs(cached[k]! - plain[k]!)).toBeLessThanOrEqual(0.02 * largest);
    }
  });

  it('round-trips through the artifact with identical scores, and refuses other encodings', async () => {
    const { parts } = await trainReplyModelFromConversations(listing, tiny);
    const bytes = encodeReplyModel(parts);
    const loaded = createReplyRanker(decodeReplyModel(bytes));
    const original = createReplyRanker(parts);
    const context = [{ role: 'customer' as const, text: 'hi, I forgot my password' }];
    const candidates = ['I sent you a password reset link by e-mail.', 'I have issued a refund to your card.', 'Your parcel is with the courier.'];
    expect(loaded.rank(context, candidates)).toEqual(original.rank(context, candidates));
    // As the registry hands them over: a Node Buffer, at an odd offset of a larger allocation.
    const pooled = Buffer.alloc(bytes.length + 3);
    pooled.set(bytes, 3);
    expect(createReplyRanker(decodeReplyModel(pooled.subarray(3))).rank(context, candidates)).toEqual(original.rank(context, candidates));
    expect(loaded.suggest(context, { top: 2 })).toEqual(original.suggest(context, { top: 2 }));
    // A serving ranker (no parts kept) answers the same, and says why it cannot give its parts.
    const serving = createReplyRanker(decodeReplyModel(bytes), { retainParts: false });
    expect(serving.rank(context, candidates)).toEqual(original.rank(context, candidates));
    expect(serving.suggest(context, { top: 2 })).toEqual(original.suggest(context, { top: 2 }));
    expect(() => serving.parts).toThrow(/retainParts: false/);
    const tampered = Buffer.from(bytes);
    const text = tampered.toString('latin1');
    tampered.write('reply-ngrams-v0', text.indexOf('reply-ngrams-v1'), 'latin1');
    expect(() => decodeReplyModel(tampered)).toThrow(/encoding reply-ngrams-v0/);
    expect(() => decodeReplyModel(new Uint8Array(8))).toThrow(/not a usable reply model/);
  });

  it('reads artifacts of format 1 (the index inside the header) as well as format 2 (the index as JSON lines)', async () => {
    const { parts } = await trainReplyModelFromConversations(listing, tiny);
    const current = encodeReplyModel(parts);
    const old = asFormat1(current);
    expect(new DataView(old.buffer).getUint32(4, true)).toBe(1);
    const context = [{ role: 'customer' as const, text: 'hi, I forgot my password' }];
    const expected = createReplyRanker(parts).suggest(context, { top: 3 });
    for (const bytes of [current, old]) {
      const decoded = decodeReplyModel(bytes);
      expect(decoded.index.clusters).toEqual(parts.index.clusters);
      expect(decoded.index.occurrences).toEqual(parts.index.occurrences);
      expect(createReplyRanker(decoded).suggest(context, { top: 3 })).toEqual(expected);
    }
  });

  it('suggests the right canonical reply and weighs an injected outcome prediction', async () => {
    const { parts } = await trainReplyModelFromConversations(listing, tiny);
    const ranker = createReplyRanker(parts);
    const context = [{ role: 'customer' as const, text: 'hello, where is my parcel' }];
    const plain = ranker.suggest(context, { top: 3 });
    expect(plain[0]!.text).toBe('Your parcel is with the courier, tracking number [ref].');
    expect(plain[0]).toMatchObject({ source: 'learned', count: 20 });
    expect(plain.reduce((sum, suggestion) => sum + suggestion.score, 0)).toBeLessThanOrEqual(1 + 1e-9);
    // final = relevance + w · ln P(good): an outcome model that says the top reply goes badly moves it down.
    const doomed = plain[0]!.text;
    const outcomeAfter = (text: string) => (text === doomed ? 1e-6 : 0.9);
    const relevanceGap = Math.log(plain[0]!.score / plain[1]!.score);
    const weight = (relevanceGap + 1) / (Math.log(0.9) - Math.log(0.01));
    const outcomeAware = ranker.suggest(context, { top: 10, outcomeAfter, outcomeWeight: weight });
    expect(outcomeAware[0]!.text).toBe(plain[1]!.text);
    expect(outcomeAware.find((suggestion) => suggestion.text === doomed)?.outcome).toBe(1e-6);
    expect(outcomeAware.find((suggestion) => suggestion.text === plain[1]!.text)?.outcome).toBe(0.9);
    expect(ranker.suggest(context, { top: 3, outcomeAfter: () => 0.5, outcomeWeight: 0 }).map((s) => s.text)).toEqual(plain.map((s) => s.text));
  });
});

/**
 * The artifact layout before 22 November 2026 (format 1): the reply index inside the JSON header,
 * no JSON-lines blobs. Built from a current artifact, so the test needs no copy of the old encoder.
 */
function asFormat1(current: Uint8Array): Uint8Array {
  const view = new DataView(current.buffer, current.byteOffset, current.byteLength);
  const headerLength = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(current.subarray(12, 12 + headerLength)));
  const start = (12 + headerLength + 3) & ~3;
  const lines = (name: string) => {
    const entry = header.blobs.find((blob: { name: string }) => blob.name === name);
    return new TextDecoder().decode(current.subarray(start + entry.offset, start + entry.offset + entry.length)).split('\n').map((line: string) => JSON.parse(line));
  };
  const typed = header.blobs.filter((blob: { type: string }) => blob.type !== 'jsonl');
  const pieces = typed.map((blob: { offset: number; length: number }) => current.subarray(start + blob.offset, start + blob.offset + blob.length * 4));
  let offset = 0;
  const blobs = typed.map((blob: { offset: number; length: number }) => {
    const moved = { ...blob, offset };
    offset += blob.length * 4;
    return moved;
  });
  const oldHeader = new TextEncoder().encode(JSON.stringify({ ...header, index: { ...header.index, clusters: lines('index.clusters'), occurrences: lines('index.occurrences') }, blobs }));
  const oldStart = (12 + oldHeader.length + 3) & ~3;
  const bytes = new Uint8Array(oldStart + offset);
  const out = new DataView(bytes.buffer);
  out.setUint32(0, view.getUint32(0, true), true);
  out.setUint32(4, 1, true);
  out.setUint32(8, oldHeader.length, true);
  bytes.set(oldHeader, 12);
  pieces.forEach((piece: Uint8Array, i: number) => bytes.set(piece, oldStart + blobs[i].offset));
  return bytes;
}
