import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { analyticsDbPath, openAnalyticsDb } from '../analytics-store/index.ts';
import { listingIdSchema, timezoneSchema } from '../listings/index.ts';
import {
  createModelRegistry,
  evaluateUssFile,
  loadOutcomeModel,
  placements,
  scoreContextLines,
  trainOutcomeModel,
  type ModelRegistry,
  type ModelVersion,
  type OutcomeEvaluation,
  type Placement,
  type TrainProgress,
  type UssEvaluation,
} from '../models/index.ts';
import { AppError, loadConfigFromEnv, migrate, openDatabase, type Config } from '../platform/index.ts';
import { runningAnalyticsOwner, runningEmbeddedServer } from './admin-client.ts';
import { evalGroup } from './eval-group.ts';
import { trainReplyCommand } from './suggest.command.ts';

/**
 * Outcome models from the command line (issue 4):
 *
 *   loopwise train  --listing L --target T [--at …] [--model logistic|mlp] [--split time|kfold] [--promote]
 *   loopwise score  --listing L --target T --input contexts.jsonl --output predictions.jsonl
 *   loopwise eval satisfaction --format uss --data FILE [--folds 5] [--at before-turn|after-turn] [--json]
 *   loopwise models list|promote|rollback
 *
 * `train` reads the analytics store and saves a new version in the model registry (the ticket
 * database); `score` uses the listing's promoted version (or --version) and never retrains. While
 * a server holds the stores (embedded mode), these go through its API for now; the command says
 * which route.
 */

const positiveInt = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
};
const seedInt = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 2 ** 31 - 1) throw new InvalidArgumentError('must be an integer from 0 to 2^31 − 1');
  return parsed;
};

/** Refuses while a server holds a store this command would open, naming the API route to use instead. */
async function refuseWhileServerRuns(config: Config, stores: { analytics: boolean; registry: boolean }, route: string): Promise<void> {
  const server = (stores.analytics ? await runningAnalyticsOwner(config) : undefined) ?? (stores.registry ? await runningEmbeddedServer(config) : undefined);
  if (server) {
    throw new AppError(
      'unavailable',
      `a Loopwise server is running at ${server} and holds the ${stores.analytics ? 'analytics store' : 'embedded database'}: for now this must be done through its API: ${route.replace('{server}', server)} (with a manager key of the listing)`,
    );
  }
}

async function withRegistry<T>(config: Config, work: (registry: ModelRegistry) => Promise<T>): Promise<T> {
  const db = await openDatabase(config, 'loopwise-cli');
  try {
    await migrate(db);
    return await work(createModelRegistry({ db }));
  } finally {
    await db.close();
  }
}

/** Progress on stderr: a redrawn bar on a terminal, otherwise a plain line every few seconds. */
function progressBar(stream: NodeJS.WriteStream, label: string): { update(progress: TrainProgress): void; done(): void } {
  const tty = Boolean(stream.isTTY);
  const interval = tty ? 100 : 5000;
  let last = tty ? 0 : Date.now();
  let drawn = false;
  const started = Date.now();
  return {
    update(progress) {
      const now = Date.now();
      if (now - last < interval) return;
      last = now;
      const percent = `${Math.floor(progress.fraction * 100)}%`.padStart(4);
      const elapsed = `${Math.round((now - started) / 1000)}s`;
      if (tty) {
        const width = 24;
        const filled = Math.round(progress.fraction * width);
        stream.write(`\r\u001b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent} ${label}: ${progress.detail} (${elapsed})`.slice(0, (stream.columns ?? 120) - 1));
        drawn = true;
      } else stream.write(`${label}: ${percent} ${progress.detail} (${elapsed})\n`);
    },
    done() {
      if (drawn) stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
}

const fixed = (value: number | null | undefined, digits = 3) => (value === null || value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits));

function describeEvaluation(evaluation: OutcomeEvaluation): string[] {
  const m = evaluation.metrics;
  const split =
    evaluation.split.kind === 'time'
      ? `later period (from ${evaluation.split.boundary ?? '?'}; ${evaluation.split.testConversations} conversations)`
      : `${evaluation.split.folds}-fold by conversation`;
  const target = evaluation.target;
  const bad = target.riskClasses.map((k) => String(target.classes[k])).join('/');
  const lines = [
    `evaluation: ${split}, ${evaluation.examples.toLocaleString('en-US')} examples from ${evaluation.conversations.toLocaleString('en-US')} conversations`,
    `  AUC(${bad}) ${fixed(m.auc)}  PR-AUC ${fixed(m.prAuc)}  log loss ${fixed(m.logLoss)}  Brier ${fixed(m.brier)}`,
    `  UAR ${fixed(m.uar)}  kappa ${fixed(m.kappa)}${target.kind === 'multiclass' ? `  Spearman ${fixed(m.spearmanUss)}` : ''}  F1(${bad}) ${fixed(m.f1Bad)} (harmonic ${fixed(m.f1BadHarmonic)})`,
  ];
  const early = evaluation.earlyWarning.filter((point) => point.auc !== null);
  if (early.length > 0) lines.push(`  early warning, AUC after the first k messages: ${early.map((point) => `k=${point.k} ${fixed(point.auc)}`).join(', ')}`);
  if (evaluation.drivers.length > 0) {
    lines.push('  what drives it (permutation importance, held out):');
    for (const driver of evaluation.drivers.slice(0, 8)) lines.push(`    ${fixed(driver.importance, 4).padStart(8)}  ${driver.text}`);
  }
  return lines;
}

function describeVersion(version: ModelVersion): string {
  const headline = (version.metadata.metrics as { headline?: Record<string, number | null> } | undefined)?.headline;
  return [
    `${version.target} v${version.version}${version.promoted ? ' (promoted)' : ''}`,
    version.kind,
    version.featureSet,
    version.createdAt.toISOString(),
    headline ? `AUC ${fixed(headline.auc)} UAR ${fixed(headline.uar)}` : '',
  ]
    .filter(Boolean)
    .join('\t');
}

function describeUss(result: UssEvaluation): string {
  const m = result.metrics;
  const lines = [
    `${result.corpus}: ${result.dialogues} dialogues, ${result.folds}-fold by dialogue, --at ${result.at}, ${result.model} (${result.seconds.total.toFixed(1)} s)`,
    `  UAR ${fixed(m.uar)}  kappa ${fixed(m.kappa)}  Spearman ${fixed(m.spearman)}  F1(dissatisfied) ${fixed(m.f1Dissatisfied)}  AUC(dissatisfied) ${fixed(m.aucDissatisfied)}`,
    `  PR-AUC ${fixed(m.prAucDissatisfied)}  log loss ${fixed(m.logLoss)}  Brier ${fixed(m.brier)}  F1 harmonic ${fixed(m.f1DissatisfiedHarmonic)}  Spearman tie-corrected ${fixed(m.spearmanTieCorrected)}`,
  ];
  if (result.published) {
    lines.push(`  published (USS repository, 10-fold): ${Object.entries(result.published).map(([model, figures]) => `${model} ${Object.entries(figures).map(([name, value]) => `${name} ${value}`).join(' ')}`).join('; ')}`);
  }
  return lines.join('\n');
}

export function registerModelCommands(program: Command): void {
  program
    .command('train')
    .description("train an outcome model on a listing's history and save it as a new version in the model registry")
    .requiredOption('--listing <id>', 'listing (tenant) id')
    .requiredOption('--target <name>', 'satisfaction, resolved, converted, or a custom label')
    .addOption(new Option('--at <placement>', 'per-turn labels: the state before or after the labelled turn; every-message: the conversation outcome after every message').choices([...placements]))
    .addOption(new Option('--model <kind>', 'model family').choices(['logistic', 'mlp']).default('logistic'))
    .addOption(new Option('--split <split>', 'evaluation split (default: time when the conversations have timestamps, else kfold)').choices(['time', 'kfold']))
    .option('--folds <n>', 'k for --split kfold', positiveInt, 5)
    .option('--seed <n>', 'seed for initialisation, shuffling and folds', seedInt, 1)
    .option('--ensemble <n>', 'logistic: members averaged into the model (default 3; 1 trains ~2× faster)', positiveInt)
    .option('--risk-class <value>', 'custom labels: the class that counts as the bad outcome')
    .option('--timezone <zone>', 'IANA time zone for hour/weekday/season (the listing\'s)')
    .option('--promote', 'promote the new version')
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print JSON')
    .action(
      async (options: {
        listing: string;
        target: string;
        at?: Placement;
        model: 'logistic' | 'mlp';
        split?: 'time' | 'kfold';
        folds: number;
        seed: number;
        ensemble?: number;
        riskClass?: string;
        timezone?: string;
        promote?: boolean;
        quiet?: boolean;
        json?: boolean;
      }) => {
        // The reply suggestion model (issue 5) trains from the same history: src/cli/suggest.command.ts.
        if (options.target === 'reply') return trainReplyCommand(options);
        const config = loadConfigFromEnv({}, { LOG_LEVEL: 'warn' });
        const listingId = listingIdSchema.parse(options.listing);
        const timeZone = options.timezone === undefined ? undefined : timezoneSchema.parse(options.timezone);
        // The registry names targets in lower case; refuse before training rather than after.
        if (!/^[a-z][a-z0-9_.:-]{0,63}$/.test(options.target)) {
          throw new AppError('validation_failed', `"${options.target}" cannot name a model: targets are lower-case letters, digits, _ . : - (rename the label at ingest)`);
        }
        await refuseWhileServerRuns(config, { analytics: true, registry: true }, `POST {server}/v1/models/${options.target}/train`);
        const progress = options.quiet ? undefined : progressBar(process.stderr, 'train');
        const analytics = await openAnalyticsDb(analyticsDbPath(config), { readOnly: true });
        let trained;
        try {
          trained = await trainOutcomeModel(analytics, {
            listingId,
            target: options.target,
            model: options.model,
            folds: options.folds,
            seed: options.seed,
            ...(options.at ? { at: options.at } : {}),
            ...(options.split ? { split: options.split } : {}),
            ...(options.riskClass !== undefined ? { riskClass: options.riskClass } : {}),
            ...(options.ensemble !== undefined ? { training: { ensemble: options.ensemble } } : {}),
            ...(timeZone ? { timeZone } : {}),
            ...(progress ? { onProgress: (p: TrainProgress) => progress.update(p) } : {}),
          });
        } finally {
          progress?.done();
          analytics.close();
        }
        const version = await withRegistry(config, (registry) => registry.save(listingId, options.target, trained.metadata, trained.artifact, { promote: Boolean(options.promote) }));
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ version: version.version, promoted: version.promoted, sizeBytes: version.sizeBytes, metadata: trained.metadata, evaluation: trained.evaluation }, null, 2)}\n`);
          return;
        }
        const t = trained.metadata.timings;
        process.stdout.write(
          [
            `saved ${options.target} v${version.version} for listing ${listingId}${version.promoted ? ' and promoted it' : ` (not promoted: loopwise models promote --listing ${listingId} --target ${options.target} --version ${version.version})`}`,
            `  ${trained.metadata.kind}, ${trained.metadata.at}, classes ${trained.metadata.classes.map(String).join(' ')}, feature set ${trained.metadata.featureSet}, ${(version.sizeBytes / 1024).toFixed(0)} KiB`,
            ...describeEvaluation(trained.evaluation),
            `  time: ${t.totalSeconds.toFixed(1)} s (read ${t.readSeconds.toFixed(1)}, evaluate ${t.evaluateSeconds.toFixed(1)}, final model ${t.finalSeconds.toFixed(1)}; ${trained.metadata.backend})`,
          ].join('\n') + '\n',
        );
      },
    );

  program
    .command('score')
    .description("score conversation contexts (JSONL) with the listing's promoted model; nothing is retrained")
    .requiredOption('--listing <id>', 'listing (tenant) id')
    .requiredOption('--target <name>', 'the model target')
    .requiredOption('--input <file>', 'JSONL, one {"id", "context": [{"role", "text", "ts"?, "channel"?}, …]} a line; - reads stdin')
    .requiredOption('--output <file>', 'JSONL, one {"id", "probs": […]} (multi-class) or {"id", "p"} (binary) per input line')
    .option('--version <n>', 'this version instead of the promoted one', positiveInt)
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
A line that cannot be scored (not JSON, no id, a bad message) gets {"id", "error"} in its place, so
output lines pair with input lines; the command then exits 1. The output is written to a
temporary file and renamed when complete.`,
    )
    .action(async (options: { listing: string; target: string; input: string; output: string; version?: number; json?: boolean }) => {
      const config = loadConfigFromEnv({}, { LOG_LEVEL: 'warn' });
      const listingId = listingIdSchema.parse(options.listing);
      await refuseWhileServerRuns(config, { analytics: false, registry: true }, 'the API (GET {server}/v1/tickets/{id}/predictions for live tickets)');
      const { artifact, version } = await withRegistry(config, async (registry) => {
        if (options.version !== undefined) {
          const found = await registry.get(listingId, options.target, options.version);
          const versions = await registry.list(listingId, options.target);
          return { artifact: found, version: versions.find((v) => v.version === options.version)! };
        }
        const promoted = await registry.promoted(listingId, options.target);
        if (!promoted) throw new AppError('no_promoted_model', `no ${options.target} model is promoted for listing ${listingId}: loopwise models promote, or --version`);
        return { artifact: promoted, version: promoted.version };
      });
      const model = loadOutcomeModel(artifact.bytes, version.metadata);
      const temporary = `${options.output}.${process.pid}.tmp`;
      const out = createWriteStream(temporary);
      out.on('error', () => undefined);
      let summary;
      try {
        const lines = createInterface({ input: options.input === '-' ? process.stdin : createReadStream(options.input), crlfDelay: Infinity });
        summary = await scoreContextLines(model, lines, async (line) => {
          if (!out.write(`${line}\n`)) await once(out, 'drain');
        });
        out.end();
        await once(out, 'finish');
        await rename(temporary, options.output);
      } catch (error) {
        out.destroy();
        await rm(temporary, { force: true });
        throw error;
      }
      const result = { ...summary, listingId, target: options.target, version: version.version, output: path.resolve(options.output) };
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else
        process.stdout.write(
          `scored ${summary.scored} of ${summary.lines} contexts with ${options.target} v${version.version} into ${options.output} (${summary.microsecondsPerContext} µs per context)${summary.rejected ? `; ${summary.rejected} lines rejected (see their "error")` : ''}\n`,
        );
      if (summary.rejected > 0) throw new AppError('unprocessable', `${summary.rejected} of ${summary.lines} input lines could not be scored; their output lines carry the reason`);
    });

  evalGroup(program)
    .command('satisfaction')
    .description('the whole outcome-model path on a labelled file: ingest into a scratch store, k-fold by dialogue, train, predict, score')
    .addOption(new Option('--format <format>', 'input format').choices(['uss']).makeOptionMandatory())
    .requiredOption('--data <file>', 'a USS file, e.g. ../shared/data/uss/MWOZ.txt')
    .option('--folds <n>', 'k-fold by dialogue', positiveInt, 5)
    .addOption(new Option('--at <placement>', 'the state before the rated turn (the dataset protocol) or after it').choices(['before-turn', 'after-turn']).default('before-turn'))
    .addOption(new Option('--model <kind>', 'model family').choices(['logistic', 'mlp']).default('logistic'))
    .option('--seed <n>', 'seed', seedInt, 1)
    .option('--ensemble <n>', 'logistic: members averaged into each model (default 3)', positiveInt)
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Scored by the USS repository's own protocol (baselines/train_sat.py): every USER turn and the
OVERALL line are examples; a turn's label is the argmax of its annotators' rating counts (ties to
the lower rating); UAR averages the recall of all five ratings (a rating absent from a fold counts
0); Spearman ranks ties low; F1 is that of "dissatisfied" (rating ≤ 2) with the repository's
denominator max(P + R, 1). Figures are means over folds. The harmonic F1 and the tie-corrected
Spearman are printed next to them.`,
    )
    .action(async (options: { format: 'uss'; data: string; folds: number; at: 'before-turn' | 'after-turn'; model: 'logistic' | 'mlp'; seed: number; ensemble?: number; quiet?: boolean; json?: boolean }) => {
      const progress = options.quiet ? undefined : progressBar(process.stderr, 'eval');
      let result: UssEvaluation;
      try {
        result = await evaluateUssFile({
          file: options.data,
          folds: options.folds,
          at: options.at,
          model: options.model,
          seed: options.seed,
          ...(options.ensemble !== undefined ? { training: { ensemble: options.ensemble } } : {}),
          ...(progress ? { onProgress: (p: TrainProgress) => progress.update(p) } : {}),
        });
      } finally {
        progress?.done();
      }
      process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${describeUss(result)}\n${describeEvaluation(result.evaluation).slice(3).join('\n')}\n`);
    });

  const models = program.command('models').description('the model registry: versions per listing and target');
  models
    .command('list')
    .requiredOption('--listing <id>', 'listing id')
    .option('--target <name>', 'only this target')
    .option('--json', 'print JSON')
    .action(async (options: { listing: string; target?: string; json?: boolean }) => {
      const config = loadConfigFromEnv({}, { LOG_LEVEL: 'warn' });
      const listingId = listingIdSchema.parse(options.listing);
      await refuseWhileServerRuns(config, { analytics: false, registry: true }, `GET {server}/v1/models${options.target ? `?target=${options.target}` : ''}`);
      const versions = await withRegistry(config, (registry) => registry.list(listingId, options.target));
      process.stdout.write(options.json ? `${JSON.stringify(versions, null, 2)}\n` : `${versions.map(describeVersion).join('\n') || '(no models)'}\n`);
    });
  models
    .command('promote')
    .requiredOption('--listing <id>', 'listing id')
    .requiredOption('--target <name>', 'target')
    .requiredOption('--version <n>', 'version to promote', positiveInt)
    .option('--json', 'print JSON')
    .action(async (options: { listing: string; target: string; version: number; json?: boolean }) => {
      const config = loadConfigFromEnv({}, { LOG_LEVEL: 'warn' });
      const listingId = listingIdSchema.parse(options.listing);
      await refuseWhileServerRuns(config, { analytics: false, registry: true }, `POST {server}/v1/models/${options.target}/versions/${options.version}/promote`);
      const version = await withRegistry(config, (registry) => registry.promote(listingId, options.target, options.version, { role: 'cli' }));
      process.stdout.write(options.json ? `${JSON.stringify(version, null, 2)}\n` : `promoted ${describeVersion(version)}\n`);
    });
  models
    .command('rollback')
    .description('promote again the version promoted before the current one')
    .requiredOption('--listing <id>', 'listing id')
    .requiredOption('--target <name>', 'target')
    .option('--json', 'print JSON')
    .action(async (options: { listing: string; target: string; json?: boolean }) => {
      const config = loadConfigFromEnv({}, { LOG_LEVEL: 'warn' });
      const listingId = listingIdSchema.parse(options.listing);
      await refuseWhileServerRuns(config, { analytics: false, registry: true }, `POST {server}/v1/models/${options.target}/rollback`);
      const version = await withRegistry(config, (registry) => registry.rollback(listingId, options.target, { role: 'cli' }));
      process.stdout.write(options.json ? `${JSON.stringify(version, null, 2)}\n` : `rolled back to ${describeVersion(version)}\n`);
    });
}
