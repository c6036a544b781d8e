import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { analyticsDbPath, migrateAnalytics, openAnalyticsDb } from '../analytics-store/index.ts';
import { createIngestService } from '../ingest/index.ts';
import { listingIdSchema } from '../listings/index.ts';
import { createModelRegistry } from '../models/index.ts';
import { AppError, loadConfigFromEnv, migrate, newId, openDatabase, systemClock, type Config } from '../platform/index.ts';
import {
  evaluateArticleSuggestion,
  evaluateResponseSelection,
  loadReplyRanker,
  rankInputLine,
  readReplyConversations,
  suggestInputLine,
  trainReplyModel,
  REPLY_TARGET,
  type ArticleReport,
  type RankingMetrics,
  type ReplyRanker,
  type SelectionReport,
} from '../suggest/index.ts';
import { runningAnalyticsOwner, runningEmbeddedServer } from './admin-client.ts';
import { evalGroup } from './eval-group.ts';

/**
 * Learned suggestions from the command line (issue 5):
 *
 *   loopwise rank    --listing L --input pairs.jsonl    --output scores.jsonl
 *   loopwise suggest --listing L --input contexts.jsonl --output suggestions.jsonl --top 5
 *   loopwise eval suggest --format uss|ibm-twitter --data FILE [--folds 5] [--json]
 *
 * and `loopwise train --listing L --target reply` (the train command hands that target to
 * `trainReplyCommand`).
 *
 * `rank` and `suggest` use the listing's promoted `reply` model from the model registry (or
 * `--version`); they write to a temporary file next to the output and rename it at the end, so a
 * failure (an invalid line: exit 2 naming the line) never leaves a half-written output behind.
 * `eval suggest` ingests the file into a scratch DuckDB in a temp dir, cross-validates by
 * conversation and prints the model's figures next to the baseline's, measured in the same run.
 */

const positiveInt = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
};
const nonNegativeInt = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return parsed;
};

/** A running embedded server holds the stores (PGlite, DuckDB): say so instead of failing to open them. */
async function refuseWhileServerHolds(config: Config, analytics: boolean): Promise<void> {
  const server = (analytics ? await runningAnalyticsOwner(config) : undefined) ?? (await runningEmbeddedServer(config));
  if (server) {
    throw new AppError(
      'unavailable',
      `a Loopwise server is running at ${server} and holds the ${analytics ? 'analytics store and the ' : ''}embedded database; stop it, or configure DATABASE_URL (PostgreSQL) so both can use the registry`,
    );
  }
}

async function withRanker<T>(listingId: string, version: number | undefined, work: (ranker: ReplyRanker, version: number) => Promise<T>): Promise<T> {
  const config = loadConfigFromEnv({}, { LOG_LEVEL: 'warn' });
  await refuseWhileServerHolds(config, false);
  const db = await openDatabase(config, 'loopwise-cli');
  try {
    await migrate(db);
    const loaded = await loadReplyRanker(createModelRegistry({ db }), listingId, version);
    return await work(loaded.ranker, loaded.version);
  } finally {
    await db.close();
  }
}

/** Reads JSONL, calls `each` per non-blank line, writes its result as a line of the output (atomically). */
async function mapJsonLines(input: string, output: string, each: (value: unknown, line: number) => unknown): Promise<number> {
  const temporary = `${output}.${process.pid}.tmp`;
  const out = createWriteStream(temporary);
  // Errors surface through once('drain' | 'finish'), which reject on 'error'; the listener keeps a
  // late error (a write pending when the stream is destroyed after a bad line) from crashing.
  out.on('error', () => undefined);
  let count = 0;
  try {
    const lines = createInterface({ input: input === '-' ? process.stdin : createReadStream(input), crlfDelay: Infinity });
    let number = 0;
    for await (const text of lines) {
      number++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new AppError('validation_failed', `${input}, line ${number}: not valid JSON`);
      }
      if (!out.write(`${JSON.stringify(each(value, number))}\n`)) await once(out, 'drain');
      count++;
    }
    out.end();
    await once(out, 'finish');
    await rename(temporary, output);
    return count;
  } catch (error) {
    out.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
}

function parseLine<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, value: unknown, input: string, line: number): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(line)'}: ${issue.message}`).join('; ');
  throw new AppError('validation_failed', `${input}, line ${line}: ${issues}`);
}

const round = (value: number) => Math.round(value * 1e6) / 1e6;

function metricsTable(rows: Array<[string, RankingMetrics]>, columns: Array<keyof RankingMetrics>): string {
  const header = ['', ...columns.map((column) => ({ recallAt1: 'R@1', recallAt5: 'R@5', mrr: 'MRR', examples: 'n' })[column])];
  const body = rows.map(([name, metrics]) => [name, ...columns.map((column) => (column === 'examples' ? String(metrics[column]) : metrics[column].toFixed(3)))]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  return all.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

export interface TrainReplyCommandOptions {
  listing: string;
  seed: number;
  ensemble?: number;
  promote?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/**
 * `loopwise train --listing L --target reply`: the reply index and ranker from the listing's
 * history in the analytics store, saved as a new version of target `reply` in the model registry.
 */
export async function trainReplyCommand(options: TrainReplyCommandOptions): Promise<void> {
  const config = loadConfigFromEnv({}, { LOG_LEVEL: 'warn' });
  const listingId = listingIdSchema.parse(options.listing);
  await refuseWhileServerHolds(config, true);
  const analytics = await openAnalyticsDb(analyticsDbPath(config), { readOnly: true });
  let trained;
  try {
    trained = await trainReplyModel(
      { analytics },
      {
        listingId,
        config: { seed: options.seed, ...(options.ensemble !== undefined ? { ensemble: options.ensemble } : {}) },
        onProgress: (progress) => {
          if (options.quiet) return;
          if (progress.stage === 'dual-encoder' && progress.epoch === progress.epochs) process.stderr.write(`train reply: dual encoder ${progress.member}/${progress.members} trained (loss ${progress.loss?.toFixed(3)})\n`);
          else if (progress.stage !== 'dual-encoder') process.stderr.write(`train reply: ${progress.stage === 'combiner' ? 'fitting the combination weights' : 'building the reply index'}\n`);
        },
      },
    );
  } finally {
    analytics.close();
  }
  const db = await openDatabase(config, 'loopwise-cli');
  let version;
  try {
    await migrate(db);
    version = await createModelRegistry({ db }).save(listingId, REPLY_TARGET, trained.metadata, trained.bytes, { promote: Boolean(options.promote) });
  } finally {
    await db.close();
  }
  const { report } = trained;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ version: version.version, promoted: version.promoted, sizeBytes: version.sizeBytes, metadata: trained.metadata }, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    [
      `saved ${REPLY_TARGET} v${version.version} for listing ${listingId}${version.promoted ? ' and promoted it' : ` (not promoted: loopwise models promote --listing ${listingId} --target ${REPLY_TARGET} --version ${version.version})`}`,
      `  ${report.replies.toLocaleString('en-US')} CSR replies in ${report.conversations.toLocaleString('en-US')} conversations → ${report.canonicalReplies.toLocaleString('en-US')} canonical replies; ` +
        `dual encoder on ${report.dualEncoderPairs.toLocaleString('en-US')} pairs (dim ${trained.metadata.dim as number}), ${(version.sizeBytes / 2 ** 20).toFixed(1)} MiB`,
      `  time: ${report.seconds.total.toFixed(1)} s (dual encoders ${report.seconds.dualEncoder.toFixed(1)} s, ${report.backend})`,
    ].join('\n') + '\n',
  );
}

export function registerSuggestCommands(program: Command): void {
  program
    .command('rank')
    .description("score candidate replies for conversation contexts with the listing's reply model")
    .requiredOption('--listing <id>', 'listing (tenant) id')
    .requiredOption('--input <file>', 'JSONL: {"id", "context": [message...], "candidates": [string...]} per line (- for stdin)')
    .requiredOption('--output <file>', 'JSONL: {"id", "scores": [number per candidate, same order]} per line')
    .option('--version <n>', 'model version (default: the promoted one)', positiveInt)
    .option('--json', 'print the summary as JSON')
    .action(async (options: { listing: string; input: string; output: string; version?: number; json?: boolean }) => {
      const listingId = listingIdSchema.parse(options.listing);
      const started = performance.now();
      const { lines, version } = await withRanker(listingId, options.version, async (ranker, version) => ({
        version,
        lines: await mapJsonLines(options.input, options.output, (value, line) => {
          const item = parseLine(rankInputLine, value, options.input, line);
          const scores = ranker.rank(item.context, item.candidates, item.brand ?? undefined);
          return { id: item.id, scores: scores.map(round) };
        }),
      }));
      const summary = { listingId, version, lines, output: options.output, seconds: (performance.now() - started) / 1000 };
      process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `ranked ${lines} lines with reply model v${version} of ${listingId} → ${options.output}\n`);
    });

  program
    .command('suggest')
    .description("suggest replies for conversation contexts from the listing's reply index and model")
    .requiredOption('--listing <id>', 'listing (tenant) id')
    .requiredOption('--input <file>', 'JSONL: {"id", "context": [message...], "brand"?} per line (- for stdin)')
    .requiredOption('--output <file>', 'JSONL: {"id", "suggestions": [{"text", "source", "score"}...]} per line')
    .option('--top <n>', 'suggestions per context', positiveInt, 5)
    .option('--version <n>', 'model version (default: the promoted one)', positiveInt)
    .option('--json', 'print the summary as JSON')
    .action(async (options: { listing: string; input: string; output: string; top: number; version?: number; json?: boolean }) => {
      const listingId = listingIdSchema.parse(options.listing);
      const started = performance.now();
      const { lines, version } = await withRanker(listingId, options.version, async (ranker, version) => ({
        version,
        lines: await mapJsonLines(options.input, options.output, (value, line) => {
          const item = parseLine(suggestInputLine, value, options.input, line);
          const suggestions = ranker.suggest(item.context, { top: options.top, ...(item.brand !== undefined ? { brand: item.brand } : {}) });
          return {
            id: item.id,
            suggestions: suggestions.map((suggestion) => ({
              text: suggestion.text,
              source: suggestion.source,
              score: round(suggestion.score),
              ...(suggestion.docId ? { docId: suggestion.docId } : {}),
              ...(suggestion.url ? { url: suggestion.url } : {}),
            })),
          };
        }),
      }));
      const summary = { listingId, version, lines, top: options.top, output: options.output, seconds: (performance.now() - started) / 1000 };
      process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `suggested for ${lines} contexts with reply model v${version} of ${listingId} → ${options.output}\n`);
    });

  evalGroup(program)
    .command('suggest')
    .description('cross-validate the learned suggestions on a data file: 1-of-100 response selection (uss, jsonl) or help-article suggestion (ibm-twitter), with a baseline from the same run')
    .addOption(new Option('--format <format>', 'input format').choices(['uss', 'ibm-twitter', 'jsonl']).makeOptionMandatory())
    .requiredOption('--data <file>', 'the data file')
    .option('--folds <n>', 'folds, split by conversation', positiveInt, 5)
    .option('--only-folds <n>', 'evaluate only the first n folds (quicker, noisier)', positiveInt)
    .option('--seed <n>', 'seed of the folds, the negatives and training', nonNegativeInt, 1)
    .option('--negatives <n>', 'response selection: wrong candidates per true reply', positiveInt, 99)
    .option('--ensemble <n>', 'dual encoders per model (fewer: faster training, lower scores)', positiveInt, 3)
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print the report as JSON')
    .action(async (options: { format: 'uss' | 'ibm-twitter' | 'jsonl'; data: string; folds: number; onlyFolds?: number; seed: number; negatives: number; ensemble: number; quiet?: boolean; json?: boolean }) => {
      if (options.folds < 2) throw new AppError('validation_failed', '--folds must be at least 2');
      const scratch = await mkdtemp(path.join(os.tmpdir(), 'loopwise-eval-suggest-'));
      const progress = (message: string) => {
        if (!options.quiet) process.stderr.write(`eval suggest: ${message}\n`);
      };
      try {
        const db = await openAnalyticsDb(path.join(scratch, 'eval.duckdb'));
        let conversations;
        try {
          await migrateAnalytics(db);
          progress(`ingesting ${options.data} (${options.format}) into a scratch store`);
          const summary = await createIngestService({ db, clock: systemClock, newId }).ingest({ listingId: 'eval', paths: [path.resolve(options.data)], format: options.format, redact: true });
          if (summary.accepted + summary.updated + summary.unchanged === 0) throw new AppError('validation_failed', `${options.data}: no usable records (${summary.quarantined} quarantined)`);
          conversations = await readReplyConversations(db, 'eval');
        } finally {
          db.close();
        }
        const evalOptions = {
          folds: options.folds,
          seed: options.seed,
          negatives: options.negatives,
          ...(options.onlyFolds ? { onlyFolds: options.onlyFolds } : {}),
          train: { seed: options.seed, ensemble: options.ensemble },
          onProgress: progress,
        };
        const report: SelectionReport | ArticleReport =
          options.format === 'ibm-twitter' ? await evaluateArticleSuggestion(conversations, evalOptions) : await evaluateResponseSelection(conversations, evalOptions);
        const result = { format: options.format, data: options.data, seed: options.seed, ...report };
        if (options.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        const rows: Array<[string, RankingMetrics]> = [
          ['model', report.model],
          [`baseline (${report.baseline.name})`, report.baseline],
          ...('ablations' in report ? Object.entries(report.ablations).map(([name, metrics]): [string, RankingMetrics] => [`  ${name} alone`, metrics]) : []),
        ];
        const title =
          report.task === 'response-selection'
            ? `1-of-${report.candidates} response selection on ${options.data}: ${report.conversations} conversations, ${options.folds}-fold by conversation, seed ${options.seed}`
            : `help-article suggestion on ${options.data}: ${report.conversations} threads, ${options.folds}-fold by thread, seed ${options.seed} (hit: same doc id or URL)`;
        const columns: Array<keyof RankingMetrics> = report.task === 'response-selection' ? ['recallAt1', 'recallAt5', 'mrr', 'examples'] : ['recallAt1', 'recallAt5', 'examples'];
        process.stdout.write(`${title}\n\n${metricsTable(rows, columns)}\n\n${report.seconds.toFixed(1)} s\n`);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    });
}
