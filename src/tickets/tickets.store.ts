import { EventNames, type Actor } from '../events/index.ts';
import type { Queryable } from '../platform/index.ts';
import type { Counters, TicketFilter, TicketStatus, TicketView } from './tickets.schemas.ts';

export interface TicketRow {
  id: string;
  listing_id: string;
  ref: string;
  customer_id: string;
  csr_id: string | null;
  status: TicketStatus;
  source_app: string;
  source_channel: TicketView['source']['channel'];
  subject: string | null;
  required_skills: string[];
  priority: number;
  message_count: number;
  created_at: Date;
  first_assigned_at: Date | null;
  assigned_at: Date | null;
  first_csr_reply_at: Date | null;
  last_message_at: Date | null;
  ended_at: Date | null;
  rating: number | null;
  rating_comment: string | null;
  rated_at: Date | null;
  updated_at: Date;
  metadata: Record<string, unknown>;
}

/** Every column of TicketRow, listed so prepared statements keep their shape across migrations. */
const TICKET_COLUMNS = `id, listing_id, ref, customer_id, csr_id, status, source_app, source_channel, subject, required_skills,
  priority, message_count, created_at, first_assigned_at, assigned_at, first_csr_reply_at, last_message_at, ended_at,
  rating, rating_comment, rated_at, updated_at, metadata`;

export const toTicketView = (row: TicketRow): TicketView => ({
  id: row.id,
  listingId: row.listing_id,
  ref: row.ref,
  customerId: row.customer_id,
  csrId: row.csr_id,
  status: row.status,
  source: { app: row.source_app, channel: row.source_channel },
  subject: row.subject,
  requiredSkills: row.required_skills,
  priority: row.priority,
  messageCount: row.message_count,
  createdAt: row.created_at,
  firstAssignedAt: row.first_assigned_at,
  assignedAt: row.assigned_at,
  firstCsrReplyAt: row.first_csr_reply_at,
  lastMessageAt: row.last_message_at,
  endedAt: row.ended_at,
  rating: row.rating,
  ratingComment: row.rating_comment,
  ratedAt: row.rated_at,
  updatedAt: row.updated_at,
  metadata: row.metadata,
});

export async function findTicket(
  db: Queryable,
  listingId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<TicketRow | undefined> {
  const { rows } = await db.query<TicketRow>(
    `SELECT * FROM tickets WHERE listing_id = $1 AND id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [listingId, id],
  );
  return rows[0];
}

export async function findOpenTicketOfCustomer(db: Queryable, listingId: string, customerId: string) {
  const { rows } = await db.query<TicketRow>(
    `SELECT ${TICKET_COLUMNS} FROM tickets WHERE listing_id = $1 AND customer_id = $2 AND status IN ('waiting', 'assigned')`,
    [listingId, customerId],
    { prepare: 'tickets.open_of_customer' },
  );
  return rows[0];
}

export interface NewTicket {
  id: string;
  listingId: string;
  customerId: string;
  csrId: string | null;
  status: 'waiting' | 'assigned';
  sourceApp: string;
  sourceChannel: string;
  subject: string | null;
  requiredSkills: string[];
  priority: number;
  queueKey: number;
  metadata: Record<string, unknown>;
}

/**
 * Takes the listing's next reference number (its own sequence: never blocks, a failed create
 * leaves a gap), inserts the ticket, and appends `ticket.created` — and `ticket.assigned` when it
 * goes straight to a (sticky) CSR — in one statement: ticket creation is bound by round trips,
 * not by work. Undefined when the listing does not exist.
 */
const INSERT_TICKET_SQL = `WITH numbered AS (
   SELECT ref_prefix || '-' || lpad(n::text, greatest(6, length(n::text)), '0') AS ref
     FROM (SELECT ref_prefix, nextval(ref_sequence::regclass) AS n FROM listings WHERE id = $2) l
 ), t AS (
   INSERT INTO tickets (id, listing_id, ref, customer_id, csr_id, status, source_app, source_channel, subject,
                        required_skills, priority, queue_key, metadata, first_assigned_at, assigned_at)
   SELECT $1, $2, numbered.ref, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
          CASE WHEN $5 = 'assigned' THEN now() END, CASE WHEN $5 = 'assigned' THEN now() END
     FROM numbered
   RETURNING ${TICKET_COLUMNS}
 ), e AS (
   INSERT INTO events (listing_id, name, aggregate_type, aggregate_id, payload, actor)
   SELECT listing_id, '${EventNames.ticketCreated}', 'ticket', id::text,
          jsonb_build_object('ref', ref, 'customerId', customer_id, 'source', jsonb_build_object('app', source_app, 'channel', source_channel),
                             'requiredSkills', to_jsonb(required_skills), 'priority', priority), $13::jsonb
     FROM t
   UNION ALL
   SELECT listing_id, '${EventNames.ticketAssigned}', 'ticket', id::text,
          jsonb_build_object('csrId', csr_id, 'previousCsrId', NULL, 'via', 'sticky'), $13::jsonb
     FROM t WHERE status = 'assigned'
 )
 SELECT ${TICKET_COLUMNS} FROM t`;

export async function insertTicket(db: Queryable, ticket: NewTicket, actor: Actor): Promise<TicketRow | undefined> {
  const { rows } = await db.query<TicketRow>(
    INSERT_TICKET_SQL,
    [
      ticket.id,
      ticket.listingId,
      ticket.customerId,
      ticket.csrId,
      ticket.status,
      ticket.sourceApp,
      ticket.sourceChannel,
      ticket.subject,
      ticket.requiredSkills,
      ticket.priority,
      ticket.queueKey,
      JSON.stringify(ticket.metadata),
      JSON.stringify(actor),
    ],
    { prepare: 'tickets.insert_with_events' },
  );
  return rows[0];
}

/**
 * Locks and returns the next waiting ticket the CSR's skills cover: highest priority first, then
 * queue order. SKIP LOCKED hands concurrent pullers different tickets instead of making them wait.
 */
export async function lockNextWaiting(db: Queryable, listingId: string, skills: readonly string[]) {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM tickets
      WHERE listing_id = $1 AND status = 'waiting' AND required_skills <@ $2::text[]
      ORDER BY priority DESC, queue_key, id
      LIMIT 1 FOR UPDATE SKIP LOCKED`,
    [listingId, skills],
  );
  return rows[0]?.id;
}

export async function markAssigned(db: Queryable, listingId: string, id: string, csrId: string): Promise<TicketRow> {
  const { rows } = await db.query<TicketRow>(
    `UPDATE tickets SET status = 'assigned', csr_id = $3, assigned_at = now(),
            first_assigned_at = COALESCE(first_assigned_at, now()), updated_at = now()
      WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [listingId, id, csrId],
  );
  return rows[0]!;
}

export async function markReleased(db: Queryable, listingId: string, id: string, queueKey: number): Promise<TicketRow> {
  const { rows } = await db.query<TicketRow>(
    `UPDATE tickets SET status = 'waiting', csr_id = NULL, assigned_at = NULL, queue_key = $3, updated_at = now()
      WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [listingId, id, queueKey],
  );
  return rows[0]!;
}

export async function markEnded(db: Queryable, listingId: string, id: string, outcome: 'resolved' | 'abandoned') {
  const { rows } = await db.query<TicketRow>(
    `UPDATE tickets SET status = $3, ended_at = now(), updated_at = now()
      WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [listingId, id, outcome],
  );
  return rows[0]!;
}

export async function markRated(db: Queryable, listingId: string, id: string, rating: number, comment: string | null) {
  const { rows } = await db.query<TicketRow>(
    `UPDATE tickets SET rating = $3, rating_comment = $4, rated_at = now(), updated_at = now()
      WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [listingId, id, rating, comment],
  );
  return rows[0]!;
}

export async function countActive(db: Queryable, listingId: string, csrId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM tickets WHERE listing_id = $1 AND csr_id = $2 AND status = 'assigned'`,
    [listingId, csrId],
  );
  return rows[0]?.n ?? 0;
}

/** WHERE clause for the list/count filters; parameters start at $2 ($1 is the listing). */
function filterClause(filter: TicketFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    clauses.push(sql(`$${params.length + 1}`));
  };
  if (filter.status) add((p) => `status = ANY(${p}::text[])`, filter.status);
  if (filter.csrId) add((p) => `csr_id = ${p}`, filter.csrId);
  if (filter.customerId) add((p) => `customer_id = ${p}`, filter.customerId);
  if (filter.channel) add((p) => `source_channel = ${p}`, filter.channel);
  if (filter.app) add((p) => `source_app = ${p}`, filter.app);
  if (filter.createdFrom) add((p) => `created_at >= ${p}`, filter.createdFrom);
  if (filter.createdTo) add((p) => `created_at < ${p}`, filter.createdTo);
  return { sql: clauses.map((clause) => ` AND ${clause}`).join(''), params };
}

export interface Cursor {
  createdAt: string;
  id: string;
}

export async function listTickets(
  db: Queryable,
  listingId: string,
  filter: TicketFilter,
  page: { limit: number; after?: Cursor },
): Promise<TicketRow[]> {
  const { sql, params } = filterClause(filter);
  const all: unknown[] = [listingId, ...params];
  let cursorSql = '';
  if (page.after) {
    all.push(page.after.createdAt, page.after.id);
    cursorSql = ` AND (created_at, id) < ($${all.length - 1}::timestamptz, $${all.length}::uuid)`;
  }
  all.push(page.limit);
  const { rows } = await db.query<TicketRow>(
    `SELECT * FROM tickets WHERE listing_id = $1${sql}${cursorSql}
      ORDER BY created_at DESC, id DESC LIMIT $${all.length}`,
    all,
  );
  return rows;
}

export async function countTickets(db: Queryable, listingId: string, filter: TicketFilter): Promise<number> {
  const { sql, params } = filterClause(filter);
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM tickets WHERE listing_id = $1${sql}`,
    [listingId, ...params],
  );
  return rows[0]?.n ?? 0;
}

export async function countByStatus(db: Queryable, listingId: string, filter: TicketFilter): Promise<Counters> {
  const { sql, params } = filterClause(filter);
  const { rows } = await db.query<{ status: TicketStatus; n: number }>(
    `SELECT status, count(*)::int AS n FROM tickets WHERE listing_id = $1${sql} GROUP BY status`,
    [listingId, ...params],
  );
  const counters: Counters = { waiting: 0, assigned: 0, resolved: 0, abandoned: 0, open: 0, total: 0 };
  for (const row of rows) counters[row.status] = row.n;
  counters.open = counters.waiting + counters.assigned;
  counters.total = counters.open + counters.resolved + counters.abandoned;
  return counters;
}
