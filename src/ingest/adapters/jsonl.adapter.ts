import { readJsonArray, readLines } from '../readers.ts';
import { decodeRaw, parseJson, positionOf, type Adapter } from './adapter.ts';

/** Canonical JSONL: one interaction record per line; blank lines are skipped. */
export const jsonlAdapter: Adapter = async function* (chunks, context) {
  let index = context.start.index;
  const lines = readLines(chunks, {
    maxBytes: context.maxRecordBytes,
    startOffset: context.start.offset,
    startLine: context.start.line,
    failed: context.failed,
  });
  for await (const raw of lines) {
    if (!raw.oversize && !raw.truncated && isBlank(raw.bytes)) continue;
    const at = positionOf(raw, index++);
    const decoded = decodeRaw(raw, context);
    if (!decoded.ok) {
      yield { ...decoded, at };
      continue;
    }
    const parsed = parseJson(decoded.text);
    yield parsed.ok
      ? { ok: true, value: parsed.value, at }
      : { ok: false, reason: 'malformed_json', detail: parsed.detail, excerpt: decoded.text, at };
  }
};

/**
 * A JSON array of source records (`[{…}, {…}]`), split without loading the whole file, each
 * element mapped to the canonical shape by `map` (the identity for canonical records).
 */
export function jsonArrayAdapter(
  map: (value: unknown) => { ok: true; record: unknown } | { ok: false; detail: string } = (value) => ({ ok: true, record: value }),
): Adapter {
  return async function* (chunks, context) {
    let index = 0;
    for await (const raw of readJsonArray(chunks, { maxBytes: context.maxRecordBytes, failed: context.failed })) {
      const at = positionOf(raw, index++);
      const decoded = decodeRaw(raw, context);
      if (!decoded.ok) {
        yield { ...decoded, at };
        continue;
      }
      const parsed = parseJson(decoded.text);
      if (!parsed.ok) {
        yield { ok: false, reason: 'malformed_json', detail: parsed.detail, excerpt: decoded.text, at };
        continue;
      }
      const mapped = map(parsed.value);
      yield mapped.ok
        ? { ok: true, value: mapped.record, at }
        : { ok: false, reason: 'invalid_record', detail: mapped.detail, excerpt: decoded.text, at };
    }
  };
}

export function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false;
  return true;
}
