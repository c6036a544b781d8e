import type { Queryable } from '../platform/index.ts';
import type { HandoffSettings, SignalName } from './assessment.ts';

export interface SettingsRow {
  threshold: number;
  high_value_intents: string[];
  high_value_keywords: string[];
  weights: Partial<Record<SignalName, number>>;
  updated_at: Date;
}

export async function findSettings(db: Queryable, listingId: string): Promise<SettingsRow | undefined> {
  const { rows } = await db.query<SettingsRow>(
    'SELECT threshold, high_value_intents, high_value_keywords, weights, updated_at FROM handoff_settings WHERE listing_id = $1',
    [listingId],
    { prepare: 'handoff.settings' },
  );
  return rows[0];
}

export async function upsertSettings(db: Queryable, listingId: string, settings: HandoffSettings): Promise<SettingsRow> {
  const { rows } = await db.query<SettingsRow>(
    `INSERT INTO handoff_settings (listing_id, threshold, high_value_intents, high_value_keywords, weights)
     VALUES ($1, $2, $3, $4, $5::jsonb)
     ON CONFLICT (listing_id) DO UPDATE SET threshold = EXCLUDED.threshold, high_value_intents = EXCLUDED.high_value_intents,
       high_value_keywords = EXCLUDED.high_value_keywords, weights = EXCLUDED.weights, updated_at = now()
     RETURNING threshold, high_value_intents, high_value_keywords, weights, updated_at`,
    [listingId, settings.threshold, settings.highValueIntents, settings.highValueKeywords, JSON.stringify(settings.weights)],
  );
  return rows[0]!;
}

export interface HandoffRow {
  id: string;
  listing_id: string;
  idempotency_key: string;
  ticket_id: string;
  customer_id: string;
  ticket_created: boolean;
  intent: string | null;
  priority: number;
  confidence: number;
  summary: string;
  reasons: string[];
  transcript: Array<{ messageId: string; seq: number; role: string; ts: string | null }>;
  created_at: Date;
}

export async function findHandoffByKey(db: Queryable, listingId: string, key: string): Promise<HandoffRow | undefined> {
  const { rows } = await db.query<HandoffRow>('SELECT * FROM handoffs WHERE listing_id = $1 AND idempotency_key = $2', [listingId, key]);
  return rows[0];
}

/** Inserts the hand-off unless one with its key exists; undefined when another request won. */
export async function insertHandoff(db: Queryable, row: Omit<HandoffRow, 'created_at'> & { actor: Record<string, unknown> }): Promise<HandoffRow | undefined> {
  const { rows } = await db.query<HandoffRow>(
    `INSERT INTO handoffs (id, listing_id, idempotency_key, ticket_id, customer_id, ticket_created, intent, priority, confidence,
                           summary, reasons, transcript, actor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::jsonb)
     ON CONFLICT (listing_id, idempotency_key) DO NOTHING
     RETURNING *`,
    [
      row.id,
      row.listing_id,
      row.idempotency_key,
      row.ticket_id,
      row.customer_id,
      row.ticket_created,
      row.intent,
      row.priority,
      row.confidence,
      row.summary,
      JSON.stringify(row.reasons),
      JSON.stringify(row.transcript),
      JSON.stringify(row.actor),
    ],
  );
  return rows[0];
}

export interface QueueFacts {
  status: string;
  /** Waiting tickets the queue serves before this one (pull order: priority, then queue key). */
  ahead: number;
  waiting: number;
  csrsOnline: number;
}

/**
 * Where a ticket stands in its listing's queue, in the order `pull` serves it. Skills are not
 * considered: a ticket needing a skill may be overtaken by ones that do not, so the position is
 * the queue's order, not a promise.
 */
export async function queueFacts(db: Queryable, listingId: string, ticketId: string): Promise<QueueFacts | undefined> {
  const { rows } = await db.query<{ status: string; ahead: number; waiting: number; csrs_online: number }>(
    `SELECT t.status,
            (SELECT count(*)::int FROM tickets w
              WHERE w.listing_id = t.listing_id AND w.status = 'waiting' AND w.id <> t.id
                AND (w.priority > t.priority OR (w.priority = t.priority AND (w.queue_key, w.id) < (t.queue_key, t.id)))) AS ahead,
            (SELECT count(*)::int FROM tickets w WHERE w.listing_id = t.listing_id AND w.status = 'waiting') AS waiting,
            (SELECT count(*)::int FROM csrs c WHERE c.listing_id = t.listing_id AND c.presence = 'online') AS csrs_online
       FROM tickets t WHERE t.listing_id = $1 AND t.id = $2`,
    [listingId, ticketId],
  );
  const row = rows[0];
  return row && { status: row.status, ahead: row.ahead, waiting: row.waiting, csrsOnline: row.csrs_online };
}

/** Median seconds from creation to first assignment over the listing's last `window` assigned tickets. */
export async function recentWait(db: Queryable, listingId: string, window: number): Promise<{ samples: number; medianSeconds: number | null }> {
  const { rows } = await db.query<{ samples: number; median: number | null }>(
    `SELECT count(*)::int AS samples, percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) AS median
       FROM (SELECT GREATEST(extract(epoch FROM first_assigned_at - created_at), 0)::float8 AS wait
               FROM tickets
              WHERE listing_id = $1 AND first_assigned_at IS NOT NULL
              ORDER BY first_assigned_at DESC
              LIMIT $2) recent`,
    [listingId, window],
  );
  return { samples: rows[0]?.samples ?? 0, medianSeconds: rows[0]?.median ?? null };
}
