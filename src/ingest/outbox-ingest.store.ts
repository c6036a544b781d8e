import { LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import type { InteractionEvent, InteractionRecord } from './interaction.schemas.ts';
import { getCheckpoint, saveCheckpoint } from './ingest.store.ts';

/**
 * DuckDB side of the live source (outbox-ingest.service.ts): reading back the interactions it
 * wrote (fields, events and message counts), so each event folds onto the stored record, and its
 * position in `ingest_checkpoints`.
 */

/** The outbox is one stream for every listing, so its position lives under a listing-less key. */
const POSITION_KEY = { listingId: '*', source: 'outbox' } as const;

/** The id of the last outbox event applied to DuckDB (0 before the first). */
export async function getOutboxPosition(db: AnalyticsDb): Promise<number> {
  const saved = await getCheckpoint(db, POSITION_KEY.listingId, POSITION_KEY.source);
  return saved ? saved.nextIndex - 1 : 0;
}

/** Call inside the transaction that writes the rows of the events up to `lastId`. */
export async function saveOutboxPosition(db: AnalyticsDb, lastId: number, now: Date): Promise<void> {
  await saveCheckpoint(
    db,
    POSITION_KEY.listingId,
    POSITION_KEY.source,
    { fingerprint: 'outbox', format: 'outbox', redact: true, nextIndex: lastId + 1, nextLine: 0, nextOffset: 0, completed: false },
    { runId: 'outbox', now },
  );
}

const iso = (value: Date | null): string | undefined => (value === null ? undefined : value.toISOString());
const json = <T>(value: string | null): T | undefined => (value === null ? undefined : (JSON.parse(value) as T));

interface InteractionRow {
  id: string;
  content_hash: string;
  customer_id: string | null;
  csr_ids: string[] | null;
  source_channel: string | null;
  source_app: string | null;
  created_at: Date | null;
  first_assigned_at: Date | null;
  first_csr_reply_at: Date | null;
  ended_at: Date | null;
  status: string | null;
  resolved: boolean | null;
  abandoned: boolean | null;
  satisfaction: number | null;
}

interface EventRow {
  interaction_id: string;
  type: InteractionEvent['type'];
  ts: Date | null;
  seq: number | null;
  name: string | null;
  csr_id: string | null;
  data: string | null;
}

/**
 * The stored (already redacted) records of these interactions, with the fields the live source
 * writes: identity, source, lifecycle timestamps, status, outcome, messages and events.
 */
/**
 * The stored part of these conversations: each interaction's fields and events, and how many
 * messages it has. The message rows themselves are not read: the fold only appends to them, so
 * its cost does not grow with a conversation's length.
 */
export async function loadInteractions(
  db: AnalyticsDb,
  listingId: string,
  ids: string[],
): Promise<{ records: Map<string, InteractionRecord>; messageCounts: Map<string, number>; hashes: Map<string, string> }> {
  const records = new Map<string, InteractionRecord>();
  const messageCounts = new Map<string, number>();
  const hashes = new Map<string, string>();
  if (ids.length === 0) return { records, messageCounts, hashes };
  const params = { listing: listingId, ids: listValue(ids) };
  const types = { ids: LIST(VARCHAR) };
  const rows = await db.all<InteractionRow>(
    `SELECT id, content_hash, customer_id, csr_ids, source_channel, source_app, created_at, first_assigned_at, first_csr_reply_at, ended_at,
            status, resolved, abandoned, satisfaction::INTEGER AS satisfaction
       FROM interactions WHERE listing_id = $listing AND id IN (SELECT unnest($ids))`,
    params,
    types,
  );
  for (const row of rows) {
    const outcome = {
      ...(row.resolved !== null ? { resolved: row.resolved } : {}),
      ...(row.abandoned !== null ? { abandoned: row.abandoned } : {}),
      ...(row.satisfaction !== null ? { satisfaction: row.satisfaction } : {}),
    };
    const record: InteractionRecord = {
      id: row.id,
      ...(row.customer_id !== null ? { customerId: row.customer_id } : {}),
      ...(row.csr_ids !== null ? { csrIds: [...row.csr_ids] } : {}),
      ...(row.source_channel !== null ? { source: { channel: row.source_channel as NonNullable<InteractionRecord['source']>['channel'], ...(row.source_app !== null ? { app: row.source_app } : {}) } } : {}),
      ...(row.created_at !== null ? { createdAt: iso(row.created_at)! } : {}),
      ...(row.first_assigned_at !== null ? { firstAssignedAt: iso(row.first_assigned_at)! } : {}),
      ...(row.first_csr_reply_at !== null ? { firstCsrReplyAt: iso(row.first_csr_reply_at)! } : {}),
      ...(row.ended_at !== null ? { endedAt: iso(row.ended_at)! } : {}),
      ...(row.status !== null ? { status: row.status as NonNullable<InteractionRecord['status']> } : {}),
      ...(Object.keys(outcome).length > 0 ? { outcome } : {}),
      messages: [],
      events: [],
    };
    records.set(row.id, record);
    hashes.set(row.id, row.content_hash);
  }
  const counts = await db.all<{ interaction_id: string; n: number }>(
    `SELECT interaction_id, count(*)::INTEGER AS n
       FROM messages WHERE listing_id = $listing AND interaction_id IN (SELECT unnest($ids)) GROUP BY interaction_id`,
    params,
    types,
  );
  for (const row of counts) messageCounts.set(row.interaction_id, Number(row.n));
  const events = await db.all<EventRow>(
    `SELECT interaction_id, type, ts, seq, name, csr_id, data
       FROM interaction_events WHERE listing_id = $listing AND interaction_id IN (SELECT unnest($ids)) ORDER BY interaction_id, position`,
    params,
    types,
  );
  for (const row of events) {
    const event: InteractionEvent = { type: row.type };
    const ts = iso(row.ts);
    if (ts !== undefined) event.ts = ts;
    if (row.seq !== null) event.seq = row.seq;
    if (row.name !== null) event.name = row.name;
    if (row.csr_id !== null) event.csrId = row.csr_id;
    const data = json<InteractionEvent['data']>(row.data);
    if (data !== undefined) event.data = data;
    records.get(row.interaction_id)?.events?.push(event);
  }
  return { records, messageCounts, hashes };
}
