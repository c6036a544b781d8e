/**
 * Outcome models (issue 4, "Figures"): training time on a USS corpus and the serving cost of one
 * prediction, each against a baseline measured in the same run.
 *
 * 1. The corpus (default ../shared/data/uss/MWOZ.txt) is ingested into a temp DuckDB file and a
 *    satisfaction model trained the way `loopwise train` does: 5-fold evaluation by dialogue, then
 *    the final model on everything. Timed: the whole call, and the final model alone.
 * 2. Every prefix of every dialogue is encoded once (ConversationState → dense + n-grams), then
 *    timed per prediction, each call on its own (process.hrtime, ~50 ns of overhead included):
 *      scorer      the compiled scorer on an encoded row (what serving runs)
 *      dot         a bare dot product of the dense row with one weight column (the floor)
 *      tfjs        the same model as a TensorFlow.js graph, `model.predict` on one row (tensors
 *                  made, predicted, read back: what a tfjs scorer would cost per request)
 *      session     push a message into a live session and predict (features + encoding + score)
 *      what-if     predictWithCandidate with a prepared candidate reply (the suggestion engine)
 *      drivers     predict with the top 5 drivers in words
 *    The scorer and tfjs probabilities are compared on the tfjs sample (parity, ≤ 1e-5).
 *
 * Run: npm run bench:models [-- --corpus ../shared/data/uss/SGD.txt --at after-turn --model mlp]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { migrateAnalytics, openAnalyticsDb } from '../src/analytics-store/index.ts';
import { listConversations, readMessages, type FeatureMessage } from '../src/features/index.ts';
import { createIngestService } from '../src/ingest/index.ts';
import {
  CATEGORY_COLUMNS,
  ConversationState,
  RAW_COLUMNS,
  compileScorer,
  createSparseRow,
  decodeArtifact,
  encodeSparse,
  expandSparse,
  inputWidth,
  loadOutcomeModel,
  ngramProduct,
  SPARSE_SLOTS,
  standardize,
  readRaw,
  trainOutcomeModel,
  type ModelKind,
} from '../src/models/index.ts';
import { buildModel, tf, writeWeights } from '../src/models/training/index.ts';
import { newId, systemClock } from '../src/platform/index.ts';
import { ROOT, writeResults } from './support/harness.ts';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'models.json');
const { values: flags } = parseArgs({
  options: {
    corpus: { type: 'string' },
    at: { type: 'string' },
    model: { type: 'string' },
    'tfjs-rows': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (flags.help) {
  process.stdout.write(
    [
      'npm run bench:models -- [options]',
      '  --corpus F      USS file (default ../shared/data/uss/MWOZ.txt)',
      '  --at P          before-turn (default) or after-turn',
      '  --model K       logistic (default) or mlp',
      '  --tfjs-rows N   rows timed through tfjs (default 3000)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const corpus = path.resolve(flags.corpus ?? path.join(ROOT, '..', 'shared', 'data', 'uss', 'MWOZ.txt'));
const at = (flags.at ?? 'before-turn') as 'before-turn' | 'after-turn';
const kind = (flags.model ?? 'logistic') as ModelKind;
const tfjsRows = Number(flags['tfjs-rows'] ?? 3000);

interface Stats {
  samples: number;
  p50_us: number;
  p99_us: number;
  mean_us: number;
}
function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { samples: sorted.length, p50_us: round(pick(0.5)), p99_us: round(pick(0.99)), mean_us: round(sorted.reduce((a, b) => a + b, 0) / sorted.length) };
}
/** Times `work(i)` for i < count, one call per sample, `rounds` times; the first round only warms up. */
function time(count: number, rounds: number, work: (i: number) => void): number[] {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      work(i);
      const ns = Number(process.hrtime.bigint() - start);
      if (round > 0) samples.push(ns / 1000);
    }
  }
  return samples;
}

async function main() {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'loopwise-models-bench-'));
  try {
    const db = await openAnalyticsDb(path.join(scratch, 'analytics.duckdb'));
    let trained;
    let dialogues: FeatureMessage[][] = [];
    const listingId = 'bench';
    try {
      await migrateAnalytics(db);
      const ingested = await createIngestService({ db, clock: systemClock, newId }).ingest({ listingId, paths: [corpus], format: 'uss', redact: true });
      process.stderr.write(`${path.basename(corpus)}: ${ingested.accepted} dialogues, ${ingested.messages} messages ingested\n`);
      const started = performance.now();
      let lastPhase = '';
      trained = await trainOutcomeModel(db, {
        listingId,
        target: 'satisfaction',
        at,
        model: kind,
        split: 'kfold',
        folds: 5,
        onProgress: (progress) => {
          if (progress.phase !== lastPhase) process.stderr.write(`  train: ${progress.phase}…\n`);
          lastPhase = progress.phase;
        },
      });
      process.stderr.write(`  trained in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      const conversations = await listConversations(db, listingId);
      const messages = await readMessages(
        db,
        listingId,
        conversations.map((c) => c.id),
      );
      const byId = new Map<string, FeatureMessage[]>();
      for (const message of messages) byId.set(message.interactionId, [...(byId.get(message.interactionId) ?? []), message]);
      dialogues = [...byId.values()];
    } finally {
      db.close();
    }

    // Encoded rows: every prefix of every dialogue, with the model's own encoding.
    const content = decodeArtifact(trained.artifact);
    const { config, dense: spec } = content;
    const slots = SPARSE_SLOTS.map((slot) => content.slots.includes(slot));
    const rows: Array<{ dense: Float32Array; idx: Int32Array; val: Float32Array; nnz: number }> = [];
    const raw = new Float64Array(RAW_COLUMNS.length);
    const categories = new Array<string | null>(CATEGORY_COLUMNS.length).fill(null);
    const sparse = createSparseRow();
    for (const dialogue of dialogues) {
      const state = new ConversationState();
      for (const message of dialogue) {
        state.push(message);
        readRaw(state, raw, categories);
        const dense = new Float32Array(spec.width);
        standardize(spec, raw, categories, dense);
        encodeSparse(state, config.buckets, sparse, slots);
        rows.push({ dense, idx: sparse.idx.slice(0, sparse.nnz), val: sparse.val.slice(0, sparse.nnz), nnz: sparse.nnz });
      }
    }
    const scorer = compileScorer(config, content.weights);
    const probs = new Float64Array(config.classes);
    const scorerSamples = time(rows.length, 3, (i) => {
      const row = rows[i]!;
      scorer.probs(row.dense, row.idx, row.val, row.nnz, probs);
    });
    const column = content.weights.denseKernel.filter((_, j) => j % inputWidth(config) === 0);
    let sink = 0;
    const dotSamples = time(rows.length, 3, (i) => {
      const dense = rows[i]!.dense;
      let s = 0;
      for (let j = 0; j < dense.length; j++) s += dense[j]! * column[j]!;
      sink += s;
    });

    // The same model as a tfjs graph.
    const model = buildModel(config);
    const table = expandSparse(content.weights.sparse, config.buckets, inputWidth(config));
    writeWeights(model, config, { ...content.weights, sparseKernel: table });
    const width = inputWidth(config);
    const ngrams = new Float32Array(width);
    let worst = 0;
    const sample = Math.min(tfjsRows, rows.length);
    const stride = Math.max(1, Math.floor(rows.length / sample));
    const tfjsSamples = time(sample, 2, (i) => {
      const row = rows[i * stride]!;
      ngramProduct(table, width, row.idx, row.val, 0, row.nnz, ngrams);
      const out = tf.tidy(() => tf.softmax(model.predict([tf.tensor2d(row.dense, [1, row.dense.length]), tf.tensor2d(ngrams, [1, width])]) as tf.Tensor2D));
      const values = out.dataSync();
      out.dispose();
      scorer.probs(row.dense, row.idx, row.val, row.nnz, probs);
      for (let k = 0; k < config.classes; k++) worst = Math.max(worst, Math.abs(values[k]! - probs[k]!));
    });
    model.dispose();

    // Live sessions: push + predict per message; what-if with prepared candidates; drivers.
    const outcome = loadOutcomeModel(trained.artifact, trained.metadata);
    const flat = dialogues.flatMap((dialogue, d) => dialogue.map((message, m) => ({ d, m, message })));
    let sessions = new Map<number, ReturnType<typeof outcome.startConversation>>();
    const sessionSamples: number[] = [];
    for (let round = 0; round < 3; round++) {
      sessions = new Map();
      for (const { d, message } of flat) {
        const start = process.hrtime.bigint();
        let session = sessions.get(d);
        if (!session) sessions.set(d, (session = outcome.startConversation()));
        session.push(message);
        sink += session.risk();
        const ns = Number(process.hrtime.bigint() - start);
        if (round > 0) sessionSamples.push(ns / 1000);
      }
    }
    const replies = flat.filter(({ message }) => message.role === 'csr').filter((_, i) => i % 97 === 0).slice(0, 100);
    const candidates = replies.map(({ message }) => outcome.prepareCandidate(message.text, 'csr'));
    const points = flat.filter(({ message }) => message.role === 'customer').filter((_, i) => i % 11 === 0);
    const branches = points.map(({ d, m }) => {
      const session = outcome.startConversation();
      for (const message of dialogues[d]!.slice(0, m + 1)) session.push(message);
      return session;
    });
    const whatIfSamples = time(branches.length * candidates.length, 2, (i) => {
      sink += branches[Math.floor(i / candidates.length)]!.predictWithCandidate(candidates[i % candidates.length]!);
    });
    const driverSamples = time(branches.length, 3, (i) => {
      sink += branches[i]!.predict({ drivers: 5 }).drivers.length;
    });
    if (sink === Number.POSITIVE_INFINITY) process.stdout.write('\n');

    const t = trained.metadata.timings;
    const m = trained.evaluation.metrics;
    const figures = {
      scorer: stats(scorerSamples),
      dot: stats(dotSamples),
      tfjs: stats(tfjsSamples),
      session: stats(sessionSamples),
      whatIf: stats(whatIfSamples),
      drivers: stats(driverSamples),
    };
    const fmt = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
    const line = (name: string, s: Stats, note = '') => `${name.padEnd(34)}${fmt(s.p50_us).padStart(9)}${fmt(s.p99_us).padStart(9)}${String(s.samples).padStart(10)}  ${note}`;
    const reproduce = `npm run bench:models -- --corpus ${path.relative(ROOT, corpus)} --at ${at} --model ${kind}`;
    process.stdout.write(
      [
        '',
        `Outcome model on ${path.basename(corpus)} (${dialogues.length} dialogues, satisfaction --at ${at}, ${kind}, backend ${trained.metadata.backend})`,
        '',
        `training: ${t.totalSeconds.toFixed(1)} s in all (read ${t.readSeconds.toFixed(1)} s, 5-fold evaluation ${t.evaluateSeconds.toFixed(1)} s, final model ${t.finalSeconds.toFixed(1)} s; ${trained.metadata.config.epochsTrained} epochs)`,
        `quality (5-fold mean): AUC(dissatisfied) ${m.auc?.toFixed(3)}  UAR ${m.uar?.toFixed(3)}  F1(dissatisfied, USS formula) ${m.f1Bad?.toFixed(3)}`,
        '',
        `${'per prediction'.padEnd(34)}${'p50 µs'.padStart(9)}${'p99 µs'.padStart(9)}${'samples'.padStart(10)}`,
        line('compiled scorer (encoded row)', figures.scorer, `${(figures.tfjs.p50_us / figures.scorer.p50_us).toFixed(0)}× faster than tfjs at p50, ${(figures.tfjs.p99_us / figures.scorer.p99_us).toFixed(0)}× at p99`),
        line('bare dot product (dense row)', figures.dot, `the floor: scorer/dot ${(figures.scorer.p50_us / figures.dot.p50_us).toFixed(1)}× at p50`),
        line('tfjs model.predict (one row)', figures.tfjs, `parity: max |Δp| ${worst.toExponential(2)}`),
        line('session: push + predict', figures.session, 'features, encoding and scoring of one new message'),
        line('what-if: predictWithCandidate', figures.whatIf, `${candidates.length} prepared replies × ${branches.length} conversations`),
        line('predict with 5 drivers', figures.drivers),
        '',
        `reproduce: ${reproduce}`,
        `results:   ${path.relative(ROOT, RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );
    await writeResults(RESULTS_FILE, { at: new Date().toISOString(), corpus: path.relative(ROOT, corpus), placement: at, kind, backend: trained.metadata.backend, timings: t, quality: m, figures, parityMaxAbs: worst, reproduce });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
