import { EventNames } from '../events/index.ts';
import type { Database, Queryable } from '../platform/index.ts';
import type { MessageKind, SenderRole } from './messages.schemas.ts';

export interface MessageRow {
  id: string;
  ticket_id: string;
  seq: number;
  sender_role: SenderRole;
  csr_id: string | null;
  kind: MessageKind;
  channel: string;
  text: string | null;
  content: Record<string, unknown>;
  attachment_id: string | null;
  client_message_id: string | null;
  created_at: Date;
}

/** A message ready to write; `mustHoldAs` = the CSR who must hold the ticket (CSR keys), else null. */
export interface NewMessage {
  id: string;
  role: SenderRole;
  csrId: string | null;
  mustHoldAs: string | null;
  kind: MessageKind;
  channel: string | null;
  text: string | null;
  content: Record<string, unknown>;
  attachmentId: string | null;
  clientMessageId: string | null;
}

/** The columns of MessageRow, named so a prepared statement's result type survives new columns. */
const MESSAGE_COLUMNS = 'id, ticket_id, seq, sender_role, csr_id, kind, channel, text, content, attachment_id, client_message_id, created_at';

/** The message channel a ticket's source implies when a post names none. */
const defaultChannel = (sourceChannel: string) => `CASE ${sourceChannel} WHEN 'sms' THEN 'sms' WHEN 'email' THEN 'email'
  WHEN 'social' THEN 'social' ELSE 'chat' END`;

const eventPayload = `jsonb_build_object('messageId', m.id, 'seq', m.seq, 'senderRole', m.sender_role, 'csrId', m.csr_id,
  'kind', m.kind, 'channel', m.channel, 'text', m.text, 'content', m.content,
  'attachmentId', m.attachment_id, 'createdAt', m.created_at)`;

/**
 * One message in one statement: bump the ticket's message counter (which also orders the thread
 * and guards status and ownership), insert the message and its outbox event. Atomic without an
 * explicit transaction; the ticket row is locked only for the statement's length.
 */
const INSERT_ONE_SQL = `WITH t AS (
   UPDATE tickets SET message_count = message_count + 1, last_message_at = now(), updated_at = now(),
          first_csr_reply_at = CASE WHEN $4 = 'csr' THEN COALESCE(first_csr_reply_at, now()) ELSE first_csr_reply_at END
    WHERE listing_id = $1 AND id = $2 AND status IN ('waiting', 'assigned') AND ($13::uuid IS NULL OR csr_id = $13)
    RETURNING id, listing_id, message_count, source_channel
 ), m AS (
   INSERT INTO messages (id, listing_id, ticket_id, seq, sender_role, csr_id, kind, channel, text, content, attachment_id, client_message_id)
   SELECT $3, t.listing_id, t.id, t.message_count, $4, $5, $6, COALESCE($7, ${defaultChannel('t.source_channel')}), $8, $9::jsonb, $10, $11 FROM t
   RETURNING listing_id, ${MESSAGE_COLUMNS}
 ), e AS (
   INSERT INTO events (listing_id, name, aggregate_type, aggregate_id, payload, actor)
   SELECT m.listing_id, '${EventNames.messageCreated}', 'ticket', m.ticket_id::text, ${eventPayload}, $12::jsonb FROM m
 )
 SELECT ${MESSAGE_COLUMNS} FROM m`;

/**
 * The same for many messages at once, passed as one jsonb array. Tickets are locked in id order
 * (two batches cannot deadlock on each other); a message whose ticket has ended or is not held
 * by its CSR is left out, the rest are numbered after the ticket's counter in arrival order.
 *
 * The tickets are found through `id = ANY (ARRAY(…))`, an index probe per message. The plan is
 * generic (prepared) and PostgreSQL guesses 100 rows for `jsonb_array_elements`, so a plain
 * `(listing_id, id) IN (SELECT … FROM input)` was planned as a hash join over a sequential scan
 * of every ticket: 2.4 ms per batch at 6,000 tickets, O(tickets) per message post. Exported for
 * the test that checks its generic plan (test/integration/message-batching.test.ts).
 */
export const INSERT_MANY_SQL = `WITH input AS (
   SELECT x.*, i.ord
     FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS i(item, ord),
          jsonb_to_record(i.item) AS x(listing_id text, ticket_id uuid, id uuid, sender_role text, csr_id uuid, kind text,
                                       channel text, text text, content jsonb, attachment_id uuid, client_message_id text,
                                       actor jsonb, must_hold_as uuid)
 ), locked AS (
   SELECT t.listing_id, t.id, t.csr_id, t.source_channel
     FROM tickets t
    WHERE t.id = ANY (ARRAY(SELECT ticket_id FROM input))
      AND (t.listing_id, t.id) IN (SELECT listing_id, ticket_id FROM input) AND t.status IN ('waiting', 'assigned')
    ORDER BY t.id
      FOR NO KEY UPDATE
 ), accepted AS (
   SELECT input.*, locked.source_channel, row_number() OVER (PARTITION BY input.ticket_id ORDER BY input.ord) AS nth
     FROM input JOIN locked ON locked.listing_id = input.listing_id AND locked.id = input.ticket_id
    WHERE input.must_hold_as IS NULL OR locked.csr_id = input.must_hold_as
 ), t AS (
   UPDATE tickets SET message_count = message_count + a.n, last_message_at = now(), updated_at = now(),
          first_csr_reply_at = CASE WHEN a.any_csr THEN COALESCE(first_csr_reply_at, now()) ELSE first_csr_reply_at END
     FROM (SELECT listing_id, ticket_id, count(*)::int AS n, bool_or(sender_role = 'csr') AS any_csr FROM accepted GROUP BY 1, 2) a
    WHERE tickets.listing_id = a.listing_id AND tickets.id = a.ticket_id
    RETURNING tickets.id, tickets.message_count - a.n AS base
 ), m AS (
   INSERT INTO messages (id, listing_id, ticket_id, seq, sender_role, csr_id, kind, channel, text, content, attachment_id, client_message_id)
   SELECT a.id, a.listing_id, a.ticket_id, t.base + a.nth, a.sender_role, a.csr_id, a.kind,
          COALESCE(a.channel, ${defaultChannel('a.source_channel')}), a.text, a.content, a.attachment_id, a.client_message_id
     FROM accepted a JOIN t ON t.id = a.ticket_id
    ORDER BY a.ord
   RETURNING listing_id, ${MESSAGE_COLUMNS}
 ), e AS (
   INSERT INTO events (listing_id, name, aggregate_type, aggregate_id, payload, actor)
   SELECT m.listing_id, '${EventNames.messageCreated}', 'ticket', m.ticket_id::text, ${eventPayload}, input.actor
     FROM m JOIN input ON input.id = m.id
    ORDER BY input.ord
 )
 SELECT id, seq, channel, created_at FROM m`;

/** Writes one message; undefined when the ticket is not open or not held by `mustHoldAs`. */
export async function insertMessage(
  db: Queryable,
  listingId: string,
  ticketId: string,
  message: NewMessage,
  actor: Record<string, unknown>,
): Promise<MessageRow | undefined> {
  const { rows } = await db.query<MessageRow>(
    INSERT_ONE_SQL,
    [
      listingId,
      ticketId,
      message.id,
      message.role,
      message.csrId,
      message.kind,
      message.channel,
      message.text,
      JSON.stringify(message.content),
      message.attachmentId,
      message.clientMessageId,
      JSON.stringify(actor),
      message.mustHoldAs,
    ],
    // Planning this statement costs PostgreSQL more than executing it: plan once per connection.
    { prepare: 'messages.insert_one' },
  );
  return rows[0];
}

/** What the batch statement returns per written message: the values PostgreSQL assigned. */
interface WrittenRow {
  id: string;
  seq: number;
  channel: string;
  created_at: Date;
}

interface Pending {
  listingId: string;
  ticketId: string;
  message: NewMessage;
  actor: Record<string, unknown>;
  resolve(row: MessageRow | undefined): void;
  reject(error: unknown): void;
}

export interface MessageWriterOptions {
  /** Statements writing messages at once; posts arriving meanwhile wait and go in the next one. */
  maxInFlight?: number;
  /** Most messages in one statement. */
  maxBatch?: number;
}

/**
 * Group commit for message posts. Each post costs PostgreSQL a commit (a WAL flush), a plan and
 * a round trip; under load those dominate. Posts are queued; up to `maxInFlight` statements run
 * at once, and each takes everything that queued meanwhile. A lone post goes out at once through
 * the one-message statement, so latency at low load is unchanged; under load a batch commits in
 * one flush. If a batch fails as a whole (a duplicate clientMessageId, a deadlock), its posts are
 * retried one by one so one bad post cannot fail the others.
 */
export function createMessageWriter(db: Database, { maxInFlight = 4, maxBatch = 64 }: MessageWriterOptions = {}) {
  const queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  const single = (item: Pending) =>
    insertMessage(db, item.listingId, item.ticketId, item.message, item.actor).then(item.resolve, item.reject);

  async function many(batch: Pending[]) {
    const input = batch.map(({ listingId, ticketId, message, actor }) => ({
      listing_id: listingId,
      ticket_id: ticketId,
      id: message.id,
      sender_role: message.role,
      csr_id: message.csrId,
      kind: message.kind,
      channel: message.channel,
      text: message.text,
      content: message.content,
      attachment_id: message.attachmentId,
      client_message_id: message.clientMessageId,
      actor,
      must_hold_as: message.mustHoldAs,
    }));
    let rows: WrittenRow[];
    try {
      ({ rows } = await db.query<WrittenRow>(INSERT_MANY_SQL, [JSON.stringify(input)], { prepare: 'messages.insert_many' }));
    } catch {
      await Promise.all(batch.map(single));
      return;
    }
    // The statement returns only what PostgreSQL decided; the rest is what was sent.
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const { ticketId, message, resolve } of batch) {
      const written = byId.get(message.id);
      resolve(
        written && {
          id: message.id,
          ticket_id: ticketId,
          seq: written.seq,
          sender_role: message.role,
          csr_id: message.csrId,
          kind: message.kind,
          channel: written.channel,
          text: message.text,
          content: message.content,
          attachment_id: message.attachmentId,
          client_message_id: message.clientMessageId,
          created_at: written.created_at,
        },
      );
    }
  }

  function flush() {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      inFlight++;
      void (batch.length === 1 ? single(batch[0]!) : many(batch)).finally(() => {
        inFlight--;
        if (queue.length > 0) schedule();
      });
    }
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    // After the current I/O phase, so posts parsed from the same socket reads share a statement.
    setImmediate(flush);
  }

  return {
    write(listingId: string, ticketId: string, message: NewMessage, actor: Record<string, unknown>): Promise<MessageRow | undefined> {
      return new Promise((resolve, reject) => {
        queue.push({ listingId, ticketId, message, actor, resolve, reject });
        if (inFlight < maxInFlight) schedule();
      });
    },
  };
}

export type MessageWriter = ReturnType<typeof createMessageWriter>;
