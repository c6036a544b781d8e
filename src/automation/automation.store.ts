import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import type { Queryable } from '../platform/index.ts';
import type { TicketStatus } from '../tickets/index.ts';
import type { TriggeredKind, TriggeredMessage } from './automation.schemas.ts';

export type AutomatedKind = TriggeredKind | 'welcome';

export interface AutomatedMessageRow {
  key: string;
  kind: AutomatedKind;
  after_minutes: number | null;
  text: string;
  updated_at: Date;
}

export const inactivityKey = (afterMinutes: number) => `inactivity:${afterMinutes}`;

export async function readAutomatedMessages(db: Queryable, listingId: string): Promise<AutomatedMessageRow[]> {
  const { rows } = await db.query<AutomatedMessageRow>(
    'SELECT key, kind, after_minutes, text, updated_at FROM automated_messages WHERE listing_id = $1 ORDER BY kind, after_minutes',
    [listingId],
    // Read once for every new ticket: parsing it each time cost PostgreSQL more than running it.
    { prepare: 'automation.messages_of_listing' },
  );
  return rows;
}

export async function replaceAutomatedMessages(
  tx: Queryable,
  listingId: string,
  messages: ReadonlyArray<{ key: string; kind: AutomatedKind; afterMinutes: number | null; text: string }>,
): Promise<void> {
  await tx.query('DELETE FROM automated_messages WHERE listing_id = $1', [listingId]);
  for (const message of messages) {
    await tx.query('INSERT INTO automated_messages (listing_id, key, kind, after_minutes, text) VALUES ($1, $2, $3, $4, $5)', [
      listingId,
      message.key,
      message.kind,
      message.afterMinutes,
      message.text,
    ]);
  }
}

export async function listTriggeredMessages(db: Queryable, listingId: string): Promise<TriggeredMessage[]> {
  const rows = await readAutomatedMessages(db, listingId);
  return rows
    .filter((row): row is AutomatedMessageRow & { kind: TriggeredKind } => row.kind !== 'welcome')
    .map((row) => ({ key: row.key, kind: row.kind, afterMinutes: row.after_minutes, text: row.text }));
}

export interface TicketFactsRow {
  status: TicketStatus;
  created_at: Date;
  first_assigned_at: Date | null;
}

export async function findTicketFacts(db: Queryable, listingId: string, ticketId: string): Promise<TicketFactsRow | undefined> {
  const { rows } = await db.query<TicketFactsRow>('SELECT status, created_at, first_assigned_at FROM tickets WHERE listing_id = $1 AND id = $2', [
    listingId,
    ticketId,
  ]);
  return rows[0];
}

/** When the ticket last went back to the queue; the outbox is the record of its lifecycle. */
export async function lastReleasedAt(db: Queryable, listingId: string, ticketId: string): Promise<Date | undefined> {
  const { rows } = await db.query<{ created_at: Date }>(
    `SELECT created_at FROM events
      WHERE listing_id = $1 AND aggregate_type = 'ticket' AND aggregate_id = $2 AND name = $3
      ORDER BY id DESC LIMIT 1`,
    [listingId, ticketId, EventNames.ticketReleased],
  );
  return rows[0]?.created_at;
}

/** Keys of the automated messages already sent (or superseded) in a ticket. */
export async function listDoneKeys(db: Queryable, listingId: string, ticketId: string): Promise<Set<string>> {
  const { rows } = await db.query<{ key: string }>('SELECT key FROM automated_message_sends WHERE listing_id = $1 AND ticket_id = $2', [
    listingId,
    ticketId,
  ]);
  return new Set(rows.map((row) => row.key));
}

export async function lockTicketStatus(tx: Queryable, listingId: string, ticketId: string): Promise<TicketStatus | undefined> {
  const { rows } = await tx.query<{ status: TicketStatus }>('SELECT status FROM tickets WHERE listing_id = $1 AND id = $2 FOR UPDATE', [
    listingId,
    ticketId,
  ]);
  return rows[0]?.status;
}

/** Records that a message went out (or was superseded); false when some run already did. */
export async function claimSend(
  tx: Queryable,
  claim: { listingId: string; ticketId: string; key: string; outcome: 'sent' | 'superseded'; messageId: string | null },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO automated_message_sends (listing_id, ticket_id, key, outcome, message_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (listing_id, ticket_id, key) DO NOTHING`,
    [claim.listingId, claim.ticketId, claim.key, claim.outcome, claim.messageId],
  );
  return rowCount > 0;
}

interface MessageRow {
  id: string;
  seq: number;
  sender_role: 'system';
  kind: 'text';
  channel: string;
  text: string;
  content: Record<string, unknown>;
  created_at: Date;
}

/**
 * Appends a system text message to a ticket the caller has locked, with its message.created
 * event: the same rows and event payload the message service writes for a post. The client
 * message id "automated:<key>" makes the thread itself refuse a second copy as well.
 */
export async function insertSystemMessage(
  tx: Queryable,
  message: { id: string; listingId: string; ticketId: string; key: string; kind: TriggeredKind; text: string },
  actor: Actor,
): Promise<{ id: string; seq: number }> {
  const { rows: bumped } = await tx.query<{ seq: number; channel: string }>(
    // The channel a post without one gets: the ticket's own where it is a messaging channel.
    `UPDATE tickets SET message_count = message_count + 1, last_message_at = now(), updated_at = now()
      WHERE listing_id = $1 AND id = $2
      RETURNING message_count AS seq,
                CASE source_channel WHEN 'sms' THEN 'sms' WHEN 'email' THEN 'email' WHEN 'social' THEN 'social' ELSE 'chat' END AS channel`,
    [message.listingId, message.ticketId],
  );
  const ticket = bumped[0]!;
  const content = { automated: { key: message.key, kind: message.kind } };
  const { rows } = await tx.query<MessageRow>(
    `INSERT INTO messages (id, listing_id, ticket_id, seq, sender_role, kind, channel, text, content, client_message_id)
     VALUES ($1, $2, $3, $4, 'system', 'text', $5, $6, $7::jsonb, $8)
     RETURNING id, seq, sender_role, kind, channel, text, content, created_at`,
    [message.id, message.listingId, message.ticketId, ticket.seq, ticket.channel, message.text, JSON.stringify(content), `automated:${message.key}`],
  );
  const row = rows[0]!;
  await appendEvent(tx, {
    listingId: message.listingId,
    name: EventNames.messageCreated,
    aggregateType: 'ticket',
    aggregateId: message.ticketId,
    payload: {
      messageId: row.id,
      seq: row.seq,
      senderRole: row.sender_role,
      csrId: null,
      kind: row.kind,
      channel: row.channel,
      text: row.text,
      content: row.content,
      attachmentId: null,
      createdAt: row.created_at,
    },
    actor,
  });
  return { id: row.id, seq: row.seq };
}

/** Remembers when the engine looked at a ticket and when it must look again (null: no timer). */
export async function recordCheck(db: Queryable, listingId: string, ticketId: string, nextCheckAt: Date | null): Promise<void> {
  await db.query(
    `INSERT INTO automation_checks (listing_id, ticket_id, checked_at, next_check_at)
     SELECT listing_id, id, now(), $3 FROM tickets WHERE listing_id = $1 AND id = $2
     ON CONFLICT (listing_id, ticket_id) DO UPDATE SET checked_at = now(), next_check_at = EXCLUDED.next_check_at`,
    [listingId, ticketId, nextCheckAt],
  );
}

/**
 * Open tickets of listings with automated messages that need a look: never looked at, due, or
 * (while waiting) changed since the last look. This is the safety net under the delayed jobs,
 * which an embedded restart or a lost Redis can drop; it spans listings like the outbox relay.
 */
export async function findDueTickets(db: Queryable, now: Date, limit: number): Promise<Array<{ listingId: string; ticketId: string }>> {
  const { rows } = await db.query<{ listing_id: string; id: string }>(
    `SELECT t.listing_id, t.id
       FROM tickets t
       LEFT JOIN automation_checks c ON c.listing_id = t.listing_id AND c.ticket_id = t.id
      WHERE t.status IN ('waiting', 'assigned')
        AND EXISTS (SELECT 1 FROM automated_messages m WHERE m.listing_id = t.listing_id AND m.kind <> 'welcome')
        AND (c.ticket_id IS NULL
             OR (t.status = 'waiting' AND (c.next_check_at <= $1 OR c.checked_at < t.updated_at)))
      ORDER BY t.created_at, t.id
      LIMIT $2`,
    [now, limit],
  );
  return rows.map((row) => ({ listingId: row.listing_id, ticketId: row.id }));
}

/** One page of a listing's waiting tickets, in id order (keyset paging). */
export async function listWaitingTickets(db: Queryable, listingId: string, afterId: string | null, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM tickets WHERE listing_id = $1 AND status = 'waiting' AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3`,
    [listingId, afterId, limit],
  );
  return rows.map((row) => row.id);
}
