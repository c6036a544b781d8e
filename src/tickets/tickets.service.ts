import type { Principal } from '../auth/index.ts';
import { resolveCustomer } from '../customers/index.ts';
import { appendEvent, EventNames, type Actor } from '../events/index.ts';
import { AppError, newId, type Clock, type Database, type Queryable } from '../platform/index.ts';
import { findStickyCsr } from '../routing/index.ts';
import {
  createTicketBody,
  type Counters,
  type CreateTicketInput,
  type ListTicketsQuery,
  type TicketFilter,
  type TicketView,
} from './tickets.schemas.ts';
import {
  countActive,
  countByStatus,
  countTickets,
  findOpenTicketOfCustomer,
  findTicket,
  insertTicket,
  listTickets,
  lockNextWaiting,
  markAssigned,
  markEnded,
  markRated,
  markReleased,
  toTicketView,
  type Cursor,
  type TicketRow,
} from './tickets.store.ts';

export interface TicketServiceDeps {
  db: Database;
  clock: Clock;
}

const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, role: principal.role, csrId: principal.csrId });

const encodeCursor = (row: TicketRow): string =>
  Buffer.from(JSON.stringify({ createdAt: row.created_at.toISOString(), id: row.id } satisfies Cursor)).toString('base64url');

function decodeCursor(cursor: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof value.createdAt === 'string' && typeof value.id === 'string' && !Number.isNaN(Date.parse(value.createdAt))) {
      return { createdAt: value.createdAt, id: value.id };
    }
  } catch {
    // fall through to the typed error
  }
  throw new AppError('validation_failed', 'cursor is not a cursor this API returned');
}

const isOpen = (row: TicketRow) => row.status === 'waiting' || row.status === 'assigned';

interface CsrLoad {
  presence: string;
  capacity: number;
  skills: string[];
}

async function lockCsr(tx: Queryable, listingId: string, csrId: string): Promise<CsrLoad> {
  const { rows } = await tx.query<CsrLoad>(
    'SELECT presence, capacity, skills FROM csrs WHERE listing_id = $1 AND id = $2 FOR UPDATE',
    [listingId, csrId],
  );
  if (!rows[0]) throw new AppError('not_found', `CSR ${csrId} not found`);
  return rows[0];
}

async function ensureCanTakeMore(tx: Queryable, listingId: string, csrId: string, csr: CsrLoad) {
  if (csr.presence === 'offline') throw new AppError('csr_offline', 'The CSR is offline; set presence to online first');
  const active = await countActive(tx, listingId, csrId);
  if (active >= csr.capacity) {
    throw new AppError('csr_at_capacity', `The CSR holds ${active} of ${csr.capacity} tickets`, { active, capacity: csr.capacity });
  }
}

export function createTicketService({ db, clock }: TicketServiceDeps) {
  async function loadOpen(tx: Queryable, listingId: string, id: string): Promise<TicketRow> {
    const row = await findTicket(tx, listingId, id, { forUpdate: true });
    if (!row) throw new AppError('not_found', `Ticket ${id} not found`);
    if (!isOpen(row)) throw new AppError('ticket_closed', `Ticket ${row.ref} has ended (${row.status})`);
    return row;
  }

  return {
    /**
     * Creates a ticket, or returns the customer's open ticket with this listing (`created: false`).
     * A returning customer is routed to their previous CSR when that CSR can take it.
     */
    async create(listingId: string, rawInput: CreateTicketInput, principal: Principal): Promise<{ ticket: TicketView; created: boolean }> {
      const input = createTicketBody.parse(rawInput);
      const actor = actorOf(principal);
      return db.transaction(async (tx) => {
        let customerId: string;
        let newCustomer = false;
        if (input.customerId) {
          const { rowCount } = await tx.query('SELECT 1 FROM customers WHERE listing_id = $1 AND id = $2', [listingId, input.customerId]);
          if (rowCount === 0) throw new AppError('not_found', `Customer ${input.customerId} not found`);
          customerId = input.customerId;
        } else {
          ({ customerId, created: newCustomer } = await resolveCustomer(tx, listingId, input.customer!, actor));
        }
        // A customer created just now has no tickets and is invisible to other transactions until
        // this one commits (a second first contact waits on the identity lock, then finds it): three
        // round trips fewer for every first contact.
        let stickyCsr: string | undefined;
        if (!newCustomer) {
          // Two simultaneous first messages from one customer must yield one ticket, not a
          // unique-index failure: serialise creates per customer.
          await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${listingId}:customer:${customerId}`], { prepare: 'locks.advisory' });
          const open = await findOpenTicketOfCustomer(tx, listingId, customerId);
          if (open) return { ticket: toTicketView(open), created: false };
          stickyCsr = await findStickyCsr(tx, listingId, customerId, input.requiredSkills);
        }
        // Last before commit: a returning customer's re-post above takes no number.
        const row = await insertTicket(
          tx,
          {
            id: newId(),
            listingId,
            customerId,
            csrId: stickyCsr ?? null,
            status: stickyCsr ? 'assigned' : 'waiting',
            sourceApp: input.source.app,
            sourceChannel: input.source.channel,
            subject: input.subject ?? null,
            requiredSkills: input.requiredSkills,
            priority: input.priority,
            queueKey: clock.now().getTime(),
            metadata: input.metadata,
          },
          actor,
        );
        if (!row) throw new AppError('not_found', `Listing ${listingId} not found`);
        return { ticket: toTicketView(row), created: true };
      });
    },

    async get(listingId: string, id: string): Promise<TicketView> {
      const row = await findTicket(db, listingId, id);
      if (!row) throw new AppError('not_found', `Ticket ${id} not found`);
      return toTicketView(row);
    },

    async list(listingId: string, query: ListTicketsQuery): Promise<{ items: TicketView[]; nextCursor: string | null }> {
      const { limit, cursor, ...filter } = query;
      const rows = await listTickets(db, listingId, filter, {
        limit: limit + 1,
        ...(cursor ? { after: decodeCursor(cursor) } : {}),
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map(toTicketView), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
    },

    count: (listingId: string, filter: TicketFilter): Promise<number> => countTickets(db, listingId, filter),

    counters: (listingId: string, filter: TicketFilter): Promise<Counters> => countByStatus(db, listingId, filter),

    async current(listingId: string, csrId: string): Promise<TicketView[]> {
      const rows = await listTickets(db, listingId, { csrId, status: ['assigned'] }, { limit: 1000 });
      return rows.map(toTicketView);
    },

    async inThread(listingId: string, query: { customerId?: string; ticketId?: string; limit: number }): Promise<TicketView[]> {
      let customerId = query.customerId;
      if (query.ticketId) {
        const ticket = await findTicket(db, listingId, query.ticketId);
        if (!ticket) throw new AppError('not_found', `Ticket ${query.ticketId} not found`);
        customerId = ticket.customer_id;
      }
      const rows = await listTickets(db, listingId, { customerId: customerId! }, { limit: query.limit });
      return rows.map(toTicketView);
    },

    /** Atomically takes the next waiting ticket the calling CSR can serve. */
    async pull(listingId: string, csrId: string, principal: Principal): Promise<TicketView> {
      return db.transaction(async (tx) => {
        const csr = await lockCsr(tx, listingId, csrId);
        await ensureCanTakeMore(tx, listingId, csrId, csr);
        const ticketId = await lockNextWaiting(tx, listingId, csr.skills);
        if (!ticketId) throw new AppError('queue_empty', 'No waiting ticket matches this CSR');
        const row = await markAssigned(tx, listingId, ticketId, csrId);
        await appendEvent(tx, {
          listingId,
          name: EventNames.ticketAssigned,
          aggregateType: 'ticket',
          aggregateId: ticketId,
          payload: { csrId, previousCsrId: null, via: 'pull' },
          actor: actorOf(principal),
        });
        return toTicketView(row);
      });
    },

    /**
     * First assignment or forward. A CSR may claim a waiting ticket for themselves or forward a
     * ticket they hold; managers may assign any open ticket (and `force` past capacity/presence).
     * Assigning to the CSR who already holds it returns the ticket unchanged.
     */
    async assign(listingId: string, id: string, input: { csrId: string; force: boolean }, principal: Principal): Promise<TicketView> {
      return db.transaction(async (tx) => {
        const row = await loadOpen(tx, listingId, id);
        if (row.csr_id === input.csrId) return toTicketView(row);
        if (principal.role === 'csr') {
          const claimsWaiting = row.status === 'waiting' && input.csrId === principal.csrId;
          const forwardsOwn = row.status === 'assigned' && row.csr_id === principal.csrId;
          if (!claimsWaiting && !forwardsOwn) {
            throw new AppError('ticket_not_held', 'A CSR may claim a waiting ticket for themselves or forward a ticket they hold');
          }
        }
        const csr = await lockCsr(tx, listingId, input.csrId);
        const mayForce = input.force && (principal.role === 'manager' || principal.role === 'admin');
        if (!mayForce) await ensureCanTakeMore(tx, listingId, input.csrId, csr);
        const updated = await markAssigned(tx, listingId, id, input.csrId);
        await appendEvent(tx, {
          listingId,
          name: EventNames.ticketAssigned,
          aggregateType: 'ticket',
          aggregateId: id,
          payload: { csrId: input.csrId, previousCsrId: row.csr_id, via: row.csr_id ? 'forward' : 'assign' },
          actor: actorOf(principal),
        });
        return toTicketView(updated);
      });
    },

    /** Puts an assigned ticket back at the front of the queue. */
    async release(listingId: string, id: string, principal: Principal): Promise<TicketView> {
      return db.transaction(async (tx) => {
        const row = await loadOpen(tx, listingId, id);
        if (row.status !== 'assigned') throw new AppError('invalid_transition', `Ticket ${row.ref} is not assigned`);
        if (principal.role === 'csr' && row.csr_id !== principal.csrId) {
          throw new AppError('ticket_not_held', `Ticket ${row.ref} is held by another CSR`);
        }
        // Negative, newest release smallest: the next pull takes the most recently released ticket.
        const updated = await markReleased(tx, listingId, id, -clock.now().getTime());
        await appendEvent(tx, {
          listingId,
          name: EventNames.ticketReleased,
          aggregateType: 'ticket',
          aggregateId: id,
          payload: { csrId: row.csr_id },
          actor: actorOf(principal),
        });
        return toTicketView(updated);
      });
    },

    async end(listingId: string, id: string, input: { outcome: 'resolved' | 'abandoned'; reason?: string | undefined }, principal: Principal) {
      return db.transaction(async (tx) => {
        const row = await findTicket(tx, listingId, id, { forUpdate: true });
        if (!row) throw new AppError('not_found', `Ticket ${id} not found`);
        if (!isOpen(row)) throw new AppError('invalid_transition', `Ticket ${row.ref} has already ended (${row.status})`);
        if (principal.role === 'csr' && row.csr_id !== principal.csrId) {
          throw new AppError('ticket_not_held', `Ticket ${row.ref} is not held by this CSR`);
        }
        const updated = await markEnded(tx, listingId, id, input.outcome);
        await appendEvent(tx, {
          listingId,
          name: EventNames.ticketEnded,
          aggregateType: 'ticket',
          aggregateId: id,
          payload: { outcome: input.outcome, reason: input.reason ?? null, csrId: row.csr_id, messageCount: row.message_count },
          actor: actorOf(principal),
        });
        return toTicketView(updated);
      });
    },

    async rate(listingId: string, id: string, input: { rating: number; comment?: string | undefined }, principal: Principal) {
      return db.transaction(async (tx) => {
        const row = await findTicket(tx, listingId, id, { forUpdate: true });
        if (!row) throw new AppError('not_found', `Ticket ${id} not found`);
        if (isOpen(row)) throw new AppError('invalid_transition', `Ticket ${row.ref} is still open; rate it after it ends`);
        if (row.rating !== null) throw new AppError('already_rated', `Ticket ${row.ref} was rated ${row.rating}`);
        const updated = await markRated(tx, listingId, id, input.rating, input.comment ?? null);
        await appendEvent(tx, {
          listingId,
          name: EventNames.ticketRated,
          aggregateType: 'ticket',
          aggregateId: id,
          payload: { rating: input.rating, hasComment: Boolean(input.comment), csrId: row.csr_id },
          actor: actorOf(principal),
        });
        return toTicketView(updated);
      });
    },
  };
}

export type TicketService = ReturnType<typeof createTicketService>;
