import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assignFolds,
  contextOf,
  buildReplyRanker,
  createReplyRanker,
  decodeReplyModel,
  decodeReplyModelSteps,
  rankOf,
  readReplyConversations,
  replyExamples,
  replyKey,
  seededRandom,
  trainReplyModel,
  trainReplyModelFromConversations,
  type ReplyConversation,
} from '../../src/suggest/index.ts';
import { createTimeSlice, runSliced } from '../../src/platform/index.ts';
import { countLoopTurns } from '../support/event-loop.ts';
import { createAnalyticsFixture, IBM_DEV, MWOZ, ussSlice, type AnalyticsFixture } from '../support/analytics.ts';

// Real dialogues (a slice of MultiWOZ from ../shared/data/uss) through the real store: ingest into
// DuckDB, read the listing back, build the reply index and train a small ranker, then check what
// a CSR relies on: on conversations the model never saw, the reply the wizard actually gave ranks
// above random other replies far more often than chance.

const small = { ensemble: 1, refit: false, crossFitBelow: 0, dualEncoder: { dim: 32, epochs: 3 }, combiner: { iterations: 150 } } as const;
let fx: AnalyticsFixture;
let conversations: ReplyConversation[];

beforeAll(async () => {
  fx = await createAnalyticsFixture();
  const slice = await ussSlice(MWOZ, fx.dir, 150);
  await fx.ingest({ listingId: 'mwoz', paths: [slice], format: 'uss' });
  await fx.ingest({ listingId: 'twitter', paths: [IBM_DEV], format: 'ibm-twitter' });
  conversations = await readReplyConversations(fx.db, 'mwoz');
});
afterAll(() => fx.close());

describe('learned suggestions on real dialogues', () => {
  it('reads conversations with their turn ratings, and only the listing asked for', async () => {
    expect(conversations).toHaveLength(150);
    expect(conversations[0]!.messages[0]).toMatchObject({ seq: 1, role: 'customer' });
    expect(conversations[0]!.messages.some((message) => message.role === 'csr')).toBe(true);
    expect(conversations[0]!.turnSatisfaction.size).toBeGreaterThan(0);
    expect(conversations[0]!.outcome.satisfaction).not.toBeNull();
    const twitter = await readReplyConversations(fx.db, 'twitter');
    expect(twitter).toHaveLength(525);
    const article = twitter[0]!.messages.at(-1)!;
    expect(article).toMatchObject({ role: 'csr' });
    expect(article.docId).toMatch(/^\d+$/);
    expect(article.url).toMatch(/^https?:\/\//);
  });

  it('ranks the true next reply above random ones on held-out dialogues, far above chance', async () => {
    const folds = assignFolds(
      conversations.map((conversation) => conversation.id),
      5,
      1,
    );
    const train = conversations.filter((conversation) => folds.get(conversation.id) !== 0);
    const test = conversations.filter((conversation) => folds.get(conversation.id) === 0);
    const { parts } = await trainReplyModelFromConversations(train, small);
    const ranker = createReplyRanker(parts);
    const examples = replyExamples(test).filter((example) => example.position > 0);
    const pool = examples.map((example) => example.conversation.messages[example.position]!.text);
    const random = seededRandom(9);
    const candidatesPerList = 20;
    let top1 = 0;
    let lists = 0;
    for (const [i, example] of examples.entries()) {
      const candidates = [pool[i]!];
      while (candidates.length < candidatesPerList) {
        const other = pool[Math.floor(random() * pool.length)]!;
        if (replyKey(other) !== replyKey(pool[i]!) && !candidates.includes(other)) candidates.push(other);
      }
      if (rankOf(ranker.rank(contextOf(example), candidates), 0) === 1) top1++;
      lists++;
    }
    expect(lists).toBeGreaterThan(200);
    // Chance is 1/20 = 0.05 (this slice and seed: ~0.5).
    expect(top1 / lists).toBeGreaterThan(0.3);
  });

  it('trains from the store into an artifact that suggests a booking reply for a booking request', async () => {
    const { bytes, metadata, report } = await trainReplyModel({ analytics: fx.db }, { listingId: 'mwoz', config: small });
    expect(metadata).toMatchObject({ kind: 'reply-dual-encoder', featureSet: 'reply-ngrams-v1', conversations: 150 });
    expect(report.canonicalReplies).toBeLessThan(report.replies);
    const ranker = createReplyRanker(decodeReplyModel(bytes));
    const suggestions = ranker.suggest([{ role: 'customer', text: 'Yes, please book a table for 2 people at 18:00 on Friday.' }], { top: 5 });
    expect(suggestions).toHaveLength(5);
    expect(new Set(suggestions.map((suggestion) => suggestion.text)).size).toBe(5);
    expect(suggestions.some((suggestion) => /book|reserv|reference/i.test(suggestion.text))).toBe(true);
    await expect(trainReplyModel({ analytics: fx.db }, { listingId: 'nobody' })).rejects.toThrow(/0 CSR replies/);

    // The api builds a promoted model in time slices (a 100k-reply index is ~3 s of work): other
    // work runs in between, and the ranker is the same one.
    const decoded = await countLoopTurns(() => runSliced(decodeReplyModelSteps(bytes), createTimeSlice(0)));
    expect(decoded.turns).toBeGreaterThan(2);
    expect(decoded.result.index.clusters).toEqual(decodeReplyModel(bytes).index.clusters);
    const sliced = await countLoopTurns(() => buildReplyRanker(decoded.result, { retainParts: false }, createTimeSlice(0)));
    expect(sliced.turns).toBeGreaterThan(20);
    expect((await countLoopTurns(() => createReplyRanker(decodeReplyModel(bytes), { retainParts: false }))).turns).toBe(0);
    for (const text of ['Yes, please book a table for 2 people at 18:00 on Friday.', 'I need a train to Cambridge', 'Is there a cheap hotel in the north?']) {
      const context = [{ role: 'customer' as const, text }];
      expect(sliced.result.suggest(context, { top: 5 })).toEqual(ranker.suggest(context, { top: 5 }));
    }
  });
});
