/**
 * Tone alone as a predictor of USS dissatisfaction (issue 3, "Figures"): the baseline the outcome
 * models have to beat. Each corpus (default ../shared/data/uss/MWOZ.txt and SGD.txt) is ingested
 * through the ingest service (redaction on) into a temp DuckDB file; every dialogue's stored
 * messages are then pushed through the online features (`createOnlineFeatures`, the registry's
 * tone features) and, at each rated USER turn, the customer's tone is read:
 *
 *   tone_last  the tone of that customer message        tone_min   the running minimum so far
 *   tone_mean  the running mean of customer messages
 *
 * The target is dissatisfaction: the turn's majority rating (label `satisfaction`) ≤ 2. The score
 * is −tone (lower tone, more likely dissatisfied), so AUC > 0.5 means tone carries signal. The
 * dialogue-level OVERALL rating (outcome `satisfaction` ≤ 2) is scored with the tone features
 * after the last message.
 *
 * Run: npm run bench:tone [-- --corpus path/a.txt,path/b.txt]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { migrateAnalytics, openAnalyticsDb } from '../src/analytics-store/index.ts';
import { createOnlineFeatures, featureRegistry, listConversations, readMessages } from '../src/features/index.ts';
import { createIngestService } from '../src/ingest/index.ts';
import { rocAuc } from '../src/models/index.ts';
import { newId, systemClock } from '../src/platform/index.ts';
import { ROOT, writeResults } from './support/harness.ts';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'tone-baseline.json');
const DEFAULT_CORPORA = ['MWOZ.txt', 'SGD.txt'].map((name) => path.resolve(ROOT, '..', 'shared', 'data', 'uss', name));
const DISSATISFIED_AT_MOST = 2;
const TONE_FEATURES = ['tone_last', 'tone_min', 'tone_mean'] as const;
type ToneFeature = (typeof TONE_FEATURES)[number];

const { values: flags } = parseArgs({
  options: { corpus: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  strict: true,
});
if (flags.help) {
  process.stdout.write(
    [
      'npm run bench:tone -- [options]',
      `  --corpus F,F   USS dialogue files (BENCH_TONE_CORPORA; default ${DEFAULT_CORPORA.map((file) => path.relative(ROOT, file)).join(',')})`,
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const corpora = (flags.corpus ?? process.env.BENCH_TONE_CORPORA)?.split(',').map((file) => path.resolve(file.trim())) ?? DEFAULT_CORPORA;

const featureIndex = Object.fromEntries(
  TONE_FEATURES.map((name) => {
    const index = featureRegistry.dense.findIndex((feature) => feature.name === name);
    if (index < 0) throw new Error(`feature ${name} is not in the registry`);
    return [name, index];
  }),
) as Record<ToneFeature, number>;

interface Evaluation {
  examples: number;
  dissatisfied: number;
  auc: Record<ToneFeature, number | null>;
}

function evaluate(examples: Array<{ tone: Record<ToneFeature, number>; dissatisfied: boolean }>): Evaluation {
  const labels = examples.map((example) => example.dissatisfied);
  const auc = Object.fromEntries(
    TONE_FEATURES.map((name) => {
      const value = rocAuc(
        examples.map((example) => -example.tone[name]),
        labels,
      );
      return [name, value === null ? null : Math.round(value * 10_000) / 10_000];
    }),
  ) as Record<ToneFeature, number | null>;
  return { examples: examples.length, dissatisfied: labels.filter(Boolean).length, auc };
}

async function main() {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'loopwise-tone-'));
  const results: Array<{ corpus: string; dialogues: number; turns: Evaluation; overall: Evaluation; ingestSeconds: number }> = [];
  try {
    for (const corpus of corpora) {
      const listingId = path.basename(corpus, path.extname(corpus)).toLowerCase().replace(/[^a-z0-9-]/g, '-');
      const db = await openAnalyticsDb(path.join(scratch, `${listingId}.duckdb`));
      try {
        await migrateAnalytics(db);
        const summary = await createIngestService({ db, clock: systemClock, newId }).ingest({ listingId, paths: [corpus], format: 'uss', redact: true });
        process.stderr.write(`${path.basename(corpus)}: ${summary.accepted} dialogues, ${summary.messages} messages, ${summary.quarantined} quarantined (${summary.seconds.toFixed(1)} s)\n`);

        const turnRatings = new Map<string, number>();
        for (const row of await db.all<{ interaction_id: string; seq: number; rating: number }>(
          `SELECT interaction_id, seq, value_num AS rating FROM labels
           WHERE listing_id = $listing AND kind = 'turn' AND name = 'satisfaction' AND value_num IS NOT NULL`,
          { listing: listingId },
        )) {
          turnRatings.set(`${row.interaction_id}#${row.seq}`, row.rating);
        }
        const overallRatings = new Map<string, number>();
        for (const row of await db.all<{ id: string; rating: number }>(
          'SELECT id, satisfaction::INTEGER AS rating FROM interactions WHERE listing_id = $listing AND satisfaction IS NOT NULL',
          { listing: listingId },
        )) {
          overallRatings.set(row.id, row.rating);
        }

        const turnExamples: Array<{ tone: Record<ToneFeature, number>; dissatisfied: boolean }> = [];
        const overallExamples: typeof turnExamples = [];
        const conversations = await listConversations(db, listingId);
        const toneNow = (online: ReturnType<typeof createOnlineFeatures>) => {
          const tone = {} as Record<ToneFeature, number>;
          for (const name of TONE_FEATURES) tone[name] = Number(online.value(featureIndex[name]) ?? 0);
          return tone;
        };
        for (let i = 0; i < conversations.length; i += 500) {
          const batch = conversations.slice(i, i + 500);
          const messages = await readMessages(
            db,
            listingId,
            batch.map((conversation) => conversation.id),
          );
          let online = createOnlineFeatures();
          let current: string | undefined;
          const finish = () => {
            const rating = current === undefined ? undefined : overallRatings.get(current);
            if (rating !== undefined && online.length > 0 && online.value(featureIndex.tone_last) !== null) {
              overallExamples.push({ tone: toneNow(online), dissatisfied: rating <= DISSATISFIED_AT_MOST });
            }
          };
          for (const message of messages) {
            if (message.interactionId !== current) {
              finish();
              current = message.interactionId;
              online = createOnlineFeatures();
            }
            online.push(message);
            const rating = turnRatings.get(`${message.interactionId}#${message.seq}`);
            if (rating === undefined || message.role !== 'customer') continue;
            turnExamples.push({ tone: toneNow(online), dissatisfied: rating <= DISSATISFIED_AT_MOST });
          }
          finish();
        }
        results.push({
          corpus: path.relative(ROOT, corpus),
          dialogues: conversations.length,
          turns: evaluate(turnExamples),
          overall: evaluate(overallExamples),
          ingestSeconds: summary.seconds,
        });
      } finally {
        db.close();
      }
    }

    const cell = (value: number | null) => (value === null ? '—' : value.toFixed(3));
    const rows = [
      ['corpus', 'target', 'examples', 'dissatisfied', ...TONE_FEATURES.map((name) => `AUC ${name}`)],
      ...results.flatMap((result) => [
        [path.basename(result.corpus), 'turn rating ≤ 2', String(result.turns.examples), String(result.turns.dissatisfied), ...TONE_FEATURES.map((name) => cell(result.turns.auc[name]))],
        [path.basename(result.corpus), 'overall ≤ 2', String(result.overall.examples), String(result.overall.dissatisfied), ...TONE_FEATURES.map((name) => cell(result.overall.auc[name]))],
      ]),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    const line = (row: string[]) => row.map((value, column) => (column > 1 ? value.padStart(widths[column]!) : value.padEnd(widths[column]!))).join('  ');
    const reproduce = `npm run bench:tone -- --corpus ${results.map((result) => result.corpus).join(',')}`;
    process.stdout.write(
      [
        '',
        'Tone alone as a predictor of USS dissatisfaction (score = −tone; AUC 0.5 = no signal)',
        '',
        line(rows[0]!),
        widths.map((width) => '─'.repeat(width)).join('  '),
        ...rows.slice(1).map(line),
        '',
        `reproduce: ${reproduce}`,
        `results:   ${path.relative(ROOT, RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );
    await writeResults(RESULTS_FILE, { at: new Date().toISOString(), dissatisfiedAtMost: DISSATISFIED_AT_MOST, score: '-tone', features: TONE_FEATURES, results, reproduce });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbenchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
