import { EventNames, appendEvent, type Actor, type StoredEvent } from '../events/index.ts';
import type { JobProducer } from '../jobs/index.ts';
import { newId, systemClock, type Clock, type Database } from '../platform/index.ts';
import { countOnlineCsrs, loadCalendar } from '../schedule/index.ts';
import type { TriggeredMessage } from './automation.schemas.ts';
import { decide } from './automation.policy.ts';
import {
  claimSend,
  findDueTickets,
  findTicketFacts,
  insertSystemMessage,
  lastReleasedAt,
  listDoneKeys,
  listTriggeredMessages,
  listWaitingTickets,
  lockTicketStatus,
  recordCheck,
} from './automation.store.ts';

/** Who automation acts as in the outbox; the loop guard below recognises its own events by it. */
export const AUTOMATION_ACTOR: Actor = Object.freeze({ role: 'automation' });

export const producedByAutomation = (event: Pick<StoredEvent, 'actor'>): boolean => event.actor?.role === AUTOMATION_ACTOR.role;

export interface AutomationEngineDeps {
  db: Database;
  /** Where follow-up checks go: BullMQ with Redis, timers embedded. */
  jobs: Pick<JobProducer, 'enqueue'>;
  clock?: Clock;
  /** How often to re-look at a ticket while the offline message holds inactivity back. */
  presenceRecheckMs?: number;
  /** Tickets per sweep run. */
  sweepBatchSize?: number;
}

export interface CheckResult {
  sent: string[];
  nextCheckAt: Date | null;
}

/** Events after which some ticket may owe a message sooner (or later) than planned. */
const listingWide = new Set<string>([
  EventNames.csrCreated,
  EventNames.csrPresenceChanged,
  EventNames.listingScheduleUpdated,
  EventNames.listingHolidayAdded,
  EventNames.listingHolidayRemoved,
  EventNames.automatedMessagesUpdated,
]);
const perTicket = new Set<string>([EventNames.ticketCreated, EventNames.ticketReleased]);

/**
 * Sends a listing's inactivity, offline and after-hours messages into tickets. Every entry point
 * (a delayed job, the sweep, an event) ends in `checkTicket`, which re-reads the ticket, the
 * configuration, the calendar and CSR presence, decides, and sends under the ticket's lock with a
 * unique claim per message: running it twice, late or concurrently sends nothing twice.
 */
export function createAutomationEngine({ db, jobs, clock = systemClock, presenceRecheckMs = 60_000, sweepBatchSize = 500 }: AutomationEngineDeps) {
  async function send(listingId: string, ticketId: string, message: TriggeredMessage, supersede: readonly string[]): Promise<boolean> {
    return db.transaction(async (tx) => {
      const status = await lockTicketStatus(tx, listingId, ticketId);
      // Re-checked under the lock: a CSR may have pulled the ticket since the decision.
      const applies = message.kind === 'after_hours' ? status === 'waiting' || status === 'assigned' : status === 'waiting';
      if (!applies) return false;
      const messageId = newId();
      if (!(await claimSend(tx, { listingId, ticketId, key: message.key, outcome: 'sent', messageId }))) return false;
      for (const key of supersede) await claimSend(tx, { listingId, ticketId, key, outcome: 'superseded', messageId: null });
      const posted = await insertSystemMessage(tx, { id: messageId, listingId, ticketId, key: message.key, kind: message.kind, text: message.text }, AUTOMATION_ACTOR);
      await appendEvent(tx, {
        listingId,
        name: EventNames.automatedMessageSent,
        aggregateType: 'ticket',
        aggregateId: ticketId,
        payload: { key: message.key, kind: message.kind, afterMinutes: message.afterMinutes, messageId: posted.id, seq: posted.seq, superseded: [...supersede] },
        actor: AUTOMATION_ACTOR,
      });
      return true;
    });
  }

  async function checkTicket(listingId: string, ticketId: string): Promise<CheckResult> {
    const now = clock.now();
    // Most listings have no automated messages: one read and done. Nothing is recorded for them,
    // since the safety-net sweep (findDueTickets) only looks at listings that have some, and
    // configuring some triggers a listing-wide sweep. Recording a check per new ticket cost a
    // commit each, contending with ticket creation for WAL flushes.
    const configured = await listTriggeredMessages(db, listingId);
    if (configured.length === 0) return { sent: [], nextCheckAt: null };
    const ticket = await findTicketFacts(db, listingId, ticketId);
    if (!ticket) return { sent: [], nextCheckAt: null };
    const messages = ticket.status === 'waiting' || ticket.status === 'assigned' ? configured : [];
    const calendar = messages.length > 0 ? await loadCalendar(db, listingId, ticket.created_at < now ? ticket.created_at : now) : undefined;
    if (!calendar) {
      await recordCheck(db, listingId, ticketId, null);
      return { sent: [], nextCheckAt: null };
    }
    const waitingSince = ticket.status === 'waiting' && ticket.first_assigned_at !== null ? ((await lastReleasedAt(db, listingId, ticketId)) ?? ticket.created_at) : ticket.created_at;
    const decision = decide(
      messages,
      { status: ticket.status, createdAt: ticket.created_at, waitingSince, done: await listDoneKeys(db, listingId, ticketId) },
      { now, calendar, onlineCsrs: await countOnlineCsrs(db, listingId), presenceRecheckMs },
    );
    const sent: string[] = [];
    for (const message of decision.send) {
      const supersede = message.kind === 'inactivity' ? decision.supersede : [];
      if (await send(listingId, ticketId, message, supersede)) sent.push(message.key);
    }
    await recordCheck(db, listingId, ticketId, decision.nextCheckAt);
    if (decision.nextCheckAt) {
      const at = decision.nextCheckAt.getTime();
      // The id dedupes: several runs planning the same follow-up leave one job.
      await jobs.enqueue('automated.check-ticket', { listingId, ticketId }, { delayMs: Math.max(0, at - now.getTime()), jobId: `automated-check-${ticketId}-${at}` });
    }
    return { sent, nextCheckAt: decision.nextCheckAt };
  }

  /** Checks each ticket; one failing ticket does not stop the rest, but fails the run after. */
  async function checkAll(tickets: ReadonlyArray<{ listingId: string; ticketId: string }>): Promise<{ checked: number; sent: number }> {
    let sent = 0;
    const failures: unknown[] = [];
    for (const { listingId, ticketId } of tickets) {
      try {
        sent += (await checkTicket(listingId, ticketId)).sent.length;
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} of ${tickets.length} automation checks failed`);
    return { checked: tickets.length, sent };
  }

  return {
    checkTicket,

    /**
     * Without a listing: the tickets that are due, across listings (the repeating safety net).
     * With one: every waiting ticket of that listing, after something listing-wide changed.
     */
    async sweep({ listingId, batchSize = sweepBatchSize }: { listingId?: string | undefined; batchSize?: number | undefined } = {}) {
      if (!listingId) return checkAll(await findDueTickets(db, clock.now(), batchSize));
      const total = { checked: 0, sent: 0 };
      if ((await listTriggeredMessages(db, listingId)).length === 0) return total;
      let after: string | null = null;
      for (;;) {
        const ids = await listWaitingTickets(db, listingId, after, batchSize);
        const result = await checkAll(ids.map((ticketId) => ({ listingId, ticketId })));
        total.checked += result.checked;
        total.sent += result.sent;
        if (ids.length < batchSize) return total;
        after = ids.at(-1)!;
      }
    },

    /**
     * Reacts to relayed outbox events by scheduling checks. Events automation wrote itself are
     * skipped (loop guard): its own messages must never trigger more automation.
     */
    async publish(events: readonly StoredEvent[]): Promise<void> {
      for (const event of events) {
        if (producedByAutomation(event)) continue;
        const jobId = `automated-event-${event.id}`;
        if (perTicket.has(event.name)) {
          await jobs.enqueue('automated.check-ticket', { listingId: event.listingId, ticketId: event.aggregateId }, { jobId });
        } else if (listingWide.has(event.name)) {
          await jobs.enqueue('automated.sweep', { listingId: event.listingId }, { jobId });
        }
      }
    },
  };
}

export type AutomationEngine = ReturnType<typeof createAutomationEngine>;
