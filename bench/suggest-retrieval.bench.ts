/**
 * Learned suggestions on a 100,000-reply index (issue 5, "Speed"): the cost of one request's
 * candidate retrieval + ranking, which must stay well under a millisecond for `POST /v1/suggest`
 * to reach p99 ≤ 5 ms at 1,000 req/s.
 *
 * 1. The real corpora (../shared/data/uss: MWOZ, SGD, ReDial, CCPE) are ingested (redaction on)
 *    into a temp DuckDB and read back as a listing's history.
 * 2. A reply model is trained on MWOZ (the served shape: an ensemble of dual encoders, combiners).
 * 3. Its reply index is replaced by one of `--replies` (100,000) replies: every CSR turn of the
 *    four corpora with its context, then seeded variations of them (digits changed, a word
 *    dropped, a courtesy prefix or suffix, …) until the count is reached; deduplicated and
 *    clustered as training would.
 * 4. Queries: contexts of real dialogues (the last turns before a CSR reply), in a fixed order.
 *    Timed per call: `suggest` (top 5: context encoding, BM25 over past contexts and reply texts,
 *    features and the combiner for every candidate, sort) and `rank` of 100 given candidates.
 *
 * Baselines measured in the same run: JSON.parse + JSON.stringify of the request and response
 * bodies (the HTTP layer's least work per request), and a brute-force BM25 that scores every one
 * of the replies for the query (what the inverted index avoids). Memory: heap and array buffers
 * before and after the ranker is built, and the artifact's size.
 *
 * Run: npm run bench:retrieval [-- --replies 100000 --queries 3000 --ensemble 3]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { migrateAnalytics, openAnalyticsDb } from '../src/analytics-store/index.ts';
import { createIngestService } from '../src/ingest/index.ts';
import { newId, systemClock } from '../src/platform/index.ts';
import {
  buildReplyIndexData,
  contextOf,
  createReplyRanker,
  encodeReplyModel,
  readReplyConversations,
  replyExamples,
  retrievalTerms,
  seededRandom,
  trainReplyModelFromConversations,
  type ContextMessage,
  type ReplyConversation,
} from '../src/suggest/index.ts';
import { ROOT } from './support/harness.ts';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'suggest-retrieval.json');
const DATA = path.resolve(ROOT, '..', 'shared', 'data', 'uss');
const CORPORA = ['MWOZ', 'SGD', 'ReDial', 'CCPE'];

const { values: flags } = parseArgs({
  options: {
    replies: { type: 'string' },
    queries: { type: 'string' },
    ensemble: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (flags.help) {
  process.stdout.write(
    [
      'npm run bench:retrieval -- [options]',
      '  --replies N    replies in the index (BENCH_RETRIEVAL_REPLIES; default 100000)',
      '  --queries N    timed queries (BENCH_RETRIEVAL_QUERIES; default 3000)',
      '  --ensemble N   dual encoders in the served model (default 3, as trained by default)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const targetReplies = Number(flags.replies ?? process.env.BENCH_RETRIEVAL_REPLIES ?? 100_000);
const queryCount = Number(flags.queries ?? process.env.BENCH_RETRIEVAL_QUERIES ?? 3_000);
const ensemble = Number(flags.ensemble ?? 3);

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

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function time<T>(label: string, calls: number, work: (i: number) => T): { p50: number; p99: number; mean: number } {
  const samples = new Float64Array(calls);
  // Warm-up: the JIT and the stem memo, unmeasured.
  for (let i = 0; i < Math.min(200, calls); i++) work(i);
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    work(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  const mean = samples.reduce((sum, value) => sum + value, 0) / calls;
  samples.sort();
  const result = { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), mean };
  process.stderr.write(`  ${label}: p50 ${result.p50.toFixed(1)} µs, p99 ${result.p99.toFixed(1)} µs\n`);
  return result;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function main() {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'loopwise-retrieval-'));
  try {
    process.stderr.write('ingesting the USS corpora into a scratch store…\n');
    const db = await openAnalyticsDb(path.join(scratch, 'bench.duckdb'));
    const byCorpus = new Map<string, ReplyConversation[]>();
    try {
      await migrateAnalytics(db);
      const ingest = createIngestService({ db, clock: systemClock, newId });
      for (const corpus of CORPORA) {
        const listingId = corpus.toLowerCase();
        await ingest.ingest({ listingId, paths: [path.join(DATA, `${corpus}.txt`)], format: 'uss', redact: true });
        byCorpus.set(corpus, await readReplyConversations(db, listingId));
      }
    } finally {
      db.close();
    }
    const mwoz = byCorpus.get('MWOZ')!;
    // Train on 700 MWOZ dialogues; the other 100 give queries the model never saw.
    const trainPart = mwoz.slice(0, 700);
    const queryPart = [...mwoz.slice(700), ...byCorpus.get('SGD')!.slice(0, 100)];
    process.stderr.write(`training the reply model on ${trainPart.length} MWOZ dialogues (ensemble ${ensemble})…\n`);
    const trained = await trainReplyModelFromConversations(trainPart, { ensemble });

    process.stderr.write(`synthesising a ${targetReplies.toLocaleString('en-US')}-reply history…\n`);
    const random = seededRandom(42);
    const base = [...byCorpus.values()].flat();
    const history: ReplyConversation[] = [];
    let replies = 0;
    for (let round = 0; replies < targetReplies; round++) {
      for (const conversation of base) {
        if (replies >= targetReplies) break;
        const messages = conversation.messages.map((message) => (round === 0 ? message : { ...message, text: vary(message.text, random) }));
        const csr = messages.filter((message) => message.role === 'csr').length;
        if (csr === 0) continue;
        // Trim the last conversation so the count is exact.
        let kept = messages;
        if (replies + csr > targetReplies) {
          let left = targetReplies - replies;
          const cut = messages.findIndex((message) => message.role === 'csr' && left-- === 0);
          kept = messages.slice(0, cut);
        }
        history.push({ ...conversation, id: `${conversation.id}~${round}`, messages: kept });
        replies += kept.filter((message) => message.role === 'csr').length;
      }
    }
    let started = performance.now();
    const indexData = buildReplyIndexData(history);
    const clusterSeconds = (performance.now() - started) / 1000;

    global.gc?.();
    const before = process.memoryUsage();
    started = performance.now();
    const ranker = createReplyRanker({ ...trained.parts, index: indexData });
    const buildSeconds = (performance.now() - started) / 1000;
    global.gc?.();
    const after = process.memoryUsage();
    const artifactBytes = encodeReplyModel(ranker.parts).length;
    process.stderr.write(
      `index: ${indexData.occurrences.length.toLocaleString('en-US')} replies → ${indexData.clusters.length.toLocaleString('en-US')} canonical replies; ` +
        `clustered in ${clusterSeconds.toFixed(1)} s, ranker built in ${buildSeconds.toFixed(2)} s\n`,
    );

    // Queries: real contexts (up to the last 6 messages) before CSR replies of unseen dialogues.
    const contexts: ContextMessage[][] = replyExamples(queryPart)
      .filter((example) => example.position > 0)
      .map((example) => contextOf(example).slice(-6));
    const query = (i: number) => contexts[i % contexts.length]!;
    const bodies = contexts.map((context) => JSON.stringify({ context, top: 5 }));
    const candidatePool = replyExamples(queryPart).map((example) => example.conversation.messages[example.position]!.text);
    const candidatesFor = (i: number) => Array.from({ length: 100 }, (_, k) => candidatePool[(i * 7919 + k * 104_729) % candidatePool.length]!);

    process.stderr.write(`timing ${queryCount.toLocaleString('en-US')} queries…\n`);
    let sink = 0;
    const suggest = time('suggest (top 5)', queryCount, (i) => {
      sink += ranker.suggest(query(i), { top: 5 }).length;
    });
    const rank = time('rank (100 candidates)', Math.min(queryCount, 1000), (i) => {
      sink += ranker.rank(query(i), candidatesFor(i)).length;
    });
    const json = time('baseline: JSON.parse + stringify of the bodies', queryCount, (i) => {
      const body = JSON.parse(bodies[i % bodies.length]!) as { context: ContextMessage[] };
      sink += JSON.stringify({ suggestions: body.context.slice(0, 5).map((message) => ({ text: message.text, source: 'learned', score: 0.2 })) }).length;
    });
    // Brute force: BM25 of the query against every reply text, no inverted index.
    const replyTerms = ranker.index.clusterTerms;
    const brute = time('baseline: brute-force BM25 over all replies', Math.min(queryCount, 100), (i) => {
      const terms = retrievalTerms(query(i).at(-1)?.text ?? '');
      let best = 0;
      for (const document of replyTerms) {
        const score = ranker.index.replies.scoreText(terms, document);
        if (score > best) best = score;
      }
      sink += best;
    });
    if (sink === 0) process.stderr.write('(no results?)\n');

    const result = {
      at: new Date().toISOString(),
      replies: indexData.occurrences.length,
      canonicalReplies: indexData.clusters.length,
      dualEncoderDim: trained.parts.dualEncoder.dim,
      queries: queryCount,
      suggest,
      rank,
      baselines: { json, bruteForceBm25: brute },
      ratios: {
        suggestP99OverJsonP99: suggest.p99 / json.p99,
        bruteForceP50OverSuggestP50: brute.p50 / suggest.p50,
      },
      memory: {
        heapMiB: mib(after.heapUsed - before.heapUsed),
        arrayBuffersMiB: mib(after.arrayBuffers - before.arrayBuffers),
        artifactMiB: mib(artifactBytes),
        gcExposed: typeof global.gc === 'function',
      },
      build: { clusterSeconds, rankerSeconds: buildSeconds },
      reproduce: `npm run bench:retrieval -- --replies ${targetReplies} --queries ${queryCount} --ensemble ${ensemble}`,
    };
    const row = (name: string, stats: { p50: number; p99: number }) => `${name.padEnd(44)} ${stats.p50.toFixed(1).padStart(9)} ${stats.p99.toFixed(1).padStart(9)}`;
    process.stdout.write(
      [
        '',
        `Learned suggestions on a ${result.replies.toLocaleString('en-US')}-reply index (${result.canonicalReplies.toLocaleString('en-US')} canonical replies, dual encoder dim ${result.dualEncoderDim})`,
        '',
        `${'per call'.padEnd(44)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)}`,
        row('suggest, top 5 (retrieval + ranking)', suggest),
        row('rank, 100 given candidates', rank),
        row('baseline: JSON parse + stringify of bodies', json),
        row('baseline: brute-force BM25 over all replies', brute),
        '',
        `suggest p99 / JSON p99: ${result.ratios.suggestP99OverJsonP99.toFixed(1)}×; brute-force BM25 p50 / suggest p50: ${result.ratios.bruteForceP50OverSuggestP50.toFixed(0)}×`,
        `memory: +${result.memory.heapMiB} MiB heap, +${result.memory.arrayBuffersMiB} MiB array buffers for the ranker${result.memory.gcExposed ? '' : ' (run with --expose-gc for exact figures)'}; artifact ${result.memory.artifactMiB} MiB`,
        `build: clustering ${clusterSeconds.toFixed(1)} s, ranker (BM25 indexes, reply vectors) ${buildSeconds.toFixed(2)} s`,
        '',
        `reproduce: ${result.reproduce}`,
        `results:   ${path.relative(ROOT, RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );
    await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
    await writeFile(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
