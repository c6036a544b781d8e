import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FormatProblem, interactionJsonSchema, readJsonArray, readLines, safeExcerpt, emptyRedactionCounts, validateInteraction } from '../../src/ingest/index.ts';

const now = new Date('2026-01-01T00:00:00Z');
const check = (value: unknown, listingId = 'acme') => validateInteraction(value, { listingId, now });

describe('schemas/interaction.schema.json', () => {
  it('matches the zod schema (run `npm run schemas` after changing it)', async () => {
    const committed = JSON.parse(await readFile(new URL('../../schemas/interaction.schema.json', import.meta.url), 'utf8'));
    expect(JSON.parse(JSON.stringify(interactionJsonSchema()))).toEqual(committed);
  });
});

describe('interaction validation', () => {
  const minimal = { id: 'c-1', messages: [{ role: 'customer', text: 'hello' }] };

  it('accepts a minimal record and fills defaults', () => {
    const result = check(minimal);
    expect(result.ok && result.record.messages[0]!.kind).toBe('text');
  });

  it('accepts a full record', () => {
    const result = check({
      id: 'c-2',
      listingId: 'acme',
      customerId: 'cust-9',
      csrIds: ['csr-1'],
      externalIds: { crm: '42' },
      brand: 'Acme',
      queue: 'billing',
      source: { channel: 'ivr', app: 'phone-tree' },
      createdAt: '2025-03-01T09:00:00Z',
      firstAssignedAt: '2025-03-01T09:01:00Z',
      firstCsrReplyAt: '2025-03-01T09:02:00+00:00',
      endedAt: '2025-03-01T09:20:00Z',
      status: 'resolved',
      outcome: { resolved: true, satisfaction: 5, converted: true, conversion: 'payment_completed', labels: { nps: 9, vip: true } },
      messages: [
        { role: 'system', text: 'Welcome', ts: '2025-03-01T09:00:00Z', channel: 'sms' },
        { role: 'customer', kind: 'voice', transcript: 'I want to pay', attachment: { mimeType: 'audio/ogg', durationSeconds: 4 }, ts: '2025-03-01T09:00:30Z', labels: { satisfaction: 3 } },
        { role: 'csr', csrId: 'csr-1', kind: 'payment_request', meta: { amount: '19.99', currency: 'EUR' }, ts: '2025-03-01T09:05:00Z', channel: 'chat' },
      ],
      events: [
        { type: 'channel_changed', from: 'ivr', to: 'sms', ts: '2025-03-01T09:00:10Z', seq: 1 },
        { type: 'payment_completed', ts: '2025-03-01T09:10:00Z', seq: 3, data: { amount: '19.99' } },
      ],
    });
    expect(result.ok ? 'ok' : result.detail).toBe('ok');
  });

  it('rejects schema violations with the path', () => {
    const result = check({ id: 'c-3', messages: [{ role: 'customer' }], extra: 1 });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_record' });
    expect(result.ok ? '' : result.detail).toMatch(/messages\.0\.text: a text message needs text/);
    expect(check({ id: 'c', messages: [], outcome: { satisfaction: 6 } })).toMatchObject({ ok: false, reason: 'invalid_record' });
    expect(check({ id: 'c', messages: [], createdAt: '2025-03-01 09:00' })).toMatchObject({ ok: false, reason: 'invalid_record' });
    expect(check({ id: 'c', messages: [{ role: 'csr', text: 'x' }], events: [{ type: 'rated', seq: 2 }] })).toMatchObject({ ok: false, reason: 'invalid_record' });
  });

  it('rejects another listing’s record', () => {
    expect(check({ ...minimal, listingId: 'globex' })).toMatchObject({ ok: false, reason: 'wrong_listing' });
  });

  it('rejects impossible timestamps', () => {
    const base = { id: 'c', createdAt: '2025-03-01T09:00:00Z', messages: [] };
    for (const record of [
      { ...base, createdAt: '1970-01-01T00:00:00Z' },
      { ...base, endedAt: '2027-01-01T00:00:00Z' },
      { ...base, endedAt: '2025-03-01T08:00:00Z' },
      { ...base, messages: [{ role: 'customer', text: 'x', ts: '2025-02-28T09:00:00Z' }] },
      { ...base, endedAt: '2025-03-01T09:10:00Z', messages: [{ role: 'customer', text: 'x', ts: '2025-03-01T10:00:00Z' }] },
    ]) {
      expect(check(record)).toMatchObject({ ok: false, reason: 'impossible_timestamp' });
    }
    // A few minutes of clock skew between channels is not impossible.
    expect(check({ ...base, messages: [{ role: 'customer', text: 'x', ts: '2025-03-01T08:58:00Z' }] }).ok).toBe(true);
  });
});

async function* chunks(text: string | Buffer, size = 5): AsyncGenerator<Buffer> {
  const buffer = typeof text === 'string' ? Buffer.from(text) : text;
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('record readers', () => {
  it('splits lines across chunk boundaries with offsets, resuming where asked', async () => {
    const lines = await all(readLines(chunks('ab\r\ncdef\n\ng'), { maxBytes: 100 }));
    expect(lines.map((line) => [line.bytes.toString(), line.line, line.offset, line.end, line.truncated])).toEqual([
      ['ab', 1, 0, 4, false],
      ['cdef', 2, 4, 9, false],
      ['', 3, 9, 10, false],
      ['g', 4, 10, 11, false],
    ]);
    const failed = await all(readLines(chunks('ab\ncd'), { maxBytes: 100, failed: () => new Error('gzip') }));
    expect(failed[1]).toMatchObject({ truncated: true });
  });

  it('skips past an oversize line keeping only an excerpt', async () => {
    const lines = await all(readLines(chunks(`${'x'.repeat(10_000)}\nok\n`, 999), { maxBytes: 100 }));
    expect(lines[0]).toMatchObject({ oversize: true, size: 10_000, offset: 0, end: 10_001 });
    expect(lines[0]!.bytes.length).toBe(2048);
    expect(lines[1]!.bytes.toString()).toBe('ok');
  });

  it('splits a JSON array into elements, strings and nesting included', async () => {
    const text = '[\n {"a": "x]}\\"{"}, [1, [2]],\n "s", 3 , {"b": {"c": []}}\n]\n';
    const elements = await all(readJsonArray(chunks(text, 3), { maxBytes: 1000 }));
    expect(elements.map((element) => element.bytes.toString())).toEqual(['{"a": "x]}\\"{"}', '[1, [2]]', '"s"', '3', '{"b": {"c": []}}']);
    expect(elements.map((element) => element.line)).toEqual([2, 2, 3, 3, 3]);
    for (const element of elements) expect(JSON.parse(element.bytes.toString())).toBeDefined();
  });

  it('reports a cut-off array and refuses what is not an array', async () => {
    const cut = await all(readJsonArray(chunks('[{"a":1},{"b":'), { maxBytes: 1000 }));
    expect(cut.map((element) => element.truncated)).toEqual([false, true]);
    const unclosed = await all(readJsonArray(chunks('[{"a":1},'), { maxBytes: 1000 }));
    expect(unclosed.map((element) => element.truncated)).toEqual([false, true]);
    await expect(all(readJsonArray(chunks('{"a":1}'), { maxBytes: 1000 }))).rejects.toBeInstanceOf(FormatProblem);
    await expect(all(readJsonArray(chunks('[1] [2]'), { maxBytes: 1000 }))).rejects.toThrow(/after the end/);
  });
});

describe('quarantine excerpts', () => {
  it('are redacted and never end in half an e-mail address', () => {
    const counts = emptyRedactionCounts();
    expect(safeExcerpt('write to jane@example.com please', true, counts)).toBe('write to [email] please');
    expect(safeExcerpt('write to jane@exam', true, counts, true)).toBe('write to');
    const long = `${'word '.repeat(300)}jane.doe@example.com`;
    expect(safeExcerpt(long, true, counts).length).toBeLessThanOrEqual(1001);
    expect(safeExcerpt(`${'a'.repeat(995)} jane.doe@example.com`, true, counts)).not.toMatch(/jane/);
    expect(safeExcerpt('raw jane@example.com', false, counts)).toBe('raw jane@example.com');
  });
});
