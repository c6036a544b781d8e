import type { Command } from 'commander';
import { analyticsDbPath, migrateAnalytics, openAnalyticsDb } from '../analytics-store/index.ts';
import { createCoreServices } from '../core.ts';
import { buildFeatures, type FeatureBuildProgress, type FeatureBuildSummary, type FeatureCalendar } from '../features/index.ts';
import { listingIdSchema, timezoneSchema } from '../listings/index.ts';
import { loadConfigFromEnv, migrate, openDatabase, type Config } from '../platform/index.ts';
import { directAdminClient, runningEmbeddedServer, serverAdminClient } from './admin-client.ts';

/**
 * The listing's calendar from the ticket database, as other admin commands reach it: through a
 * running embedded server (which holds PGlite), or by opening the database. Undefined when the
 * listing is not there (analytics-only listings).
 */
async function listingCalendar(config: Config, listingId: string): Promise<FeatureCalendar | undefined> {
  const server = await runningEmbeddedServer(config);
  if (server) return (await serverAdminClient(config, server)).listingCalendar(listingId);
  const db = await openDatabase(config, 'loopwise-cli');
  try {
    await migrate(db);
    return await directAdminClient(createCoreServices({ db, config })).listingCalendar(listingId);
  } finally {
    await db.close();
  }
}

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
  const hours = summary.schedule === 'listing' ? 'its weekly hours' : 'default hours (Mon–Fri 08:00–18:00)';
  return [
    `calendar: ${summary.timeZone}, ${hours}, ${summary.holidays} holiday${summary.holidays === 1 ? '' : 's'}`,
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
    .option('--timezone <zone>', "IANA time zone for the calendar features (default: the listing's, from the ticket database; UTC when it has none)")
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      "\nThe calendar features (start hour, weekday, season, after hours) use the listing's time zone, weekly hours and\nholidays from the ticket database; a listing that is not there gets UTC and the default hours.\nFeature catalogue: docs/features.md. Tables: features_prefix, features_conversation, features_ngrams.",
    )
    .action(async (options: { listing: string; timezone?: string; quiet?: boolean; json?: boolean }) => {
      const config = loadConfigFromEnv();
      const listingId = listingIdSchema.parse(options.listing);
      const timeZone = options.timezone === undefined ? undefined : timezoneSchema.parse(options.timezone);
      const calendar = await listingCalendar(config, listingId);
      if (!calendar && !options.quiet) process.stderr.write(`listing ${listingId} is not in the ticket database: UTC and the default business hours\n`);
      const progress = options.quiet ? undefined : progressPrinter(process.stderr);
      const db = await openAnalyticsDb(analyticsDbPath(config));
      try {
        await migrateAnalytics(db);
        const summary = await buildFeatures(db, {
          listingId,
          ...(calendar ? { calendar } : {}),
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
