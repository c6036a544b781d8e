import { describe, expect, it } from 'vitest';
import { decide, type TicketFacts, type TriggeredMessage } from '../../src/automation/index.ts';
import type { BusinessCalendar } from '../../src/schedule/index.ts';

const nineToFive = [{ open: '09:00', close: '17:00' }];
// UTC keeps the arithmetic visible; the zone handling itself is tested in business-hours.test.ts.
const calendar: BusinessCalendar = {
  schedule: { timezone: 'UTC', weekly: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive, sat: [], sun: [] } },
  holidays: [],
};
const messages: TriggeredMessage[] = [
  { key: 'inactivity:5', kind: 'inactivity', afterMinutes: 5, text: 'five' },
  { key: 'inactivity:15', kind: 'inactivity', afterMinutes: 15, text: 'fifteen' },
  { key: 'offline', kind: 'offline', afterMinutes: null, text: 'offline' },
  { key: 'after_hours', kind: 'after_hours', afterMinutes: null, text: 'after hours' },
];
const at = (iso: string) => new Date(iso);
// Tuesday 7 January 2025, 10:00 UTC.
const ticket = (overrides: Partial<TicketFacts> = {}): TicketFacts => ({
  status: 'waiting',
  createdAt: at('2025-01-07T10:00:00Z'),
  waitingSince: at('2025-01-07T10:00:00Z'),
  done: new Set(),
  ...overrides,
});
const situation = (now: string, onlineCsrs = 1) => ({ now: at(now), calendar, onlineCsrs, presenceRecheckMs: 60_000 });
const keys = (decision: ReturnType<typeof decide>) => decision.send.map((message) => message.key);

describe('decide', () => {
  it('waits for the first threshold, then sends it', () => {
    expect(decide(messages, ticket(), situation('2025-01-07T10:01:00Z'))).toEqual({ send: [], supersede: [], nextCheckAt: at('2025-01-07T10:05:00Z') });
    const due = decide(messages, ticket(), situation('2025-01-07T10:05:00Z'));
    expect(keys(due)).toEqual(['inactivity:5']);
    expect(due.nextCheckAt).toEqual(at('2025-01-07T10:15:00Z'));
  });

  it('sends only the latest of several due thresholds and supersedes the rest', () => {
    const decision = decide(messages, ticket(), situation('2025-01-07T10:20:00Z'));
    expect(keys(decision)).toEqual(['inactivity:15']);
    expect(decision.supersede).toEqual(['inactivity:5']);
    expect(decision.nextCheckAt).toBeNull();
  });

  it('sends nothing already done', () => {
    const done = new Set(['inactivity:5', 'inactivity:15']);
    expect(decide(messages, ticket({ done }), situation('2025-01-07T11:00:00Z'))).toEqual({ send: [], supersede: [], nextCheckAt: null });
  });

  it('holds inactivity back while closed, until the later of opening and the threshold', () => {
    // Created 16:58, so after hours does not apply; at 17:10 the 5-minute message is due but closed.
    const late = ticket({ createdAt: at('2025-01-07T16:58:00Z'), waitingSince: at('2025-01-07T16:58:00Z') });
    expect(decide(messages, late, situation('2025-01-07T17:10:00Z'))).toEqual({ send: [], supersede: [], nextCheckAt: at('2025-01-08T09:00:00Z') });
  });

  it('sends offline when open with nobody online, then rechecks presence instead of sending inactivity', () => {
    const first = decide(messages, ticket(), situation('2025-01-07T10:00:10Z', 0));
    expect(keys(first)).toEqual(['offline']);
    expect(first.nextCheckAt).toEqual(at('2025-01-07T10:05:00Z'));
    const held = decide(messages, ticket({ done: new Set(['offline']) }), situation('2025-01-07T10:06:00Z', 0));
    expect(held).toEqual({ send: [], supersede: [], nextCheckAt: at('2025-01-07T10:07:00Z') });
    const back = decide(messages, ticket({ done: new Set(['offline']) }), situation('2025-01-07T10:07:00Z', 1));
    expect(keys(back)).toEqual(['inactivity:5']);
  });

  it('leaves an unsent offline message to presence events while someone is online (no timer)', () => {
    const onlyOffline = messages.filter((message) => message.kind === 'offline');
    expect(decide(onlyOffline, ticket(), situation('2025-01-07T10:30:00Z', 2))).toEqual({ send: [], supersede: [], nextCheckAt: null });
    // Closed: look again when they open, to see whether anyone is online then.
    expect(decide(onlyOffline, ticket(), situation('2025-01-07T18:00:00Z', 2)).nextCheckAt).toEqual(at('2025-01-08T09:00:00Z'));
  });

  it('sends after hours for tickets begun while closed, assigned or not, but not once open again', () => {
    const saturday = { createdAt: at('2025-01-11T10:00:00Z'), waitingSince: at('2025-01-11T10:00:00Z') };
    expect(keys(decide(messages, ticket(saturday), situation('2025-01-11T10:00:05Z', 0)))).toEqual(['after_hours']);
    expect(keys(decide(messages, ticket({ ...saturday, status: 'assigned' }), situation('2025-01-11T10:00:05Z')))).toEqual(['after_hours']);
    expect(keys(decide(messages, ticket(saturday), situation('2025-01-13T09:30:00Z')))).toEqual(['inactivity:15']);
  });

  it('does nothing for ended tickets', () => {
    expect(decide(messages, ticket({ status: 'resolved' }), situation('2025-01-07T11:00:00Z'))).toEqual({ send: [], supersede: [], nextCheckAt: null });
  });
});
