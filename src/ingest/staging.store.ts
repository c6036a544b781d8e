import type { AnalyticsDb } from '../analytics-store/index.ts';

/**
 * The staging area every ingest path writes through. A batch's records land in connection-local
 * TEMP copies of the four data tables (from the JS path via the Appender, from the SQL fast path
 * via INSERT … SELECT), then one merge compares them with what is stored and writes what changed,
 * all in the caller's transaction. Because both paths meet here, the content hash and the
 * replace-or-keep decision are the same SQL for both, and so are the resulting tables.
 *
 * The content hash is computed from the staged rows themselves (not from the record as some
 * format spelled it): DuckDB's 64-bit hash() over the interaction row's content columns and, per
 * table, the XOR of the hashes of its rows (each row includes its seq/position, so reordering
 * changes it). A record is "unchanged" when its rows would be exactly the stored rows; a change
 * goes unnoticed with odds of 2^-64 per re-ingested record. hash() is DuckDB's own and could
 * change with a DuckDB upgrade: the next re-ingest would then rewrite each record once (counted
 * as updated), nothing worse. The value is stored as `h1:` and 16 hex digits.
 */

export const stageTables = {
  interactions: 'lw_stage_interactions',
  messages: 'lw_stage_messages',
  labels: 'lw_stage_labels',
  events: 'lw_stage_events',
} as const;

export type StageTables = typeof stageTables;

const SOURCES = { interactions: 'interactions', messages: 'messages', labels: 'labels', events: 'interaction_events' } as const;

const INTERACTION_COLUMNS = [
  'redacted',
  'customer_id',
  'csr_ids',
  'external_ids',
  'brand',
  'queue',
  'source_channel',
  'source_app',
  'created_at',
  'first_assigned_at',
  'first_csr_reply_at',
  'ended_at',
  'status',
  'resolved',
  'abandoned',
  'satisfaction',
  'converted',
  'conversion',
  'message_count',
  'event_count',
];
const MESSAGE_COLUMNS = ['seq', 'role', 'kind', 'channel', 'ts', 'text', 'transcript', 'external_id', 'csr_id', 'attachment', 'meta'];
const LABEL_COLUMNS = ['seq', 'kind', 'name', 'value_num', 'value_text'];
const EVENT_COLUMNS = ['position', 'type', 'ts', 'seq', 'name', 'from_channel', 'to_channel', 'csr_id', 'data'];

/** SQL computing (id, hash) for every interaction of `tables`, restricted to one listing. */
export function contentHashQuery(tables: { interactions: string; messages: string; labels: string; events: string }): string {
  const part = (table: string, columns: string[]) =>
    `(SELECT interaction_id AS id, bit_xor(hash(${columns.join(', ')})) AS h FROM ${table} WHERE listing_id = $listing GROUP BY interaction_id)`;
  return `SELECT i.id, 'h1:' || printf('%016x', hash(${INTERACTION_COLUMNS.map((column) => `i.${column}`).join(', ')}, coalesce(m.h, 0), coalesce(l.h, 0), coalesce(e.h, 0))) AS hash
    FROM ${tables.interactions} i
    LEFT JOIN ${part(tables.messages, MESSAGE_COLUMNS)} m ON m.id = i.id
    LEFT JOIN ${part(tables.labels, LABEL_COLUMNS)} l ON l.id = i.id
    LEFT JOIN ${part(tables.events, EVENT_COLUMNS)} e ON e.id = i.id
    WHERE i.listing_id = $listing`;
}

const prepared = new WeakSet<object>();

/** Creates the TEMP staging tables on this connection (once) and empties them. */
export async function resetStage(db: AnalyticsDb): Promise<void> {
  if (!prepared.has(db.connection)) {
    for (const [name, source] of Object.entries(SOURCES)) {
      // Same columns as the stored tables, without their key: a batch may hold several versions.
      await db.run(`CREATE TEMP TABLE IF NOT EXISTS ${stageTables[name as keyof StageTables]} AS SELECT * FROM ${source} LIMIT 0`);
    }
    prepared.add(db.connection);
  }
  for (const table of Object.values(stageTables)) await db.run(`DELETE FROM ${table}`);
}

/** Ids staged so far with their source index (to let a later version of an id supersede it). */
export async function stagedIndexes(db: AnalyticsDb): Promise<Map<string, number>> {
  const rows = await db.all<{ id: string; source_index: bigint }>(`SELECT id, source_index FROM ${stageTables.interactions}`);
  return new Map(rows.map((row) => [row.id, Number(row.source_index)]));
}

/**
 * Drops staged versions of these ids (superseded by a later record of the same batch), also from
 * `keptTable` (the fast path's list of the records whose messages it reads in place).
 */
export async function unstage(db: AnalyticsDb, ids: string[], keptTable?: string): Promise<void> {
  if (ids.length === 0) return;
  const list = ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(', ');
  await db.run(`DELETE FROM ${stageTables.interactions} WHERE id IN (${list})`);
  for (const table of [stageTables.messages, stageTables.labels, stageTables.events]) await db.run(`DELETE FROM ${table} WHERE interaction_id IN (${list})`);
  if (keptTable) await db.run(`DELETE FROM ${keptTable} WHERE id IN (${list})`);
}

export interface MergeCounts {
  accepted: number;
  updated: number;
  unchanged: number;
  messages: number;
}

/**
 * Writes the staged batch into the stored tables: new ids are inserted, ids whose content hash
 * differs replace every row of their earlier version, ids with the same hash are left alone.
 * `more`, when given, holds queries of further staged message and label rows (the fast path's,
 * read in place; `count` says whether a pass counts redactions). Runs inside the caller's
 * transaction.
 */
export interface MoreStaged {
  messages: (count: boolean) => string;
  labels: (count: boolean) => string;
}

export async function mergeStage(db: AnalyticsDb, listingId: string, context: { runId: string; now: Date }, more?: MoreStaged): Promise<MergeCounts> {
  const params = { listing: listingId };
  const messagesOf = (count: boolean) => (more ? `(SELECT * FROM ${stageTables.messages} UNION ALL (${more.messages(count)}))` : stageTables.messages);
  const labelsOf = (count: boolean) => (more ? `(SELECT * FROM ${stageTables.labels} UNION ALL (${more.labels(count)}))` : stageTables.labels);
  await db.run(
    `CREATE OR REPLACE TEMP TABLE lw_stage_diff AS
     SELECT s.id, s.hash, t.content_hash AS stored
     FROM (${contentHashQuery({ ...stageTables, messages: messagesOf(true), labels: labelsOf(true) })}) s
     LEFT JOIN interactions t ON t.listing_id = $listing AND t.id = s.id`,
    params,
  );
  const [counts] = await db.all<{ accepted: number; updated: number; unchanged: number; messages: number }>(
    `SELECT count(*) FILTER (WHERE d.stored IS NULL)::INTEGER AS accepted,
            count(*) FILTER (WHERE d.stored IS NOT NULL AND d.stored <> d.hash)::INTEGER AS updated,
            count(*) FILTER (WHERE d.stored = d.hash)::INTEGER AS unchanged,
            coalesce(sum(s.message_count) FILTER (WHERE d.stored IS DISTINCT FROM d.hash), 0)::INTEGER AS messages
     FROM lw_stage_diff d JOIN ${stageTables.interactions} s ON s.id = d.id`,
  );
  const result = counts!;
  if (result.updated > 0) {
    const replaced = 'listing_id = $listing AND interaction_id IN (SELECT id FROM lw_stage_diff WHERE stored <> hash)';
    await db.run(`DELETE FROM messages WHERE ${replaced}`, params);
    await db.run(`DELETE FROM labels WHERE ${replaced}`, params);
    await db.run(`DELETE FROM interaction_events WHERE ${replaced}`, params);
    await db.run('DELETE FROM interactions WHERE listing_id = $listing AND id IN (SELECT id FROM lw_stage_diff WHERE stored <> hash)', params);
  }
  if (result.accepted + result.updated > 0) {
    const changed = 'interaction_id IN (SELECT id FROM lw_stage_diff WHERE stored IS DISTINCT FROM hash)';
    await db.run(
      `INSERT INTO interactions
       SELECT s.* REPLACE (d.hash AS content_hash, $run AS run_id, $now::TIMESTAMPTZ AS ingested_at)
       FROM ${stageTables.interactions} s JOIN lw_stage_diff d ON d.id = s.id
       WHERE d.stored IS DISTINCT FROM d.hash`,
      { run: context.runId, now: context.now.toISOString() },
    );
    await db.run(`INSERT INTO messages SELECT * FROM ${messagesOf(false)} WHERE ${changed}`, more ? params : undefined);
    await db.run(`INSERT INTO labels SELECT * FROM ${labelsOf(false)} WHERE ${changed}`, more ? params : undefined);
    await db.run(`INSERT INTO interaction_events SELECT * FROM ${stageTables.events} WHERE ${changed}`);
  }
  return result;
}
