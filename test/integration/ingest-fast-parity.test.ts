import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGenerated } from '../../data/generate/index.ts';
import { pseudonymize, redactText, type IngestOptions, type IngestSummary } from '../../src/ingest/index.ts';
import { createAnalyticsFixture, dumpTables, type AnalyticsFixture } from '../support/analytics.ts';

// The SQL fast path must leave exactly the tables the record-by-record JS path leaves: the same
// rows, content hashes, quarantine rows (reasons, details, excerpts, places) and summaries, on
// ordinary data and on inputs built to catch the two disagreeing.

let dir: string;
const fixtures: AnalyticsFixture[] = [];
beforeAll(async () => {
  const first = await createAnalyticsFixture();
  fixtures.push(first);
  dir = first.dir;
});
afterAll(async () => {
  for (const fixture of fixtures) await fixture.close();
});

const file = (name: string) => path.join(dir, name);

type Options = Omit<IngestOptions, 'listingId' | 'redact' | 'engine'> & Partial<Pick<IngestOptions, 'listingId' | 'redact'>>;

/** Ingests the same input on both engines, each into a fresh database, and compares. */
async function bothEngines(options: Options, runs = 1): Promise<{ sql: IngestSummary; js: IngestSummary; tables: Record<string, string> }> {
  const results: Array<{ summary: IngestSummary; tables: Record<string, string> }> = [];
  for (const engine of ['sql', 'js'] as const) {
    const fixture = await createAnalyticsFixture();
    fixtures.push(fixture);
    let summary!: IngestSummary;
    for (let run = 0; run < runs; run++) summary = await fixture.ingest({ ...options, engine });
    results.push({ summary, tables: await dumpTables(fixture.db) });
  }
  const [sql, js] = results as [{ summary: IngestSummary; tables: Record<string, string> }, { summary: IngestSummary; tables: Record<string, string> }];
  for (const name of Object.keys(js.tables)) expect(JSON.parse(sql.tables[name]!), name).toEqual(JSON.parse(js.tables[name]!));
  const comparable = (summary: IngestSummary) =>
    summary.sources.map(({ seconds: _seconds, engine: _engine, checkedInJs: _checked, ...rest }) => rest);
  expect(comparable(sql.summary)).toEqual(comparable(js.summary));
  return { sql: sql.summary, js: js.summary, tables: js.tables };
}

const message = (text: string, extra: Record<string, unknown> = {}) => ({ role: 'customer', text, ...extra });
const record = (id: string, extra: Record<string, unknown> = {}) => ({ id, messages: [message('hello'), { role: 'csr', text: 'hi there' }], ...extra });

// The redaction unit tests' inputs (test/unit/ingest-redaction.test.ts) and some more.
const PII_TEXTS = [
  'my e-mail address: zekidemir089@gmail.com',
  'report to reportphish@wellsfargo.com.',
  'Mail First.Last+tag@sub.example.co.uk now',
  'https://example.com/unsubscribe?u=jane@example.org',
  '@RockstarSupport why isnt my gta installing?',
  'thanks @user123456789',
  'card 4111 1111 1111 1111 exp 12/29',
  'card 4111-1111-1111-1111',
  'number 4111111111111112',
  'call (977) 625-2661 please',
  'the phone number is 01223 812660.',
  'the phone number is 01223575314, it is',
  'ring +44 1223 812660',
  'or +14155552671',
  '555-123-4567',
  '555.123.4567',
  'Order ID: 3348917502',
  'ticket number to give to Mojang. 1497421950',
  'IBAN DE89 3704 0044 0532 0130 00 thanks',
  'ref AC12345678',
  'purchased on 2019-11-06 at 10:15',
  'at 2020-02-25T17:40:50.000Z',
  'The price of the ticket is $243.50, 1 stop',
  '12 x 400g tins, 2 adults and 3 kids',
  'postcode cb21ab, reference 7GAWK763, train TR1234',
  'see https://web.archive.org/web/20200401224734/https://support.google.com/youtube/answer/185111',
  'https://support.google.com/youtube/answer/9483359?visit_id=63723228341',
  'version 10.0.19041.1',
  'XX00 ABCD EFGH',
  'digits 1 2 3 4 5 6 7 apart',
  'emoji 😀 and café and \u2028 line sep and "quotes" and back\\slash',
];

function trickyLines(): string[] {
  const lines: string[] = [];
  // Redaction everywhere a text can be.
  PII_TEXTS.forEach((text, n) =>
    lines.push(
      JSON.stringify({
        id: `pii-${n}`,
        customerId: n % 3 === 0 ? 'Jane@Example.com' : n % 3 === 1 ? '+44 1223 812660' : `crm-${n}1234567`,
        csrIds: ['csr-1', 'agent 555-123-4567'],
        outcome: { resolved: n % 2 === 0, satisfaction: (n % 5) + 1, labels: { note: text, score: n / 3, flag: true } },
        messages: [
          message(text, { csrId: n % 2 ? 'csr-1' : 'me@x.io', labels: { said: text, n } }),
          { role: 'csr', kind: 'voice', transcript: text, attachment: { name: `rec ${text}`.slice(0, 400), mimeType: 'audio/ogg', durationSeconds: 3 } },
          { role: 'csr', text: 'see meta', meta: { note: text, nested: { deep: [text, 1, true, null] } } },
        ],
        events: [{ type: 'offer_sent', name: text.slice(0, 200), csrId: 'csr-2', data: { reason: text } }, { type: 'rated', data: { satisfaction: 3 } }],
      }),
    ),
  );
  // Shapes that are valid but unusual (they must come out the same however they were read).
  lines.push(
    JSON.stringify(record('ok-kinds', { messages: [{ role: 'bot', kind: 'image', attachment: { url: 'https://x.example/a.png', sizeBytes: 1024, mimeType: 'image/png', name: 'a.png' } }] })),
    JSON.stringify(record('ok-attachment-order', { messages: [{ role: 'customer', kind: 'file', attachment: { durationSeconds: 2.5, name: 'x' } }] })),
    JSON.stringify(record('ok-meta-keys', { messages: [message('m', { meta: { '2': 'b', a: 1, '1': 'a' } })] })),
    JSON.stringify(record('ok-meta-float', { messages: [message('m', { meta: { x: 1.5, y: 1e21, z: -0 } })] })),
    JSON.stringify(record('ok-offsets', { createdAt: '2024-03-01T10:00:00+05:30', endedAt: '2024-03-01T05:00:00.123456Z', messages: [message('x', { ts: '2024-03-01T04:31:00Z' })] })),
    JSON.stringify(record('ok-leap', { createdAt: '2024-02-29T00:00:00Z' })),
    JSON.stringify(record('ok-empty', { outcome: {}, events: [], csrIds: [], externalIds: {} })),
    JSON.stringify(record('ok-external', { externalIds: { crm: 'jane@example.com', other: '12345' } })),
    JSON.stringify(record('ok-status', { status: 'resolved', outcome: { conversion: 'purchase', converted: true } })),
    JSON.stringify(record('ok-source', { source: { channel: 'app', app: 'ios' }, brand: 'B', queue: 'Q', listingId: 'acme' })),
    JSON.stringify(record('ok-unicode-id-é😀')),
    '{"id": "ok-spaced" , "messages" : [ {"role":"customer" , "text":"x\\u00e9\\n"} ] }',
    `${JSON.stringify(record('ok-crlf'))}\r`,
    '',
    '   ',
    JSON.stringify(record('dup', { brand: 'first' })),
    JSON.stringify(record('dup', { brand: 'second' })),
  );
  // Invalid in every way the rules must notice (the JS path words the reason).
  lines.push(
    JSON.stringify(record('bad-role', { messages: [{ role: 'alien', text: 'x' }] })),
    JSON.stringify(record('bad-text-type', { messages: [{ role: 'customer', text: 123 }] })),
    JSON.stringify(record('bad-null', { messages: [{ role: 'customer', text: null }] })),
    JSON.stringify(record('bad-null-top', { brand: null })),
    JSON.stringify(record('bad-unknown', { mood: 'x' })),
    JSON.stringify(record('bad-unknown-msg', { messages: [{ role: 'customer', text: 'x', mood: 1 }] })),
    '{"id":"bad-dup-key","id":"other","messages":[{"role":"customer","text":"x"}]}',
    '{"id":"bad-dup-msg-key","messages":[{"role":"customer","text":"x","text":"y"}]}',
    JSON.stringify(record('bad-no-text', { messages: [{ role: 'customer' }] })),
    JSON.stringify(record('bad-satisfaction', { outcome: { satisfaction: '3' } })),
    JSON.stringify(record('bad-satisfaction-range', { outcome: { satisfaction: 7 } })),
    JSON.stringify(record('bad-bool', { outcome: { resolved: 'true' } })),
    JSON.stringify(record('bad-ts', { createdAt: '2024-02-30T00:00:00Z' })),
    JSON.stringify(record('bad-ts-zone', { createdAt: '2024-03-01T00:00:00+25:00' })),
    JSON.stringify(record('bad-ts-fraction', { createdAt: '2024-03-01T00:00:00.1234567Z' })),
    JSON.stringify(record('bad-1989', { createdAt: '1989-12-31T23:59:59Z' })),
    JSON.stringify(record('bad-future', { endedAt: '2999-01-01T00:00:00Z' })),
    JSON.stringify(record('bad-order', { createdAt: '2024-03-01T10:00:00Z', firstAssignedAt: '2024-03-01T09:00:00Z' })),
    JSON.stringify(record('bad-skew', { createdAt: '2024-03-01T10:00:00Z', messages: [message('x', { ts: '2024-03-01T09:50:00Z' })] })),
    JSON.stringify(record('bad-event-seq', { events: [{ type: 'rated', seq: 9 }] })),
    JSON.stringify(record('bad-event-type', { events: [{ type: 'exploded' }] })),
    JSON.stringify(record('bad-label-name', { outcome: { labels: { '1bad': 1 } } })),
    JSON.stringify(record('bad-label-value', { outcome: { labels: { ok: { nested: 1 } } } })),
    JSON.stringify(record('bad-channel', { messages: [message('x', { channel: 'Chat!' })] })),
    JSON.stringify(record('bad-id-control', { id: 'a\u0001b' })),
    JSON.stringify(record('bad-attachment', { messages: [message('x', { attachment: { sizeBytes: -1 } })] })),
    JSON.stringify(record('bad-meta-key', { messages: [message('x', { meta: { ['k'.repeat(65)]: 1 } })] })),
    JSON.stringify(record('bad-listing', { listingId: 'globex' })),
    JSON.stringify(record('bad-csr-ids', { csrIds: 'csr-1' })),
    JSON.stringify(record('bad-source', { source: { channel: 'pigeon' } })),
    JSON.stringify(record('bad-messages', { messages: {} })),
    // Members of source, outcome and events: null, unknown, repeated, or not an object at all.
    JSON.stringify(record('bad-source-null', { source: { channel: 'chat', app: null } })),
    JSON.stringify(record('bad-source-unknown', { source: { channel: 'chat', mood: 'x' } })),
    '{"id":"bad-source-dup","source":{"channel":"chat","channel":"sms"},"messages":[{"role":"customer","text":"x"}]}',
    JSON.stringify(record('bad-source-type', { source: 'chat' })),
    JSON.stringify(record('bad-outcome-null', { outcome: { resolved: null } })),
    JSON.stringify(record('bad-outcome-labels-null', { outcome: { labels: null } })),
    JSON.stringify(record('bad-outcome-unknown', { outcome: { resolved: true, mood: 'x' } })),
    '{"id":"bad-outcome-dup","outcome":{"resolved":true,"resolved":false},"messages":[{"role":"customer","text":"x"}]}',
    JSON.stringify(record('bad-outcome-type', { outcome: 'resolved' })),
    JSON.stringify(record('bad-outcome-array', { outcome: [] })),
    JSON.stringify(record('bad-event-null', { events: [{ type: 'rated', name: null }] })),
    JSON.stringify(record('bad-event-unknown', { events: [{ type: 'rated', mood: 'x' }] })),
    '{"id":"bad-event-dup","events":[{"type":"rated","type":"offer_sent"}],"messages":[{"role":"customer","text":"x"}]}',
    JSON.stringify(record('bad-event-type-string', { events: ['rated'] })),
    JSON.stringify(record('ok-event-members', { events: [{ type: 'offer_sent', ts: '2024-03-01T10:00:00Z', seq: 1, name: 'n', from: 'chat', to: 'sms', csrId: 'csr-1', data: { a: 1 } }] })),
    JSON.stringify(record('ok-outcome-members', { outcome: { resolved: true, abandoned: false, satisfaction: 4, converted: true, conversion: 'purchase', labels: { x: 1 } } })),
    '{"id":"bad-trailing","messages":[{"role":"customer","text":"x"},]}',
    '{"id":"bad-nan","messages":[{"role":"customer","text":"x"}],"outcome":{"satisfaction":NaN}}',
    '{"id":"bad-infinity","messages":[{"role":"customer","text":"x"}],"outcome":{"labels":{"x":-Infinity}}}',
    '{"id": "broken", "messages": [',
    '[1, 2, 3]',
    '"just a string"',
    '{"id":"bad-surrogate","messages":[{"role":"customer","text":"\\ud800"}]}',
    JSON.stringify(record('bad-big', { messages: [message('x'.repeat(100_001))] })),
  );
  return lines;
}

describe('the SQL fast path and the JS path', () => {
  it('leave the same tables on tricky JSONL, chunk after chunk, also re-ingested', async () => {
    const lines = trickyLines();
    await writeFile(file('tricky.jsonl'), `${lines.join('\n')}\n`);
    const { sql } = await bothEngines({ paths: [file('tricky.jsonl')], batchSize: 7 }, 2);
    expect(sql.sources[0]).toMatchObject({ engine: 'sql' });
    // The rules accept the valid records themselves (the JS path sees the invalid ones and a few).
    expect(sql.sources[0]!.checkedInJs).toBeLessThan(lines.filter((line) => /"bad|broken|\[1|just a/.test(line)).length + 6);
    expect(sql.unchanged).toBeGreaterThan(40);
    expect(sql.quarantined).toBeGreaterThan(30);
  });

  it('redacts as redactText and pseudonymizes as pseudonymize, counting alike', async () => {
    const lines = PII_TEXTS.map((text, n) => JSON.stringify({ id: `r-${n}`, customerId: text.slice(0, 200), messages: [message(text)] }));
    await writeFile(file('pii.jsonl'), `${lines.join('\n')}\n`);
    const { sql, js } = await bothEngines({ paths: [file('pii.jsonl')] });
    expect(sql.sources[0]!.redactions).toEqual(js.sources[0]!.redactions);
    const fixture = fixtures.at(-2)!; // the SQL engine's database
    const rows = await fixture.db.all<{ id: string; customer_id: string; text: string }>(
      "SELECT i.id, i.customer_id, m.text FROM interactions i JOIN messages m ON m.interaction_id = i.id ORDER BY i.id",
    );
    for (const row of rows) {
      const text = PII_TEXTS[Number(row.id.slice(2))]!;
      expect(row.text).toBe(redactText(text));
      expect(row.customer_id).toBe(pseudonymize(text.slice(0, 200), 'acme'));
    }
  });

  it('leave the same tables on gzip, invalid UTF-8, oversize and truncated lines', async () => {
    const body = Buffer.concat([
      Buffer.from(`${JSON.stringify(record('a'))}\n`),
      Buffer.from('{"id":"bad-utf8","messages":[{"role":"customer","text":"caf'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}]}\n'),
      Buffer.from(`${JSON.stringify(record('huge', { messages: [message('y'.repeat(5000))] }))}\n`),
      Buffer.from(`${JSON.stringify(record('b'))}\n`),
      Buffer.from('{"id":"cut","messages":[{"role":"cust'),
    ]);
    await writeFile(file('mixed.jsonl.gz'), gzipSync(body));
    await bothEngines({ paths: [file('mixed.jsonl.gz')], maxRecordBytes: 4096 });
  });

  it('leave the same tables on generated JSONL and CSV, with and without redaction', async () => {
    const options = { conversations: 300, seed: 11, idPrefix: 'p' };
    await writeGenerated({ ...options, out: file('p.jsonl') });
    await writeGenerated({ ...options, out: file('p.csv') });
    const jsonl = await bothEngines({ paths: [file('p.jsonl')], batchSize: 64 });
    const csv = await bothEngines({ paths: [file('p.csv')], interactions: file('p.interactions.csv'), batchSize: 64 });
    expect(csv.sql.sources[0]).toMatchObject({ engine: 'sql', accepted: 300, checkedInJs: 0 });
    expect(jsonl.sql.sources[0]).toMatchObject({ engine: 'sql', checkedInJs: 0 });
    // CSV and JSONL of the same conversations store the same rows (source places aside).
    expect(csv.sql.messages).toBe(jsonl.sql.messages);
    await bothEngines({ paths: [file('p.jsonl')], listingId: 'raw', redact: false });
  });

  it('leave the same tables on tricky CSV tables', async () => {
    const messages = [
      'interaction_id,seq,role,kind,channel,ts,text,transcript,message_id,csr_id,attachment,labels,meta',
      'c-1,2,csr,,chat,2024-03-01 10:00:30+00,"Sure, ""quoted""",,m2,csr-1,,,',
      'c-1,1,customer,,chat,2024-03-01 10:00:00+0100,"mail me at ann@example.com",,m1,,,"{""mood"":""grumpy""}",',
      'c-2,,customer,text,sms,2024-03-01T11:00:00Z,"",,,,,,"{""a"":1,""b"":""x""}"',
      'c-3,1,customer,,chat,,hi,,,,"{""name"":""x.png"",""sizeBytes"":12}",,',
      'c-3,x,csr,,chat,,hello,,,,,,',
      'c-4,1,customer,,chat,,"call 555-123-4567",,,,not json,,',
      'c-5,1,customer,,chat,,ok,,,,,,',
      'c-5,1,csr,,chat,,dup seq,,,,,,',
      'c-6,1,alien,,chat,,bad role,,,,,,',
      'c-7,1,customer,,chat,,fine,,,,,,',
    ];
    const interactions = [
      'id,customer_id,csr_ids,status,resolved,satisfaction,converted,labels,events,created_at,source_channel',
      'c-7,jane@example.com,"[""csr-1""]",resolved,YES,4,n,"{""topic"":""billing""}","[{""type"":""rated"",""data"":{""satisfaction"":4}}]",2024-03-01T09:59:00Z,app',
      'c-1,,,,t,5.0,,,,,',
      'c-9,cust-9,,abandoned,false,,,,,,website',
      'c-2,,,,maybe,x,,,,,',
      'c-8,,,resolved,,,,,"[{""type"":""rated"",""seq"":1}]",,',
    ];
    await writeFile(file('t.csv'), `${messages.join('\n')}\n`);
    await writeFile(file('t.interactions.csv'), `${interactions.join('\r\n')}\r\n`);
    const { sql } = await bothEngines({ paths: [file('t.csv')], interactions: file('t.interactions.csv'), batchSize: 3 }, 2);
    expect(sql.sources[0]).toMatchObject({ engine: 'sql' });
  });
});
