import type { AnalyticsDb } from '../analytics-store/index.ts';
import { UTC_CALENDAR, type FeatureCalendar, type FeatureValue } from './feature.ts';
import { quoteIdent } from './features.store.ts';
import { featureRegistry } from './registry.ts';

/**
 * The independent batch path: every feature that has a SQL form, computed by DuckDB window
 * aggregates over each conversation's messages up to each position, from the `messages` and
 * `interactions` tables alone. It shares no code with the online definitions beyond the
 * expressions written next to them, so the parity test comparing the two is meaningful.
 *
 * The calendar features' SQL forms take the listing's calendar (time zone, weekly hours,
 * holidays), as the online forms do.
 */

/** Per-message columns the SQL forms may use. */
const BASE = `
  SELECT m.interaction_id, m.seq, m.role, m.kind, m.channel,
         epoch_ms(m.ts)::DOUBLE AS ts_ms,
         coalesce(m.text, m.transcript, '') AS txt,
         length(coalesce(m.text, m.transcript, '')) AS len,
         m.attachment IS NOT NULL AS has_attachment,
         lag(m.role) OVER conversation AS prev_role,
         lag(epoch_ms(m.ts)::DOUBLE) OVER conversation AS prev_ts_ms,
         last_value(m.channel IGNORE NULLS) OVER (conversation ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_channel,
         coalesce(bool_or(m.channel IN ('ivr', 'voice')) OVER (conversation ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS voice_before,
         i.source_channel
  FROM messages m JOIN interactions i ON i.listing_id = m.listing_id AND i.id = m.interaction_id
  WHERE m.listing_id = $listing
  WINDOW conversation AS (PARTITION BY m.interaction_id ORDER BY m.seq)`;

const CASTS = { int: 'INTEGER', float: 'DOUBLE', bool: 'BOOLEAN', category: 'VARCHAR' } as const;

/** Names of the features the SQL path computes. */
export const sqlFeatureNames: readonly string[] = featureRegistry.dense.filter((feature) => feature.sql !== undefined).map((feature) => feature.name);

export function sqlPrefixQuery(calendar: FeatureCalendar = UTC_CALENDAR): string {
  const columns = featureRegistry.dense
    .filter((feature) => feature.sql !== undefined)
    .map((feature) => {
      const sql = typeof feature.sql === 'function' ? feature.sql(calendar) : feature.sql!;
      return `CAST(${sql} AS ${CASTS[feature.type]}) AS ${quoteIdent(feature.name)}`;
    });
  return `WITH base AS (${BASE})
  SELECT interaction_id, seq, ${columns.join(',\n    ')}
  FROM base
  WINDOW upto AS (PARTITION BY interaction_id ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  ORDER BY interaction_id, seq`;
}

export type SqlFeatureRow = { interaction_id: string; seq: number } & Record<string, FeatureValue>;

/** The SQL-defined features after every message of every conversation of a listing. */
export async function sqlPrefixFeatures(db: AnalyticsDb, listingId: string, calendar: FeatureCalendar = UTC_CALENDAR): Promise<SqlFeatureRow[]> {
  return db.all<SqlFeatureRow>(sqlPrefixQuery(calendar), { listing: listingId });
}

/** The n-gram map after each prefix, summed from the stored per-message deltas. */
export async function ngramPrefixSums(db: AnalyticsDb, listingId: string, interactionId: string): Promise<Array<{ seq: number; bucket: number; count: number }>> {
  return db.all(
    `WITH seqs AS (SELECT DISTINCT seq FROM messages WHERE listing_id = $listing AND interaction_id = $id)
     SELECT s.seq, n.bucket, sum(n.count)::INTEGER AS count
     FROM seqs s JOIN features_ngrams n ON n.listing_id = $listing AND n.interaction_id = $id AND n.seq <= s.seq
     GROUP BY s.seq, n.bucket ORDER BY s.seq, n.bucket`,
    { listing: listingId, id: interactionId },
  );
}
