import type { Queryable } from '../platform/index.ts';
import type { EventName } from './event-names.ts';

export interface Actor {
  keyId?: string;
  role?: string;
  csrId?: string | null;
}

export interface NewEvent {
  listingId: string;
  name: EventName;
  aggregateType: string;
  aggregateId: string;
  payload: Record<string, unknown>;
  actor?: Actor;
}

export interface StoredEvent {
  id: number;
  listingId: string;
  name: EventName;
  aggregateType: string;
  aggregateId: string;
  payload: Record<string, unknown>;
  actor: Actor;
  createdAt: Date;
}

/** Appends an event inside the caller's transaction, so it commits or rolls back with the change. */
export async function appendEvent(tx: Queryable, event: NewEvent): Promise<void> {
  await tx.query(
    `INSERT INTO events (listing_id, name, aggregate_type, aggregate_id, payload, actor)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      event.listingId,
      event.name,
      event.aggregateType,
      event.aggregateId,
      JSON.stringify(event.payload),
      JSON.stringify(event.actor ?? {}),
    ],
    { prepare: 'events.append' },
  );
}

interface EventRow {
  id: number;
  listing_id: string;
  name: EventName;
  aggregate_type: string;
  aggregate_id: string;
  payload: Record<string, unknown>;
  actor: Actor;
  created_at: Date;
}

const toEvent = (row: EventRow): StoredEvent => ({
  id: Number(row.id),
  listingId: row.listing_id,
  name: row.name,
  aggregateType: row.aggregate_type,
  aggregateId: row.aggregate_id,
  payload: row.payload,
  actor: row.actor,
  createdAt: row.created_at,
});

/** Events of one listing after a cursor, in commit-id order. */
export async function readEvents(
  db: Queryable,
  query: { listingId: string; afterId?: number; limit: number; names?: readonly string[] },
): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT * FROM events
      WHERE listing_id = $1 AND id > $2 AND ($4::text[] IS NULL OR name = ANY($4))
      ORDER BY id LIMIT $3`,
    [query.listingId, query.afterId ?? 0, query.limit, query.names ?? null],
  );
  return rows.map(toEvent);
}

/**
 * Claims up to `limit` undispatched events across listings and marks them dispatched in the same
 * statement; SKIP LOCKED lets several relays run without handing out an event twice.
 */
export async function claimUndispatched(db: Queryable, limit: number): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(
    `UPDATE events SET dispatched_at = now()
      WHERE id IN (SELECT id FROM events WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING *`,
    [limit],
  );
  return rows.map(toEvent).sort((a, b) => a.id - b.id);
}
