import type { DuckDBAppender } from '@duckdb/node-api';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import { MESSAGE_KEYS, OUTCOME_KEYS, RECORD_KEYS, SOURCE_KEYS, countOk, membersOk } from './fast-rules.ts';

/**
 * Canonical JSONL for the SQL fast path. The JS side only cuts the input into lines (it already
 * knows each line's number and byte offset, decodes UTF-8 strictly and sets aside oversize or
 * truncated lines, exactly as the JS path's reader) and appends them to a TEMP table; DuckDB
 * parses them (`json_transform`, one parse per line) into the intermediate form of fast-rules.ts.
 * Every field stays JSON text there, so a value of the wrong type is seen as such instead of
 * being coerced.
 */

// Objects of a few members become MAPs of their members' JSON texts; messages (the bulk) structs
// of them, which are cheaper to build; every value stays JSON text, so a value of the wrong type
// is seen as such instead of being coerced.
const OBJECT_MAP = 'MAP(VARCHAR, JSON)';
const column = (key: string) => `${key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)}_j`;
const RECORD_SPEC = JSON.stringify({
  ...Object.fromEntries(RECORD_KEYS.map((key) => [key, 'JSON'])),
  source: OBJECT_MAP,
  outcome: OBJECT_MAP,
  messages: [Object.fromEntries(MESSAGE_KEYS.map((key) => [key, 'JSON']))],
});

/**
 * The messages of the parsed chunk in the intermediate form (a query, read once by the rules).
 * `mkeys` holds each message's number of member names (repeats included): it must equal the
 * number of members the structure found (countOk).
 */
export const jsonlMessages = `
  SELECT idx, seq::INTEGER AS seq, ${countOk('mk', MESSAGE_KEYS.map((key) => `m."${key}"`))} AS keys_ok,
    ${MESSAGE_KEYS.map((key) => `m."${key}" AS ${column(key)}`).join(', ')}
  FROM (SELECT idx, generate_subscripts(messages, 1) AS seq, unnest(messages) AS m, unnest(mkeys) AS mk
        FROM lw_ir_rec WHERE len(messages) > 0)`;

export interface JsonlChunk {
  /** Lines appended since the last `reset`, and their bytes. */
  readonly size: number;
  readonly chars: number;
  /** A line's bytes, which must be valid UTF-8 (DuckDB decodes them as they are used). */
  add(line: { idx: number; line: number; offset: number; bytes: Uint8Array }): void;
  /** Parses the appended lines into lw_ir_rec (see `messages` for the messages). */
  parse(): Promise<void>;
  /** The text of the given lines (those the rules did not accept). */
  texts(indexes: number[]): Promise<Map<number, string>>;
  /** Drops the lines' text (once the rejected ones have been read). */
  release(): Promise<void>;
  reset(): Promise<void>;
  close(): void;
}

const prepared = new WeakSet<object>();

export async function openJsonlChunk(db: AnalyticsDb): Promise<JsonlChunk> {
  if (!prepared.has(db.connection)) {
    await db.run('CREATE TEMP TABLE IF NOT EXISTS lw_lines (idx BIGINT, line BIGINT, off BIGINT, b BLOB)');
    prepared.add(db.connection);
  }
  await db.run('DELETE FROM lw_lines');
  let appender: DuckDBAppender | undefined;
  let size = 0;
  let chars = 0;
  const closeAppender = () => {
    if (!appender) return;
    appender.flushSync();
    appender.closeSync();
    appender = undefined;
  };
  return {
    get size() {
      return size;
    },
    get chars() {
      return chars;
    },
    add(line) {
      if (!appender) throw new Error('the chunk is being processed');
      appender.appendBigInt(BigInt(line.idx));
      appender.appendBigInt(BigInt(line.line));
      appender.appendBigInt(BigInt(line.offset));
      appender.appendBlob(line.bytes);
      appender.endRow();
      size++;
      chars += line.bytes.length;
    },
    async parse() {
      closeAppender();
      // One statement parses the lines and lays the records out (lw_ir_rec keeps the messages
      // and their member counts for jsonlMessages).
      const member = (key: string) => `r."${key}"`;
      await db.run(
        `CREATE OR REPLACE TEMP TABLE lw_ir_rec AS
         SELECT idx, line, off,
           coalesce(strict AND r IS NOT NULL, false) AND ${countOk('n_keys', RECORD_KEYS.map(member))} AS pre_ok,
           ${member('id')} AS id_j, ${member('listingId')} AS listing_j, ${member('customerId')} AS customer_j,
           ${member('csrIds')} AS csr_ids_j, ${member('externalIds')} AS external_ids_j,
           ${member('brand')} AS brand_j, ${member('queue')} AS queue_j,
           r.source IS NOT NULL AS source_present, ${membersOk('r.source', SOURCE_KEYS)} AS source_keys_ok,
           r.source['channel'] AS source_channel_j, r.source['app'] AS source_app_j,
           ${member('createdAt')} AS created_j, ${member('firstAssignedAt')} AS assigned_j,
           ${member('firstCsrReplyAt')} AS replied_j, ${member('endedAt')} AS ended_j, ${member('status')} AS status_j,
           r.outcome IS NOT NULL AS outcome_present, ${membersOk('r.outcome', OUTCOME_KEYS)} AS outcome_keys_ok,
           r.outcome['resolved'] AS resolved_j, r.outcome['abandoned'] AS abandoned_j,
           r.outcome['satisfaction'] AS satisfaction_j, r.outcome['converted'] AS converted_j,
           r.outcome['conversion'] AS conversion_j, r.outcome['labels'] AS outcome_labels_j,
           r.messages IS NOT NULL AS messages_ok, coalesce(len(r.messages), 0)::INTEGER AS n_messages,
           ${member('events')} AS events_j,
           r.messages AS messages, mkeys
         FROM (
           SELECT idx, line, off, NOT lw_trailing_comma(j) AS strict, TRY(json_transform(j, '${RECORD_SPEC}')) AS r,
             len(TRY(json_keys(j))) AS n_keys, TRY(list_transform(json_keys(j, '$.messages[*]'), k -> len(k))) AS mkeys
           FROM (SELECT idx, line, off, decode(b) AS j FROM lw_lines))`,
      );
    },
    async texts(indexes) {
      if (indexes.length === 0) return new Map();
      const rows = await db.all<{ idx: bigint; j: string }>(`SELECT idx, decode(b) AS j FROM lw_lines WHERE idx IN (${indexes.join(', ')})`);
      return new Map(rows.map((row) => [Number(row.idx), row.j]));
    },
    async release() {
      closeAppender();
      await db.run('DELETE FROM lw_lines');
    },
    async reset() {
      closeAppender();
      await db.run('DELETE FROM lw_lines');
      appender = await db.appender('lw_lines');
      size = 0;
      chars = 0;
    },
    close() {
      closeAppender();
    },
  };
}
