import { LIST, VARCHAR, listValue } from '@duckdb/node-api';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import type { InteractionEvent, InteractionMessage, InteractionRecord } from './interaction.schemas.ts';
import { getCheckpoint, saveCheckpoint } from './ingest.store.ts';

/**
 * DuckDB side of the live source (outbox-ingest.service.ts): reading back the interactions it
 * wrote, so each event folds onto the stored record, and its position in `ingest_checkpoints`.
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

const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
const iso = (value: Date | null): string | undefined => (value === null ? undefined : value.toISOString());
const json = <T>(value: string | null): T | undefined => (value === null ? undefined : (JSON.parse(value) as T));

interface InteractionRow {
  id: string;
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

interface MessageRow {
  interaction_id: string;
  role: InteractionMessage['role'];
  kind: InteractionMessage['kind'];
  channel: string | null;
  ts: Date | null;
  text: string | null;
  transcript: string | null;
  external_id: string | null;
  csr_id: string | null;
  attachment: string | null;
  meta: string | null;
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
export async function loadInteractions(db: AnalyticsDb, listingId: string, ids: string[]): Promise<Map<string, InteractionRecord>> {
  const records = new Map<string, InteractionRecord>();
  if (ids.length === 0) return records;
  const params = { listing: listingId, ids: listValue(ids) };
  const types = { ids: LIST(VARCHAR) };
  const rows = await db.all<InteractionRow>(
    `SELECT id, customer_id, csr_ids, source_channel, source_app, created_at, first_assigned_at, first_csr_reply_at, ended_at,
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
  }
  const messages = await db.all<MessageRow>(
    `SELECT interaction_id, role, kind, channel, ts, text, transcript, external_id, csr_id, attachment, meta
       FROM messages WHERE listing_id = $listing AND interaction_id IN (SELECT unnest($ids)) ORDER BY interaction_id, seq`,
    params,
    types,
  );
  for (const row of messages) {
    const message: InteractionMessage = { role: row.role, kind: row.kind };
    const channel = opt(row.channel);
    if (channel !== undefined) message.channel = channel;
    const ts = iso(row.ts);
    if (ts !== undefined) message.ts = ts;
    if (row.text !== null) message.text = row.text;
    if (row.transcript !== null) message.transcript = row.transcript;
    if (row.external_id !== null) message.id = row.external_id;
    if (row.csr_id !== null) message.csrId = row.csr_id;
    const attachment = json<InteractionMessage['attachment']>(row.attachment);
    if (attachment !== undefined) message.attachment = attachment;
    const meta = json<InteractionMessage['meta']>(row.meta);
    if (meta !== undefined) message.meta = meta;
    records.get(row.interaction_id)?.messages.push(message);
  }
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
  return records;
}
