import { EXCERPT_BYTES, type RawRecord } from '../readers.ts';

/**
 * An adapter turns a source format's bytes into candidate interaction records (plain objects in
 * the canonical shape, validated later in one place) or rejections with a reason. Adapters never
 * throw for bad records; they throw only when the whole input is not of their format.
 */

export const quarantineReasons = [
  'malformed_json',
  'malformed_line',
  'invalid_record',
  'impossible_timestamp',
  'wrong_listing',
  'oversize',
  'invalid_utf8',
  'truncated',
] as const;
export type QuarantineReason = (typeof quarantineReasons)[number];

/** Where a record sits in its source, and where a resumed read continues after it. */
export interface Position {
  /** 0-based ordinal of the record in the source (every candidate, accepted or not). */
  index: number;
  line: number;
  offset: number;
  next: { index: number; line: number; offset: number };
}

export type Candidate =
  | { ok: true; value: unknown; at: Position }
  | { ok: false; reason: QuarantineReason; detail: string; excerpt: string; at: Position };

export interface AdapterContext {
  /** The file name without directories and compression/format extensions (ids derive from it). */
  stem: string;
  maxRecordBytes: number;
  start: { index: number; line: number; offset: number };
  failed: () => Error | undefined;
  /** A second table read alongside the source (CSV: the interactions table). */
  companion?: { name: string; chunks: AsyncIterable<Buffer>; failed: () => Error | undefined };
}

export type Adapter = (chunks: AsyncIterable<Buffer>, context: AdapterContext) => AsyncGenerator<Candidate>;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

export function excerptOf(bytes: Buffer): string {
  return lenientUtf8.decode(bytes.subarray(0, EXCERPT_BYTES));
}

/** Decodes a raw record, or says why it cannot be used. */
export function decodeRaw(
  raw: RawRecord,
  context: Pick<AdapterContext, 'maxRecordBytes' | 'failed'>,
): { ok: true; text: string } | { ok: false; reason: QuarantineReason; detail: string; excerpt: string } {
  if (raw.oversize) {
    return {
      ok: false,
      reason: 'oversize',
      detail: `record of ${raw.size} bytes exceeds the limit of ${context.maxRecordBytes} bytes`,
      excerpt: excerptOf(raw.bytes),
    };
  }
  if (raw.truncated) {
    const cause = context.failed()?.message ?? 'the input ends inside this record';
    return { ok: false, reason: 'truncated', detail: cause, excerpt: excerptOf(raw.bytes) };
  }
  try {
    return { ok: true, text: strictUtf8.decode(raw.bytes) };
  } catch {
    return { ok: false, reason: 'invalid_utf8', detail: 'the record is not valid UTF-8', excerpt: excerptOf(raw.bytes) };
  }
}

export function positionOf(raw: RawRecord, index: number): Position {
  return { index, line: raw.line, offset: raw.offset, next: { index: index + 1, line: raw.nextLine, offset: raw.end } };
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; detail: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : 'not JSON' };
  }
}

/** Describes zod-like issues in one line: `messages.3.role: Invalid option; …`. */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>, limit = 3): string {
  const shown = issues.slice(0, limit).map((issue) => `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`);
  return issues.length > limit ? `${shown.join('; ')}; and ${issues.length - limit} more` : shown.join('; ');
}
