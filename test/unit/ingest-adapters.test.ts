import { describe, expect, it } from 'vitest';
import type { Candidate } from '../../src/ingest/adapters/adapter.ts';
import { abcdAdapter } from '../../src/ingest/adapters/abcd.adapter.ts';
import { ibmTwitterAdapter } from '../../src/ingest/adapters/ibm-twitter.adapter.ts';
import { jsonlAdapter } from '../../src/ingest/adapters/jsonl.adapter.ts';
import { ussAdapter } from '../../src/ingest/adapters/uss.adapter.ts';
import { detectFormat, majority, snowflakeTime, validateInteraction, type InteractionRecord } from '../../src/ingest/index.ts';

async function* chunksOf(text: string | Buffer, size = 7): AsyncGenerator<Buffer> {
  const buffer = typeof text === 'string' ? Buffer.from(text) : text;
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
}

const context = { stem: 'sample', maxRecordBytes: 1 << 20, start: { index: 0, line: 1, offset: 0 }, failed: () => undefined };

async function collect(iterable: AsyncIterable<Candidate>): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for await (const candidate of iterable) out.push(candidate);
  return out;
}

function valid(candidate: Candidate | undefined): InteractionRecord {
  if (!candidate?.ok) throw new Error(`not a record: ${JSON.stringify(candidate)}`);
  const result = validateInteraction(candidate.value, { listingId: 'acme', now: new Date('2026-01-01T00:00:00Z') });
  if (!result.ok) throw new Error(result.detail);
  return result.record;
}

const USS = [
  'USER\tI need a cheap hotel.\tHotel-Inform\t3,3,2,3',
  'SYSTEM\tThe Alpha is cheap. Call 01223 812660.\tHotel-Recommend\t',
  'USER\tBook it.\t\t2,2,4,4',
  'USER\tOVERALL\t\t4,4,2,4',
  '',
  'SYSTEM\tHello!\t\t',
  'USER\tHi\tgreeting\t1,1,1',
  'USER\tOVERALL\t\t1,2,2',
  '',
  '',
].join('\n');

describe('uss adapter', () => {
  it('maps roles, keeps per-turn ratings and the OVERALL line as labels, with stable ids', async () => {
    const candidates = await collect(ussAdapter(chunksOf(USS), context));
    expect(candidates).toHaveLength(2);
    const first = valid(candidates[0]);
    expect(first.id).toBe('sample-0001');
    expect(first.messages.map((message) => message.role)).toEqual(['customer', 'csr', 'customer']);
    expect(first.messages[0]!.labels).toEqual({ act: 'Hotel-Inform', satisfaction: 3, satisfaction_mean: 2.75, satisfaction_ratings: '3,3,2,3' });
    expect(first.messages[1]!.labels).toEqual({ act: 'Hotel-Recommend' });
    // 2,2,4,4: a tie between 2 and 4, both 1 from the mean 3 → the lower.
    expect(first.messages[2]!.labels).toMatchObject({ satisfaction: 2 });
    expect(first.outcome).toEqual({ satisfaction: 4, labels: { satisfaction_mean: 3.5, satisfaction_ratings: '4,4,2,4' } });
    const second = valid(candidates[1]);
    expect(second.id).toBe('sample-0002');
    expect(second.messages[0]!.role).toBe('csr');
    expect(second.outcome?.satisfaction).toBe(2);
    expect(candidates[1]!.at).toMatchObject({ index: 1, line: 6 });
  });

  it('resumes at a byte offset with the right numbering', async () => {
    const all = await collect(ussAdapter(chunksOf(USS), context));
    const next = all[0]!.at.next;
    const rest = await collect(ussAdapter(chunksOf(Buffer.from(USS).subarray(next.offset)), { ...context, start: next }));
    expect(rest).toHaveLength(1);
    expect(valid(rest[0]).id).toBe('sample-0002');
    expect(rest[0]!.at).toEqual(all[1]!.at);
  });

  it('rejects a dialogue with a malformed line, and only that dialogue', async () => {
    const text = 'USER\thi\t\t3,3\nROBOT\tbeep\t\t\n\nUSER\tok\t\t9,1\n\nUSER\tfine\t\t3\n';
    const candidates = await collect(ussAdapter(chunksOf(text), context));
    expect(candidates.map((candidate) => (candidate.ok ? 'ok' : candidate.reason))).toEqual(['malformed_line', 'malformed_line', 'ok']);
    expect(candidates[0]!.ok ? '' : candidates[0]!.detail).toMatch(/line 2: role "ROBOT"/);
    expect(candidates[1]!.ok ? '' : candidates[1]!.detail).toMatch(/line 4: ratings "9,1"/);
  });

  it('breaks rating ties towards the mean, then down', () => {
    expect(majority([3, 3, 2, 3])).toBe(3);
    expect(majority([1, 1, 5, 5, 4])).toBe(5);
    expect(majority([2, 4])).toBe(2);
    expect(majority([5])).toBe(5);
  });
});

const IBM_THREAD = {
  agentURL: {
    doc_id: '9417',
    turn: '4',
    tweet_ID: '1232360458130161664',
    url: 'https://support.rockstargames.com/articles/204233943',
    url_utterance: '@tiffamy_lee We have a Support article that may help: https://support.rockstargames.com/articles/204233943 *SR',
  },
  dialogContent: [
    { client: 'tiffamy_lee', datetime: '2020-02-25T17:40:50.000Z', message: '@RockstarSupport why isnt my gta installing? mail me: tiff@example.com', tweet_ID: '1232359814828822534' },
    { agent: 'RockstarSupport', datetime: '2020-02-25T17:41:59.000Z', message: '@tiffamy_lee Which platform? *SR', tweet_ID: '1232360105036984320' },
    { client1: 'someone_else', datetime: '2020-02-25T17:42:23.000Z', message: '@RockstarSupport Playstation 4', tweet_ID: '1232360202671968257' },
  ],
  dialogHeader: { company: 'RockstarSupport', conversationDateTime: '2020-02-25T17:40:50.000Z', duration: '00:08:46.0', messageCount: '4', sessionID: '5McvPTUPveowZZ4Z9j5Y' },
};

describe('ibm-twitter adapter', () => {
  it('keeps the company as brand and queue, maps senders, and appends the agentURL reply', async () => {
    const candidates = await collect(ibmTwitterAdapter(chunksOf(JSON.stringify([IBM_THREAD], null, 2)), context));
    const record = valid(candidates[0]);
    expect(record).toMatchObject({ id: 'tw-5McvPTUPveowZZ4Z9j5Y', brand: 'RockstarSupport', queue: 'RockstarSupport', customerId: 'twitter:tiffamy_lee', source: { channel: 'social', app: 'twitter' } });
    expect(record.messages.map((message) => message.role)).toEqual(['customer', 'csr', 'customer', 'csr']);
    const reply = record.messages[3]!;
    expect(reply).toMatchObject({ id: '1232360458130161664', meta: { url: 'https://support.rockstargames.com/articles/204233943', docId: '9417' } });
    // The reply's time from its snowflake id; the header's start + duration says 17:49:36.
    expect(reply.ts).toBe(snowflakeTime('1232360458130161664'));
    expect(reply.ts!.startsWith('2020-02-25T17:4')).toBe(true);
    expect(record.firstCsrReplyAt).toBe('2020-02-25T17:41:59.000Z');
    expect(Date.parse(record.endedAt!)).toBeGreaterThanOrEqual(Date.parse(reply.ts!));
    expect(record.outcome?.labels).toEqual({ doc_id: '9417' });
  });

  it('agrees with the datetime of every tweet that has one (the data keeps whole seconds)', () => {
    for (const tweet of IBM_THREAD.dialogContent) expect(snowflakeTime(tweet.tweet_ID)!.slice(0, 19)).toBe(tweet.datetime.slice(0, 19));
  });

  it('rejects a thread with an unknown sender without stopping', async () => {
    const bad = { ...IBM_THREAD, dialogContent: [{ robot: 'x', datetime: '2020-02-25T17:40:50.000Z', message: 'hi', tweet_ID: '1' }] };
    const candidates = await collect(ibmTwitterAdapter(chunksOf(JSON.stringify([bad, IBM_THREAD])), context));
    expect(candidates.map((candidate) => (candidate.ok ? 'ok' : candidate.reason))).toEqual(['invalid_record', 'ok']);
  });
});

describe('abcd adapter', () => {
  it('maps speakers, turns actions into system messages plus events, and keeps the intent', async () => {
    const conversation = {
      convo_id: 3592,
      scenario: { personal: { customer_name: 'crystal minh', email: 'cminh730@email.com', username: 'cminh730', member_level: 'bronze' }, flow: 'product_defect', subflow: 'return_size' },
      original: [
        ['agent', 'Hi!'],
        ['customer', 'I need to return an item'],
        ['action', 'Account has been pulled up for Crystal Minh.'],
        ['customer', 'cminh730@email.com'],
      ],
      delexed: [
        { speaker: 'agent', targets: [] },
        { speaker: 'customer', targets: [] },
        { speaker: 'action', targets: ['return_size', 'take_action', 'pull-up-account', ['crystal minh'], -1] },
        { speaker: 'customer', targets: [] },
      ],
    };
    const record = valid((await collect(abcdAdapter(chunksOf(JSON.stringify([conversation])), context)))[0]);
    expect(record).toMatchObject({ id: 'abcd-3592', customerId: 'abcd:cminh730', source: { channel: 'livechat' } });
    expect(record.messages.map((message) => message.role)).toEqual(['csr', 'customer', 'system', 'customer']);
    expect(record.messages[2]!.meta).toEqual({ action: 'pull-up-account' });
    expect(record.events).toEqual([{ type: 'action_taken', seq: 3, name: 'pull-up-account' }]);
    expect(record.outcome?.labels).toEqual({ flow: 'product_defect', intent: 'return_size', member_level: 'bronze' });
    expect(JSON.stringify(record)).not.toContain('crystal minh');
  });
});

describe('jsonl adapter', () => {
  it('yields records and rejections with lines and byte offsets, skipping blank lines', async () => {
    const text = '{"id":"a","messages":[]}\r\n\n   \nnot json\n\xff\n{"id":"b","messages":[]}';
    const candidates = await collect(jsonlAdapter(chunksOf(Buffer.from(text, 'latin1'), 3), context));
    expect(candidates.map((candidate) => (candidate.ok ? 'ok' : candidate.reason))).toEqual(['ok', 'malformed_json', 'invalid_utf8', 'ok']);
    expect(candidates.map((candidate) => [candidate.at.index, candidate.at.line, candidate.at.offset])).toEqual([
      [0, 1, 0],
      [1, 4, 31],
      [2, 5, 40],
      [3, 6, 42],
    ]);
  });

  it('quarantines an oversize line without holding it', async () => {
    const big = `{"id":"x","messages":[{"role":"customer","text":"${'a'.repeat(5000)}"}]}`;
    const candidates = await collect(jsonlAdapter(chunksOf(`${big}\n{"id":"y","messages":[]}\n`, 512), { ...context, maxRecordBytes: 1000 }));
    expect(candidates[0]).toMatchObject({ ok: false, reason: 'oversize' });
    expect(candidates[0]!.ok ? '' : candidates[0]!.excerpt.length).toBeLessThanOrEqual(2048);
    expect(candidates[1]!.ok).toBe(true);
  });
});

describe('format detection', () => {
  it('infers the format from the extension or the first bytes', () => {
    expect(detectFormat('x.jsonl.gz', Buffer.from('{'))).toBe('jsonl');
    expect(detectFormat('dev.json', Buffer.from('[\n {"agentURL": {}, "dialogHeader": {}}'))).toBe('ibm-twitter');
    expect(detectFormat('abcd.json', Buffer.from('[{"convo_id": 1'))).toBe('abcd');
    expect(detectFormat('records.json', Buffer.from('[{"id": "a"'))).toBe('json');
    expect(detectFormat('MWOZ.txt', Buffer.from('USER\thi\t\t3,3\n'))).toBe('uss');
    expect(detectFormat('stdin', Buffer.from('\ufeff  {"id":1}'))).toBe('jsonl');
    expect(detectFormat('empty.jsonl.gz', Buffer.alloc(0))).toBeUndefined();
    expect(detectFormat('empty.txt', Buffer.from('  \n'))).toBeUndefined();
    expect(detectFormat('x.csv', Buffer.from('a,b'))).toBe('csv');
    expect(detectFormat('x.csv.gz', Buffer.from('a,b'))).toBe('csv');
    expect(detectFormat('x.parquet', Buffer.from('PAR1'))).toBe('parquet');
    expect(detectFormat('export', Buffer.from('PAR1\u0015'))).toBe('parquet');
    expect(() => detectFormat('x.bin', Buffer.from('hello'))).toThrow(/--format/);
  });
});
