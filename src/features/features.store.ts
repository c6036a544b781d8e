import { LIST, VARCHAR, listValue, type DuckDBAppender } from '@duckdb/node-api';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import type { MessageKind, SenderRole } from '../messages/index.ts';
import type { Feature, FeatureMessage, FeatureType, FeatureValue } from './feature.ts';
import { featureRegistry, featureSetVersion } from './registry.ts';

/**
 * The feature tables, laid out from the registry (not a numbered migration: their columns are the
 * registry's features, and their rows are derived data that a build recomputes from the
 * interaction tables). Wide: one row per prefix with one typed column per dense feature, which is
 * what training reads (a row is an example; DuckDB scans and compresses typed columns well, and
 * the tables export to Parquet/Arrow as they are). A long (name, value) layout would need one
 * value type for all and a pivot before every use.
 *
 *   features_prefix        (listing_id, interaction_id, seq, feature_set, <dense features…>)
 *                          the values after message `seq`
 *   features_conversation  the same columns, one row per interaction: after its last message
 *   features_ngrams        (listing_id, interaction_id, seq, bucket, count, feature_set)
 *                          the n-gram counts message `seq` adds; a prefix's map is the sum over
 *                          seq ≤ k (stored as deltas: cumulative maps would grow with the square
 *                          of the conversation length)
 *
 * When the registry's columns change, the tables are dropped and recreated; every listing then
 * needs `loopwise features build` again (rows carry feature_set, so stale rows are never mixed).
 */

const COLUMN_TYPES: Record<FeatureType, string> = { int: 'INTEGER', float: 'DOUBLE', bool: 'BOOLEAN', category: 'VARCHAR' };
const WIDE_TABLES = ['features_prefix', 'features_conversation'] as const;

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

function wideColumns(): Array<{ name: string; type: string }> {
  return [
    { name: 'listing_id', type: 'VARCHAR' },
    { name: 'interaction_id', type: 'VARCHAR' },
    { name: 'seq', type: 'INTEGER' },
    { name: 'feature_set', type: 'VARCHAR' },
    ...featureRegistry.dense.map((feature) => ({ name: feature.name, type: COLUMN_TYPES[feature.type] })),
  ];
}
const NGRAM_COLUMNS = [
  { name: 'listing_id', type: 'VARCHAR' },
  { name: 'interaction_id', type: 'VARCHAR' },
  { name: 'seq', type: 'INTEGER' },
  { name: 'bucket', type: 'INTEGER' },
  { name: 'count', type: 'INTEGER' },
  { name: 'feature_set', type: 'VARCHAR' },
];

async function tableColumns(db: AnalyticsDb, table: string): Promise<string[]> {
  const rows = await db.all<{ column_name: string; data_type: string }>(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $table ORDER BY ordinal_position',
    { table },
  );
  return rows.map((row) => `${row.column_name} ${row.data_type}`);
}

/** Creates the feature tables, or recreates them when their layout is not the registry's. Returns true when it dropped tables. */
export async function ensureFeatureTables(db: AnalyticsDb): Promise<boolean> {
  const expected: Record<string, Array<{ name: string; type: string }>> = {
    features_prefix: wideColumns(),
    features_conversation: wideColumns(),
    features_ngrams: NGRAM_COLUMNS,
  };
  let dropped = false;
  for (const [table, columns] of Object.entries(expected)) {
    const existing = await tableColumns(db, table);
    const wanted = columns.map((column) => `${column.name} ${column.type}`);
    if (existing.length > 0 && existing.join('\n') === wanted.join('\n')) continue;
    if (existing.length > 0) {
      await db.run(`DROP TABLE ${table}`);
      dropped = true;
    }
    await db.run(`CREATE TABLE ${table} (${columns.map((column) => `${quoteIdent(column.name)} ${column.type}`).join(', ')})`);
  }
  return dropped;
}

export async function deleteListingFeatures(db: AnalyticsDb, listingId: string): Promise<void> {
  for (const table of [...WIDE_TABLES, 'features_ngrams']) await db.run(`DELETE FROM ${table} WHERE listing_id = $listing`, { listing: listingId });
}

export interface ConversationHeader {
  id: string;
  sourceChannel: string | null;
  messageCount: number;
}

export async function listConversations(db: AnalyticsDb, listingId: string): Promise<ConversationHeader[]> {
  const rows = await db.all<{ id: string; source_channel: string | null; message_count: number }>(
    'SELECT id, source_channel, message_count FROM interactions WHERE listing_id = $listing ORDER BY id',
    { listing: listingId },
  );
  return rows.map((row) => ({ id: row.id, sourceChannel: row.source_channel, messageCount: row.message_count }));
}

export interface StoredMessage extends FeatureMessage {
  interactionId: string;
  seq: number;
}

/** The messages of the given interactions, in (interaction_id, seq) order. */
export async function readMessages(db: AnalyticsDb, listingId: string, ids: string[]): Promise<StoredMessage[]> {
  if (ids.length === 0) return [];
  const rows = await db.all<{
    interaction_id: string;
    seq: number;
    role: SenderRole;
    kind: MessageKind;
    channel: string | null;
    ts_ms: number | null;
    txt: string;
    has_attachment: boolean;
  }>(
    `SELECT interaction_id, seq, role, kind, channel, epoch_ms(ts)::DOUBLE AS ts_ms, coalesce(text, transcript, '') AS txt,
            attachment IS NOT NULL AS has_attachment
     FROM messages WHERE listing_id = $listing AND interaction_id IN (SELECT unnest($ids))
     ORDER BY interaction_id, seq`,
    { listing: listingId, ids: listValue(ids) },
    { ids: LIST(VARCHAR) },
  );
  return rows.map((row) => ({
    interactionId: row.interaction_id,
    seq: row.seq,
    role: row.role,
    kind: row.kind,
    channel: row.channel,
    tsMs: row.ts_ms,
    text: row.txt,
    hasAttachment: row.has_attachment,
  }));
}

function appendValue(appender: DuckDBAppender, feature: Feature, value: FeatureValue): void {
  if (value === null) {
    appender.appendNull();
    return;
  }
  switch (feature.type) {
    case 'int':
      appender.appendInteger(value as number);
      break;
    case 'float':
      appender.appendDouble(value as number);
      break;
    case 'bool':
      appender.appendBoolean(value as boolean);
      break;
    case 'category':
      appender.appendVarchar(value as string);
      break;
  }
}

export interface FeatureWriter {
  /** One row of a wide table: the dense values in registry order. */
  row(table: 'features_prefix' | 'features_conversation', interactionId: string, seq: number, values: (index: number) => FeatureValue): void;
  ngrams(interactionId: string, seq: number, counts: ReadonlyMap<number, number>): void;
  flush(): void;
  close(): void;
}

export async function createFeatureWriter(db: AnalyticsDb, listingId: string): Promise<FeatureWriter> {
  const appenders = {
    features_prefix: await db.appender('features_prefix'),
    features_conversation: await db.appender('features_conversation'),
    features_ngrams: await db.appender('features_ngrams'),
  };
  const dense = featureRegistry.dense;
  return {
    row(table, interactionId, seq, values) {
      const appender = appenders[table];
      appender.appendVarchar(listingId);
      appender.appendVarchar(interactionId);
      appender.appendInteger(seq);
      appender.appendVarchar(featureSetVersion);
      for (let i = 0; i < dense.length; i++) appendValue(appender, dense[i]!, values(i));
      appender.endRow();
    },
    ngrams(interactionId, seq, counts) {
      const appender = appenders.features_ngrams;
      for (const [bucket, count] of counts) {
        appender.appendVarchar(listingId);
        appender.appendVarchar(interactionId);
        appender.appendInteger(seq);
        appender.appendInteger(bucket);
        appender.appendInteger(count);
        appender.appendVarchar(featureSetVersion);
        appender.endRow();
      }
    },
    flush() {
      for (const appender of Object.values(appenders)) appender.flushSync();
    },
    close() {
      for (const appender of Object.values(appenders)) appender.closeSync();
    },
  };
}
