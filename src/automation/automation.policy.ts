import { isBusinessOpen, nextOpening, type BusinessCalendar } from '../schedule/index.ts';
import type { TicketStatus } from '../tickets/index.ts';
import type { TriggeredMessage } from './automation.schemas.ts';

/**
 * Which automated messages a ticket should get now, and when to look again: a pure function of
 * the ticket, the listing's configuration and the moment, so every rule is testable without a
 * clock or a database. The engine re-reads all of it at run time and applies the answer under
 * the ticket's row lock.
 */
export interface TicketFacts {
  status: TicketStatus;
  createdAt: Date;
  /** Start of the current unassigned wait: creation, or the last release back to the queue. */
  waitingSince: Date;
  /** Keys already sent or superseded in this ticket. */
  done: ReadonlySet<string>;
}

export interface Situation {
  now: Date;
  calendar: BusinessCalendar;
  onlineCsrs: number;
  /** How soon to look again while the offline message holds inactivity back. */
  presenceRecheckMs: number;
}

export interface Decision {
  send: TriggeredMessage[];
  /** Inactivity messages that fell due together with a later one: skipped, never sent. */
  supersede: string[];
  nextCheckAt: Date | null;
}

const MINUTE_MS = 60_000;
const nothing: Decision = { send: [], supersede: [], nextCheckAt: null };

export function decide(messages: readonly TriggeredMessage[], ticket: TicketFacts, situation: Situation): Decision {
  if (ticket.status !== 'waiting' && ticket.status !== 'assigned') return nothing;
  const { now, calendar, onlineCsrs } = situation;
  const { schedule, holidays } = calendar;
  const open = isBusinessOpen(schedule, holidays, now);
  const pending = (kind: TriggeredMessage['kind']) => messages.filter((message) => message.kind === kind && !ticket.done.has(message.key));
  const send: TriggeredMessage[] = [];
  const supersede: string[] = [];

  // After hours: the ticket began while closed, and that closed spell has not ended yet (a
  // sweep running late must not tell a customer "we are closed" once they are open again).
  const [afterHours] = pending('after_hours');
  if (afterHours && !isBusinessOpen(schedule, holidays, ticket.createdAt)) {
    const reopened = nextOpening(schedule, holidays, ticket.createdAt);
    if (reopened === null || reopened > now) send.push(afterHours);
  }
  if (ticket.status !== 'waiting') return { send, supersede, nextCheckAt: null };

  const offline = messages.find((message) => message.kind === 'offline');
  let offlineSent = offline !== undefined && ticket.done.has(offline.key);
  if (offline && !offlineSent && open && onlineCsrs === 0) {
    send.push(offline);
    offlineSent = true;
  }
  const offlineHolds = offlineSent && onlineCsrs === 0;

  const dueAt = (message: TriggeredMessage) => ticket.waitingSince.getTime() + (message.afterMinutes ?? 0) * MINUTE_MS;
  const inactivity = pending('inactivity').sort((a, b) => dueAt(a) - dueAt(b));
  const due = inactivity.filter((message) => dueAt(message) <= now.getTime());
  let later = inactivity;
  if (due.length > 0 && open && !offlineHolds) {
    // Several thresholds can pass while closed or offline; one "thanks for waiting" is enough.
    const latest = due.at(-1)!;
    send.push(latest);
    supersede.push(...due.slice(0, -1).map((message) => message.key));
    later = inactivity.filter((message) => dueAt(message) > now.getTime());
  }

  let nextCheckAt: Date | null = null;
  if (later.length > 0 || (offline && !offlineSent)) {
    // The earliest moment anything could change: business hours begin, a CSR might be back,
    // or the next inactivity threshold passes, whichever constraint binds last.
    let gate: number | null;
    if (!open) gate = nextOpening(schedule, holidays, now)?.getTime() ?? null;
    else if (offlineHolds) gate = now.getTime() + situation.presenceRecheckMs;
    else gate = later.length > 0 ? now.getTime() : null;
    // While open with a CSR online, a pending offline message waits for a presence change,
    // which the engine hears as an event: no timer for it.
    if (gate !== null) {
      const threshold = later.length > 0 ? dueAt(later[0]!) : gate;
      nextCheckAt = new Date(Math.max(gate, threshold));
    }
  }
  return { send, supersede, nextCheckAt };
}
