/**
 * Learned suggestions on a 100,000-reply index (issue 5, "Speed"): the cost of one request's
 * candidate retrieval + ranking, which must stay well under a millisecond for `POST /v1/suggest`
 * to reach p99 ≤ 5 ms at 1,000 req/s.
 *
 * 1-3. bench/support/large-reply-model.ts (shared with bench:suggest): the real corpora (../shared/data/uss: MWOZ, SGD, ReDial, CCPE) are ingested (redaction on)
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
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createReplyRanker, encodeReplyModel, retrievalTerms, type ContextMessage } from '../src/suggest/index.ts';
import { ROOT, writeResults } from './support/harness.ts';
import { buildLargeReplyModel } from './support/large-reply-model.ts';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'suggest-retrieval.json');

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

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Wall-clock percentiles per call, and CPU time per call (process.cpuUsage over the whole loop):
 * on a machine shared with other work the wall tail shows the others' load, CPU time much less.
 */
function time<T>(label: string, calls: number, work: (i: number) => T): { p50: number; p99: number; mean: number; cpu: number } {
  const samples = new Float64Array(calls);
  // Warm-up: the JIT and the stem memo, unmeasured.
  for (let i = 0; i < Math.min(200, calls); i++) work(i);
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    work(i);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  const cpuUsed = process.cpuUsage(cpuStart);
  const mean = samples.reduce((sum, value) => sum + value, 0) / calls;
  samples.sort();
  const result = { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), mean, cpu: (cpuUsed.user + cpuUsed.system) / calls };
  process.stderr.write(`  ${label}: p50 ${result.p50.toFixed(1)} µs, p99 ${result.p99.toFixed(1)} µs, CPU ${result.cpu.toFixed(1)} µs/call\n`);
  return result;
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function main() {
  {
    const model = await buildLargeReplyModel({ replies: targetReplies, ensemble });
    const indexData = model.parts.index;
    const clusterSeconds = model.clusterSeconds;

    global.gc?.();
    const before = process.memoryUsage();
    const started = performance.now();
    const ranker = createReplyRanker(model.parts);
    const buildSeconds = (performance.now() - started) / 1000;
    global.gc?.();
    const after = process.memoryUsage();
    const artifactBytes = encodeReplyModel(ranker.parts).length;
    process.stderr.write(
      `index: ${indexData.occurrences.length.toLocaleString('en-US')} replies → ${indexData.clusters.length.toLocaleString('en-US')} canonical replies; ` +
        `clustered in ${clusterSeconds.toFixed(1)} s, ranker built in ${buildSeconds.toFixed(2)} s\n`,
    );

    const contexts = model.queries;
    const query = (i: number) => contexts[i % contexts.length]!;
    const bodies = contexts.map((context) => JSON.stringify({ context, top: 5 }));
    const candidatePool = model.candidatePool;
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
    // Brute force: BM25 of the query against every canonical reply (term ids and dense query
    // weights, the ranker's own scoring), no inverted index.
    const bm25 = ranker.index.replies;
    const documents = ranker.index.clusters.map((cluster) => ranker.clusterCandidate(cluster.id));
    const dense = new Float32Array(bm25.terms);
    const brute = time('baseline: brute-force BM25 over all replies', Math.min(queryCount, 200), (i) => {
      const weights = bm25.queryWeightsById(retrievalTerms(query(i).at(-1)?.text ?? ''));
      for (const [id, weight] of weights) dense[id] = weight;
      let best = 0;
      for (const document of documents) {
        const score = bm25.scoreIdsDense(dense, document.termIds, document.termCount);
        if (score > best) best = score;
      }
      for (const id of weights.keys()) dense[id] = 0;
      sink += best;
    });
    if (sink === 0) process.stderr.write('(no results?)\n');

    const result = {
      at: new Date().toISOString(),
      replies: indexData.occurrences.length,
      canonicalReplies: indexData.clusters.length,
      dualEncoderDim: model.parts.dualEncoder.dim,
      queries: queryCount,
      suggest,
      rank,
      baselines: { json, bruteForceBm25: brute },
      ratios: {
        suggestP99OverJsonP99: suggest.p99 / json.p99,
        suggestCpuOverJsonCpu: suggest.cpu / json.cpu,
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
    const row = (name: string, stats: { p50: number; p99: number; cpu: number }) =>
      `${name.padEnd(44)} ${stats.p50.toFixed(1).padStart(9)} ${stats.p99.toFixed(1).padStart(9)} ${stats.cpu.toFixed(1).padStart(9)}`;
    process.stdout.write(
      [
        '',
        `Learned suggestions on a ${result.replies.toLocaleString('en-US')}-reply index (${result.canonicalReplies.toLocaleString('en-US')} canonical replies, dual encoder dim ${result.dualEncoderDim})`,
        '',
        `${'per call'.padEnd(44)} ${'p50 µs'.padStart(9)} ${'p99 µs'.padStart(9)} ${'CPU µs'.padStart(9)}`,
        row('suggest, top 5 (retrieval + ranking)', suggest),
        row('rank, 100 given candidates', rank),
        row('baseline: JSON parse + stringify of bodies', json),
        row('baseline: brute-force BM25 over all replies', brute),
        '',
        `suggest / JSON: p99 ${result.ratios.suggestP99OverJsonP99.toFixed(0)}×, CPU ${result.ratios.suggestCpuOverJsonCpu.toFixed(0)}×; brute-force BM25 p50 / suggest p50: ${result.ratios.bruteForceP50OverSuggestP50.toFixed(0)}×`,
        `memory: +${result.memory.heapMiB} MiB heap, +${result.memory.arrayBuffersMiB} MiB array buffers for the ranker${result.memory.gcExposed ? '' : ' (run with --expose-gc for exact figures)'}; artifact ${result.memory.artifactMiB} MiB`,
        `build: clustering ${clusterSeconds.toFixed(1)} s, ranker (BM25 indexes, reply vectors) ${buildSeconds.toFixed(2)} s`,
        '',
        `reproduce: ${result.reproduce}`,
        `results:   ${path.relative(ROOT, RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );
    await writeResults(RESULTS_FILE, result);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
