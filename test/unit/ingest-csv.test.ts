import { describe, expect, it } from 'vitest';
import { formatCsvRow, normalizeTimestamp, readCsvRecords, splitCsvFields } from '../../src/ingest/index.ts';

async function* chunked(text: string, size: number) {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

describe('CSV (RFC 4180)', () => {
  it('splits fields: quotes, doubled quotes, empty vs absent, trailing empty field', () => {
    expect(splitCsvFields('a,"b, c","say ""hi""",,""')).toEqual({ ok: true, fields: ['a', 'b, c', 'say "hi"', null, ''] });
    expect(splitCsvFields('a,')).toEqual({ ok: true, fields: ['a', null] });
    expect(splitCsvFields('')).toEqual({ ok: true, fields: [null] });
    expect(splitCsvFields('"open')).toMatchObject({ ok: false, detail: expect.stringMatching(/unterminated/) });
    expect(splitCsvFields('"a"b')).toMatchObject({ ok: false, detail: expect.stringMatching(/after a closing quote/) });
    expect(splitCsvFields('a"b')).toMatchObject({ ok: false, detail: expect.stringMatching(/unquoted field/) });
  });

  it('formats what it splits', () => {
    const fields = ['plain', 'with, comma', 'line\nbreak', 'quote "q"', '', ' padded', undefined];
    const line = formatCsvRow(fields);
    expect(line).toBe('plain,"with, comma","line\nbreak","quote ""q""",""," padded",');
    expect(splitCsvFields(line)).toEqual({ ok: true, fields: fields.map((field) => field ?? null) });
  });

  it('cuts records at line breaks outside quotes, across chunk boundaries, with lines and offsets', async () => {
    const text = 'h1,h2\r\n"a\nb",1\nc,"x""\ny"\nlast,2';
    for (const size of [1, 3, 1024]) {
      const records = [];
      for await (const record of readCsvRecords(chunked(text, size), { maxBytes: 1000 })) records.push(record);
      expect(records.map((record) => [record.bytes.toString(), record.line, record.offset, record.truncated])).toEqual([
        ['h1,h2', 1, 0, false],
        ['"a\nb",1', 2, 7, false],
        ['c,"x""\ny"', 4, 15, false],
        ['last,2', 6, 25, false],
      ]);
    }
    const open = [];
    for await (const record of readCsvRecords(chunked('a,"never closed\nmore', 4), { maxBytes: 1000 })) open.push(record);
    expect(open).toHaveLength(1);
    expect(open[0]!.truncated).toBe(true);
  });

  it('accepts SQL-style timestamps', () => {
    expect(normalizeTimestamp('2024-01-05 10:00:00+00')).toBe('2024-01-05T10:00:00+00:00');
    expect(normalizeTimestamp('2024-01-05 10:00:00.123456+0530')).toBe('2024-01-05T10:00:00.123456+05:30');
    expect(normalizeTimestamp('2024-01-05T10:00:00Z')).toBe('2024-01-05T10:00:00Z');
    expect(normalizeTimestamp('yesterday')).toBe('yesterday');
  });
});
