import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrateAnalytics, openAnalyticsDb } from '../../src/analytics-store/index.ts';
import { createIngestService } from '../../src/ingest/index.ts';
import { newId, systemClock } from '../../src/platform/index.ts';
import {
  buildReplyIndexData,
  contextOf,
  readReplyConversations,
  replyExamples,
  seededRandom,
  trainReplyModelFromConversations,
  type ContextMessage,
  type ReplyConversation,
  type ReplyModelParts,
} from '../../src/suggest/index.ts';
import { ROOT } from './harness.ts';

/**
 * A reply model the size of a large listing's history, for the suggestion benchmarks: trained on
 * 700 real MultiWOZ dialogues, then given an index of `replies` (100,000) CSR replies — every CSR
 * turn of the four USS corpora with its context, then seeded variations of them (digits changed,
 * a word dropped, a courtesy prefix or suffix) until the count is reached; deduplicated and
 * clustered as training does. Queries are real contexts the model never saw.
 */

const DATA = path.resolve(ROOT, '..', 'shared', 'data', 'uss');
export const USS_CORPORA = ['MWOZ', 'SGD', 'ReDial', 'CCPE'] as const;
const COURTESY_PREFIXES = ['Sure, ', 'Certainly. ', 'Of course! ', 'Absolutely, ', 'Okay, ', 'Great. ', 'Happy to help. '];
const COURTESY_SUFFIXES = [' Anything else?', ' Is there anything else I can help with?', ' Thanks!', ' Have a nice day.', ' Let me know.', ' :)'];

/** A variation of a reply: digits changed, maybe a word dropped, maybe a courtesy prefix/suffix. */
function vary(text: string, random: () => number): string {
  let result = text.replace(/\d/g, () => String(Math.floor(random() * 10)));
  const words = result.split(' ');
  if (words.length > 4 && random() < 0.5) words.splice(1 + Math.floor(random() * (words.length - 1)), 1);
  result = words.join(' ');
  if (random() < 0.4) result = COURTESY_PREFIXES[Math.floor(random() * COURTESY_PREFIXES.length)]! + result;
  if (random() < 0.4) result += COURTESY_SUFFIXES[Math.floor(random() * COURTESY_SUFFIXES.length)]!;
  return result;
}

/** Counted as the index counts them: CSR messages with text. */
const isReply = (message: ReplyConversation['messages'][number]) => message.role === 'csr' && message.text.trim() !== '';

export interface LargeReplyModel {
  /** The trained model with the large index in place of its own. */
  parts: ReplyModelParts;
  /** Real contexts (up to the last 6 messages) before CSR replies of dialogues not trained on. */
  queries: ContextMessage[][];
  /** Texts of CSR replies in those dialogues (candidates for `rank`). */
  candidatePool: string[];
  replies: number;
  canonicalReplies: number;
  clusterSeconds: number;
}

export async function buildLargeReplyModel(options: { replies: number; ensemble?: number; log?: (line: string) => void }): Promise<LargeReplyModel> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'loopwise-replies-'));
  const byCorpus = new Map<string, ReplyConversation[]>();
  try {
    log('ingesting the USS corpora into a scratch store…');
    const db = await openAnalyticsDb(path.join(scratch, 'bench.duckdb'));
    try {
      await migrateAnalytics(db);
      const ingest = createIngestService({ db, clock: systemClock, newId });
      for (const corpus of USS_CORPORA) {
        const listingId = corpus.toLowerCase();
        await ingest.ingest({ listingId, paths: [path.join(DATA, `${corpus}.txt`)], format: 'uss', redact: true });
        byCorpus.set(corpus, await readReplyConversations(db, listingId));
      }
    } finally {
      db.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const mwoz = byCorpus.get('MWOZ')!;
  // Train on 700 MWOZ dialogues; the other 100 (and some SGD) give queries the model never saw.
  const trainPart = mwoz.slice(0, 700);
  const queryPart = [...mwoz.slice(700), ...byCorpus.get('SGD')!.slice(0, 100)];
  log(`training the reply model on ${trainPart.length} MWOZ dialogues…`);
  const trained = await trainReplyModelFromConversations(trainPart, options.ensemble === undefined ? {} : { ensemble: options.ensemble });

  log(`synthesising a ${options.replies.toLocaleString('en-US')}-reply history…`);
  const random = seededRandom(42);
  const base = [...byCorpus.values()].flat();
  const history: ReplyConversation[] = [];
  let replies = 0;
  for (let round = 0; replies < options.replies; round++) {
    for (const conversation of base) {
      if (replies >= options.replies) break;
      const messages = conversation.messages.map((message) => (round === 0 ? message : { ...message, text: vary(message.text, random) }));
      const csr = messages.filter(isReply).length;
      if (csr === 0) continue;
      // Trim the last conversation so the count is exact.
      let kept = messages;
      if (replies + csr > options.replies) {
        let left = options.replies - replies;
        const cut = messages.findIndex((message) => isReply(message) && left-- === 0);
        kept = messages.slice(0, cut);
      }
      history.push({ ...conversation, id: `${conversation.id}~${round}`, messages: kept });
      replies += kept.filter(isReply).length;
    }
  }
  const started = performance.now();
  const index = buildReplyIndexData(history);
  const clusterSeconds = (performance.now() - started) / 1000;
  const examples = replyExamples(queryPart);
  return {
    parts: { ...trained.parts, index },
    queries: examples.filter((example) => example.position > 0).map((example) => contextOf(example).slice(-6)),
    candidatePool: examples.map((example) => example.conversation.messages[example.position]!.text),
    replies: index.occurrences.length,
    canonicalReplies: index.clusters.length,
    clusterSeconds,
  };
}
