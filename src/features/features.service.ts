import type { AnalyticsDb } from '../analytics-store/index.ts';
import { createFeatureWriter, deleteListingFeatures, ensureFeatureTables, listConversations, readMessages } from './features.store.ts';
import type { FeatureCalendar } from './feature.ts';
import { createOnlineFeatures, featureRegistry, featureSetVersion, resolveCalendar } from './registry.ts';

/**
 * The batch build: replays each conversation's stored messages, in (interaction, seq) order,
 * through the online definitions (so batch and live values cannot drift), and materialises the
 * values after every message and after the last. One transaction per listing: the listing's
 * feature rows are replaced whole or not at all.
 */

export interface FeatureBuildOptions {
  listingId: string;
  /**
   * The listing's time zone, weekly hours and holidays (from the ticket core: see
   * `listingFeatureCalendar` in src/schedule); UTC and the default hours without it.
   */
  calendar?: FeatureCalendar;
  /** IANA zone for the calendar features, overriding the calendar's. */
  timeZone?: string;
  /** Interactions read per query. */
  batchSize?: number;
  onProgress?: (progress: FeatureBuildProgress) => void;
}

export interface FeatureBuildProgress {
  interactions: number;
  totalInteractions: number;
  prefixes: number;
}

export interface FeatureBuildSummary {
  listingId: string;
  featureSet: string;
  /** The calendar the build used: its zone, and whether weekly hours came from the listing's schedule. */
  timeZone: string;
  schedule: 'listing' | 'default';
  holidays: number;
  denseFeatures: number;
  interactions: number;
  prefixes: number;
  ngramRows: number;
  /** The feature tables' layout had changed: every listing's features were dropped. */
  tablesRecreated: boolean;
  seconds: number;
  prefixesPerSecond: number;
}

export async function buildFeatures(db: AnalyticsDb, options: FeatureBuildOptions): Promise<FeatureBuildSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 500;
  const tablesRecreated = await ensureFeatureTables(db);
  const conversations = await listConversations(db, options.listingId);
  const calendar = resolveCalendar(options);
  let prefixes = 0;
  let ngramRows = 0;
  let done = 0;
  await db.transaction(async () => {
    await deleteListingFeatures(db, options.listingId);
    const writer = await createFeatureWriter(db, options.listingId);
    try {
      for (let start = 0; start < conversations.length; start += batchSize) {
        const batch = conversations.slice(start, start + batchSize);
        const messages = await readMessages(
          db,
          options.listingId,
          batch.map((conversation) => conversation.id),
        );
        let cursor = 0;
        for (const conversation of batch) {
          const online = createOnlineFeatures({ sourceChannel: conversation.sourceChannel, calendar });
          let last = 0;
          while (cursor < messages.length && messages[cursor]!.interactionId === conversation.id) {
            const message = messages[cursor++]!;
            online.push(message);
            writer.row('features_prefix', conversation.id, message.seq, online.value);
            const delta = online.ngramDelta();
            writer.ngrams(conversation.id, message.seq, delta);
            ngramRows += delta.size;
            last = message.seq;
            prefixes++;
          }
          if (last > 0) writer.row('features_conversation', conversation.id, last, online.value);
          done++;
        }
        writer.flush();
        options.onProgress?.({ interactions: done, totalInteractions: conversations.length, prefixes });
      }
      writer.flush();
    } finally {
      writer.close();
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    listingId: options.listingId,
    featureSet: featureSetVersion,
    timeZone: calendar.timeZone,
    schedule: calendar.weekly ? 'listing' : 'default',
    holidays: calendar.holidays.length,
    denseFeatures: featureRegistry.dense.length,
    interactions: conversations.length,
    prefixes,
    ngramRows,
    tablesRecreated,
    seconds,
    prefixesPerSecond: seconds > 0 ? Math.round(prefixes / seconds) : prefixes,
  };
}
