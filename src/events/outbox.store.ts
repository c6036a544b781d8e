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
  created_ms: number;
}

/**
 * The columns of an event, its time as epoch milliseconds: consumers read thousands of events a
 * second (the relay, the live analytics source), and the driver's parsing of a timestamptz text
 * cost more than the rest of the row apart from its payload. A Date holds milliseconds either way.
 */
const EVENT_COLUMNS = `id, listing_id, name, aggregate_type, aggregate_id, payload, actor, (extract(epoch FROM created_at) * 1000)::float8 AS created_ms`;

const toEvent = (row: EventRow): StoredEvent => ({
  id: Number(row.id),
  listingId: row.listing_id,
  name: row.name,
  aggregateType: row.aggregate_type,
  aggregateId: row.aggregate_id,
  payload: row.payload,
  actor: row.actor,
  createdAt: new Date(Math.floor(row.created_ms)),
});

/** Events of one listing after a cursor, in commit-id order. */
export async function readEvents(
  db: Queryable,
  query: { listingId: string; afterId?: number; limit: number; names?: readonly string[] },
): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events
      WHERE listing_id = $1 AND id > $2 AND ($4::text[] IS NULL OR name = ANY($4))
      ORDER BY id LIMIT $3`,
    [query.listingId, query.afterId ?? 0, query.limit, query.names ?? null],
  );
  return rows.map(toEvent);
}

/**
 * Reads the events after a consumer's cursor, in id order, without skipping one that may still
 * appear. Ids come from a sequence when a transaction inserts, so a lower id can become visible
 * after a higher one (its transaction commits later), and an id whose transaction rolled back
 * never appears. The batch therefore stops at the first hole, unless the event after the hole is
 * older than `gapGraceMs`: no open transaction is expected to run that long, so the hole is
 * treated as a rollback. Run inside a transaction that holds the cursor row (see lockCursor).
 */
export async function readAfterCursor(
  tx: Queryable,
  query: { afterId: number; limit: number; gapGraceMs: number; now: Date },
): Promise<StoredEvent[]> {
  const { rows } = await tx.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2`, [query.afterId, query.limit]);
  const accepted: StoredEvent[] = [];
  let expected = query.afterId + 1;
  for (const row of rows) {
    const event = toEvent(row);
    if (event.id !== expected && query.now.getTime() - event.createdAt.getTime() < query.gapGraceMs) break;
    accepted.push(event);
    expected = event.id + 1;
  }
  return accepted;
}

/** Locks (creating if needed) a consumer's cursor row for this transaction; returns its position. */
export async function lockCursor(tx: Queryable, name: string): Promise<number> {
  await tx.query('INSERT INTO outbox_cursors (name) VALUES ($1) ON CONFLICT DO NOTHING', [name]);
  const { rows } = await tx.query<{ last_id: number }>('SELECT last_id FROM outbox_cursors WHERE name = $1 FOR UPDATE', [name]);
  return Number(rows[0]!.last_id);
}

export async function advanceCursor(tx: Queryable, name: string, lastId: number): Promise<void> {
  await tx.query('UPDATE outbox_cursors SET last_id = $2, updated_at = now() WHERE name = $1', [name, lastId]);
}

/** A consumer's position as stored in Postgres, without locking it; 0 and null before its first run. */
export async function peekCursor(db: Queryable, name: string): Promise<{ lastId: number; updatedAt: Date | null }> {
  const { rows } = await db.query<{ last_id: number; updated_at: Date }>('SELECT last_id, updated_at FROM outbox_cursors WHERE name = $1', [name]);
  return rows[0] ? { lastId: Number(rows[0].last_id), updatedAt: rows[0].updated_at } : { lastId: 0, updatedAt: null };
}

/** What is committed after a position: the newest id, how many events, and the oldest one's time (one listing, or all). */
export async function outboxBacklog(
  db: Queryable,
  query: { afterId: number; listingId?: string | undefined },
): Promise<{ newestId: number; pending: number; oldestPendingAt: Date | null }> {
  const { rows } = await db.query<{ newest_id: number | null; pending: number; oldest_at: Date | null }>(
    `SELECT (SELECT max(id) FROM events WHERE $2::text IS NULL OR listing_id = $2) AS newest_id,
            count(*)::int AS pending, min(created_at) AS oldest_at
       FROM events WHERE id > $1 AND ($2::text IS NULL OR listing_id = $2)`,
    [query.afterId, query.listingId ?? null],
  );
  const row = rows[0]!;
  return { newestId: Number(row.newest_id ?? 0), pending: Number(row.pending), oldestPendingAt: row.oldest_at };
}
