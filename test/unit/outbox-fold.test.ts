import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/events/index.ts';
import { wellFormedJson } from '../../src/ingest/ingest.store.ts';
import { foldEvents, pseudonymize, type InteractionRecord } from '../../src/ingest/index.ts';

const LISTING = 'acme';
const CSR = '0190f5d2-5b1e-7c3a-8d4e-111111111111';
let nextId = 1;
const event = (name: string, payload: Record<string, unknown>, at: string): StoredEvent =>
  ({ id: nextId++, listingId: LISTING, name, aggregateType: 'ticket', aggregateId: 't1', payload, actor: {}, createdAt: new Date(at) }) as StoredEvent;
const message = (id: string, senderRole: string, text: string, at: string, extra: Record<string, unknown> = {}) =>
  event('message.created', { messageId: id, senderRole, kind: 'text', channel: 'chat', text, content: {}, createdAt: at, ...extra }, at);

describe('folding outbox events into a conversation (the live source)', () => {
  it('builds the lifecycle, redacts the new pieces and numbers events after the stored messages', () => {
    const events = [
      event('ticket.created', { customerId: 'jane@example.com', source: { channel: 'app', app: 'ios' } }, '2026-11-22T10:00:00.000Z'),
      message('m1', 'customer', 'Order late, call me on +1 415 555 0134', '2026-11-22T10:00:05.000Z'),
      event('ticket.assigned', { csrId: CSR, via: 'pull' }, '2026-11-22T10:01:00.000Z'),
      message('m2', 'csr', 'Checking order 4521 now', '2026-11-22T10:02:00.000Z', { csrId: CSR }),
      event('ticket.ended', { outcome: 'resolved' }, '2026-11-22T10:05:00.000Z'),
      event('ticket.rated', { rating: 5, csrId: CSR }, '2026-11-22T10:06:00.000Z'),
    ];
    const record = foldEvents({ id: 't1', messages: [], events: [] }, events, LISTING, 3);

    expect(record).toMatchObject({
      customerId: pseudonymize('jane@example.com', LISTING),
      source: { channel: 'app', app: 'ios' },
      createdAt: '2026-11-22T10:00:00.000Z',
      firstAssignedAt: '2026-11-22T10:01:00.000Z',
      firstCsrReplyAt: '2026-11-22T10:02:00.000Z',
      endedAt: '2026-11-22T10:05:00.000Z',
      status: 'resolved',
      csrIds: [CSR],
      outcome: { resolved: true, abandoned: false, satisfaction: 5 },
    });
    expect(record.customerId).toMatch(/^pii:/);
    expect(record.messages.map((m) => [m.id, m.role, m.text, m.csrId])).toEqual([
      ['m1', 'customer', 'Order late, call me on [phone]', undefined],
      ['m2', 'csr', 'Checking order 4521 now', CSR],
    ]);
    // Three messages were stored before this batch: the assignment follows the 4th, the rating the 5th.
    expect(record.events).toEqual([
      { type: 'assigned', ts: '2026-11-22T10:01:00.000Z', seq: 4, csrId: CSR, data: { via: 'pull' } },
      { type: 'rated', ts: '2026-11-22T10:06:00.000Z', seq: 5, csrId: CSR, data: { rating: 5 } },
    ]);
  });

  it('keeps raw text for a listing without redaction', () => {
    const record = foldEvents({ id: 't1', messages: [] }, [message('m1', 'customer', 'mail jane@example.com', '2026-11-22T10:00:00.000Z')], undefined);
    expect(record.messages[0]!.text).toBe('mail jane@example.com');
  });

  it('replaces a message delivered twice instead of appending it again', () => {
    const record = foldEvents(
      { id: 't1', messages: [] },
      [
        message('m1', 'customer', 'first', '2026-11-22T10:00:00.000Z'),
        message('m2', 'customer', 'second', '2026-11-22T10:00:01.000Z'),
        message('m1', 'customer', 'first, edited', '2026-11-22T10:00:00.000Z'),
      ],
      LISTING,
    );
    expect(record.messages.map((m) => m.text)).toEqual(['first, edited', 'second']);
  });

  it('returns a new record and leaves the stored one as it was', () => {
    const stored: InteractionRecord = { id: 't1', status: 'assigned', messages: [], events: [{ type: 'assigned', ts: '2026-11-22T09:00:00.000Z' }] };
    const before = structuredClone(stored);
    const record = foldEvents(stored, [message('m1', 'customer', 'hi', '2026-11-22T10:00:00.000Z'), event('ticket.released', {}, '2026-11-22T10:00:02.000Z')], LISTING);
    expect(stored).toEqual(before);
    expect(record.status).toBe('waiting');
    expect(record.events).toHaveLength(2);
  });
});

describe('JSON for DuckDB (wellFormedJson)', () => {
  const roundTrip = (text: string) => JSON.parse(wellFormedJson(JSON.stringify([text])))[0] as string;

  it('turns lone surrogates into U+FFFD, as any conversion to UTF-8 does', () => {
    expect(roundTrip('a\ud800b')).toBe('a\ufffdb');
    expect(roundTrip('\udfff\ud800')).toBe('\ufffd\ufffd');
    expect(roundTrip('x\\\ud800')).toBe('x\\\ufffd');
  });

  it('leaves surrogate pairs and escaped backslashes that merely look like escapes alone', () => {
    expect(roundTrip('😀')).toBe('😀');
    expect(roundTrip('\\ud800')).toBe('\\ud800');
    expect(roundTrip('plain')).toBe('plain');
  });
});
