import type { Command } from 'commander';
import { analyticsDbPath, migrateAnalytics, openAnalyticsDb } from '../analytics-store/index.ts';
import { buildFeatures, type FeatureBuildProgress, type FeatureBuildSummary } from '../features/index.ts';
import { listingIdSchema, timezoneSchema } from '../listings/index.ts';
import { loadConfigFromEnv } from '../platform/index.ts';

/**
 * `loopwise features build`: computes the features of a listing's stored interactions and
 * materialises them in the analytics store (features_prefix, features_conversation,
 * features_ngrams). Progress goes to stderr, the summary to stdout (`--json` for scripts).
 */

function progressPrinter(stream: NodeJS.WriteStream): { update(progress: FeatureBuildProgress): void; done(): void } {
  const tty = Boolean(stream.isTTY);
  const interval = tty ? 100 : 5000;
  let last = tty ? 0 : Date.now();
  let drawn = false;
  return {
    update(progress) {
      const now = Date.now();
      if (now - last < interval) return;
      last = now;
      const line = `features: ${progress.interactions.toLocaleString('en-US')}/${progress.totalInteractions.toLocaleString('en-US')} interactions, ${progress.prefixes.toLocaleString('en-US')} prefixes`;
      if (tty) {
        stream.write(`\r\u001b[2K${line}`);
        drawn = true;
      } else stream.write(`${line}\n`);
    },
    done() {
      if (drawn) stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
}

function describe(summary: FeatureBuildSummary): string {
  return [
    `built features ${summary.featureSet} for listing ${summary.listingId}: ${summary.interactions.toLocaleString('en-US')} interactions, ` +
      `${summary.prefixes.toLocaleString('en-US')} prefixes × ${summary.denseFeatures} dense features, ${summary.ngramRows.toLocaleString('en-US')} n-gram rows ` +
      `in ${summary.seconds.toFixed(1)} s (${summary.prefixesPerSecond.toLocaleString('en-US')} prefixes/s)`,
    ...(summary.tablesRecreated ? ['the feature set changed: the feature tables were recreated; rebuild the other listings too'] : []),
  ].join('\n');
}

export function registerFeaturesCommands(program: Command): void {
  const features = program.command('features').description('features for models, computed from the analytics store');
  features
    .command('build')
    .description('compute and materialise the features of a listing (per conversation and after every message)')
    .requiredOption('--listing <id>', 'listing (tenant) id')
    .option('--timezone <zone>', 'IANA time zone for hour/weekday/season (default UTC)')
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nFeature catalogue: docs/features.md. Tables: features_prefix, features_conversation, features_ngrams.')
    .action(async (options: { listing: string; timezone?: string; quiet?: boolean; json?: boolean }) => {
      const config = loadConfigFromEnv();
      const listingId = listingIdSchema.parse(options.listing);
      const timeZone = options.timezone === undefined ? undefined : timezoneSchema.parse(options.timezone);
      const progress = options.quiet ? undefined : progressPrinter(process.stderr);
      const db = await openAnalyticsDb(analyticsDbPath(config));
      try {
        await migrateAnalytics(db);
        const summary = await buildFeatures(db, {
          listingId,
          ...(timeZone ? { timeZone } : {}),
          ...(progress ? { onProgress: (p: FeatureBuildProgress) => progress.update(p) } : {}),
        });
        progress?.done();
        process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${describe(summary)}\n`);
      } finally {
        progress?.done();
        db.close();
      }
    });
}
