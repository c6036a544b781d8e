/**
 * Byte-level record splitters. They never hold more than one record (capped at `maxBytes`) in
 * memory: an oversize record is skipped to its end while only an excerpt is kept, so a 50 MB
 * line costs 50 MB of reading, not of heap. Offsets are byte offsets in the decoded stream.
 */

export interface RawRecord {
  /** The record's bytes; only the first EXCERPT_BYTES when `oversize`. */
  bytes: Buffer;
  /** 1-based line where the record starts. */
  line: number;
  /** Byte offset of the record's first byte. */
  offset: number;
  /** Byte offset just after the record (and its newline): where a resumed read starts. */
  end: number;
  /** Line number just after the record. */
  nextLine: number;
  size: number;
  oversize: boolean;
  /** The input ended inside this record (truncated file or damaged gzip). */
  truncated: boolean;
}

export const EXCERPT_BYTES = 2048;

export interface ReadOptions {
  maxBytes: number;
  startOffset?: number;
  startLine?: number;
  /** Why the input ended early, if it did (an unterminated last line is then truncated). */
  failed?: () => Error | undefined;
}

class RecordBuffer {
  private parts: Buffer[] = [];
  private kept = 0;
  length = 0;
  oversize = false;

  constructor(private readonly maxBytes: number) {}

  add(piece: Buffer) {
    if (piece.length === 0) return;
    this.length += piece.length;
    if (!this.oversize && this.length > this.maxBytes) {
      this.oversize = true;
      if (this.kept > EXCERPT_BYTES) {
        this.parts = [Buffer.concat(this.parts, EXCERPT_BYTES)];
        this.kept = EXCERPT_BYTES;
      }
    }
    // Past the limit only an excerpt is kept, for the quarantine row; the rest streams past.
    const room = this.oversize ? EXCERPT_BYTES - this.kept : piece.length;
    if (room <= 0) return;
    const kept = room < piece.length ? piece.subarray(0, room) : piece;
    this.parts.push(kept);
    this.kept += kept.length;
  }

  take(): { bytes: Buffer; size: number; oversize: boolean } {
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const result = { bytes, size: this.length, oversize: this.oversize };
    this.parts = [];
    this.kept = 0;
    this.length = 0;
    this.oversize = false;
    return result;
  }
}

/** Splits on `\n` (a trailing `\r` is dropped). A last line without a newline is a line. */
export async function* readLines(chunks: AsyncIterable<Buffer>, options: ReadOptions): AsyncGenerator<RawRecord> {
  const pending = new RecordBuffer(options.maxBytes);
  let offset = options.startOffset ?? 0;
  let lineStart = offset;
  let line = options.startLine ?? 1;
  const emit = (complete: boolean): RawRecord => {
    const { bytes, size, oversize } = pending.take();
    const trimmed = !oversize && bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.subarray(0, bytes.length - 1) : bytes;
    const record: RawRecord = {
      bytes: trimmed,
      line,
      offset: lineStart,
      end: offset,
      nextLine: line + 1,
      size,
      oversize,
      truncated: !complete,
    };
    line++;
    lineStart = offset;
    return record;
  };
  for await (const chunk of chunks) {
    let position = 0;
    while (position < chunk.length) {
      const newline = chunk.indexOf(10, position);
      if (newline === -1) {
        pending.add(chunk.subarray(position));
        offset += chunk.length - position;
        break;
      }
      pending.add(chunk.subarray(position, newline));
      offset += newline - position + 1;
      position = newline + 1;
      yield emit(true);
    }
  }
  // A last line without a newline is complete, unless the input broke off (damaged gzip).
  if (pending.length > 0) yield emit(options.failed?.() === undefined);
}

/**
 * Splits a top-level JSON array into its elements without parsing them, tracking strings and
 * nesting depth byte by byte (UTF-8 continuation bytes never look like ASCII structure). Yields
 * each element's bytes; an element cut off by the end of input comes out `truncated`. Text that
 * is not an array at all throws a FormatProblem.
 */
export class FormatProblem extends Error {
  override readonly name = 'FormatProblem';
  constructor(
    message: string,
    /** The quarantine reason for the unreadable rest of the input. */
    readonly reason: 'malformed_json' | 'malformed_line' = 'malformed_json',
  ) {
    super(message);
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export async function* readJsonArray(chunks: AsyncIterable<Buffer>, options: ReadOptions): AsyncGenerator<RawRecord> {
  const pending = new RecordBuffer(options.maxBytes);
  let state = 'before' as 'before' | 'between' | 'element' | 'after';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  let offset = 0;
  let line = 1;
  let elementOffset = 0;
  let elementLine = 1;
  let elementStart = 0;

  const finish = (chunk: Buffer, endIndex: number, truncated: boolean): RawRecord => {
    pending.add(chunk.subarray(elementStart, endIndex));
    const { bytes, size, oversize } = pending.take();
    return { bytes, line: elementLine, offset: elementOffset, end: offset, nextLine: line, size, oversize, truncated };
  };

  for await (const chunk of chunks) {
    elementStart = 0;
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index]!;
      if (state === 'element') {
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === 0x5c) escaped = true;
          else if (byte === 0x22) {
            inString = false;
            if (scalar && depth === 0) {
              offset++;
              yield finish(chunk, index + 1, false);
              state = 'between';
              continue;
            }
          }
        } else if (scalar) {
          if (byte === 0x2c || byte === 0x5d || WS.has(byte)) {
            yield finish(chunk, index, false);
            state = byte === 0x5d ? 'after' : 'between';
          }
        } else if (byte === 0x22) inString = true;
        else if (byte === 0x7b || byte === 0x5b) depth++;
        else if (byte === 0x7d || byte === 0x5d) {
          depth--;
          if (depth === 0) {
            offset++;
            yield finish(chunk, index + 1, false);
            state = 'between';
            continue;
          }
        }
      } else if (!WS.has(byte)) {
        if (state === 'before') {
          if (byte !== 0x5b) throw new FormatProblem('the input is not a JSON array');
          state = 'between';
        } else if (state === 'between') {
          if (byte === 0x5d) state = 'after';
          else if (byte !== 0x2c) {
            state = 'element';
            elementOffset = offset;
            elementLine = line;
            elementStart = index;
            depth = byte === 0x7b || byte === 0x5b ? 1 : 0;
            scalar = depth === 0;
            inString = byte === 0x22;
            escaped = false;
          }
        } else {
          throw new FormatProblem(`unexpected data after the end of the JSON array at byte ${offset}`);
        }
      }
      if (byte === 0x0a) line++;
      offset++;
    }
    if (state === 'element') pending.add(chunk.subarray(elementStart));
  }
  if (state === 'element') {
    const { bytes, size, oversize } = pending.take();
    yield { bytes, line: elementLine, offset: elementOffset, end: offset, nextLine: line, size, oversize, truncated: true };
  } else if (state === 'before' && offset > 0) {
    throw new FormatProblem('the input is not a JSON array');
  } else if (state === 'between') {
    // Input ended inside the array: everything complete was yielded; the missing ']' is the loss.
    yield { bytes: Buffer.alloc(0), line, offset, end: offset, nextLine: line, size: 0, oversize: false, truncated: true };
  }
}

/**
 * Splits CSV bytes into records: like readLines, but a line break inside a quoted field belongs
 * to the field (RFC 4180). Quotes toggle the state byte by byte, so a doubled quote (`""`) inside
 * a quoted field toggles twice and changes nothing. A record still inside quotes at the end of
 * the input comes out `truncated` (an unbalanced quote swallows the rest of the file into one
 * record, which the quarantine then shows with its line).
 */
export async function* readCsvRecords(chunks: AsyncIterable<Buffer>, options: ReadOptions): AsyncGenerator<RawRecord> {
  const pending = new RecordBuffer(options.maxBytes);
  let offset = options.startOffset ?? 0;
  let recordStart = offset;
  let line = options.startLine ?? 1;
  let recordLine = line;
  let quoted = false;
  const emit = (complete: boolean): RawRecord => {
    const { bytes, size, oversize } = pending.take();
    const trimmed = !oversize && bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.subarray(0, bytes.length - 1) : bytes;
    const record: RawRecord = { bytes: trimmed, line: recordLine, offset: recordStart, end: offset, nextLine: line, size, oversize, truncated: !complete };
    recordStart = offset;
    recordLine = line;
    return record;
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index]!;
      if (byte === 0x22) quoted = !quoted;
      else if (byte === 0x0a) {
        line++;
        if (quoted) continue;
        pending.add(chunk.subarray(from, index));
        offset += index - from + 1;
        from = index + 1;
        yield emit(true);
      }
    }
    pending.add(chunk.subarray(from));
    offset += chunk.length - from;
  }
  if (pending.length > 0) yield emit(!quoted && options.failed?.() === undefined);
}
