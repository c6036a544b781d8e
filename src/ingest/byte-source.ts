import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AppError } from '../platform/index.ts';

/**
 * An input file (or stdin, `-`) as a stream of decoded bytes. Gzip is recognised by its magic
 * bytes, not the name, so `x.jsonl.gz`, `x.gz` and a gzip piped into stdin all work. A stream
 * that ends abnormally (a truncated gzip) does not throw: the chunks simply end and `error()`
 * says why, so the readers can quarantine the incomplete tail and keep what came before.
 */
export interface ByteSource {
  /** Absolute path, or `stdin`. Quarantine rows and checkpoints are keyed by it. */
  readonly name: string;
  /** On-disk size (compressed size for gzip); unknown for stdin. */
  readonly sizeBytes: number | undefined;
  readonly compressed: boolean;
  /** size, mtime and a hash of the first 64 KiB; unset for stdin (never resumed). */
  readonly fingerprint: string | undefined;
  /** The first decoded bytes (up to 64 KiB), for format detection. */
  readonly head: Buffer;
  /** Decoded bytes from the start offset on; iterate once. */
  readonly chunks: AsyncIterable<Buffer>;
  /** Raw (possibly compressed) bytes consumed so far, for progress. */
  bytesRead(): number;
  /** Why the stream ended early, once it has ended. */
  error(): Error | undefined;
}

const HEAD_BYTES = 64 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

export interface OpenOptions {
  /** Start reading at this decoded byte offset (uncompressed files only). */
  start?: number;
  stdin?: NodeJS.ReadableStream;
}

export interface SourceIdentity {
  name: string;
  fingerprint: string | undefined;
  /** A plain file, where a resumed read can start at a byte offset (not stdin, not gzip). */
  seekable: boolean;
}

/** The name and fingerprint a source is checkpointed under, without opening a stream. */
export async function sourceIdentity(spec: string): Promise<SourceIdentity> {
  if (spec === '-') return { name: 'stdin', fingerprint: undefined, seekable: false };
  const file = path.resolve(spec);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new AppError('not_found', `no such file: ${spec}`);
  if (!info.isFile()) throw new AppError('validation_failed', `not a file: ${spec}`);
  const first = await readPrefix(file, HEAD_BYTES);
  const gzip = first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
  return { name: file, fingerprint: fingerprintOf(info.size, info.mtimeMs, first), seekable: !gzip };
}

function fingerprintOf(size: number, mtimeMs: number, first: Buffer): string {
  return `${size}:${Math.trunc(mtimeMs)}:${createHash('sha256').update(first).digest('hex').slice(0, 32)}`;
}

export async function openByteSource(spec: string, options: OpenOptions = {}): Promise<ByteSource> {
  if (spec === '-') return fromStream('stdin', options.stdin ?? process.stdin, { sizeBytes: undefined, fingerprint: undefined, gzip: undefined });
  const file = path.resolve(spec);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new AppError('not_found', `no such file: ${spec}`);
  if (!info.isFile()) throw new AppError('validation_failed', `not a file: ${spec}`);
  const first = await readPrefix(file, HEAD_BYTES);
  const fingerprint = fingerprintOf(info.size, info.mtimeMs, first);
  const gzip = first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1];
  const start = gzip ? 0 : (options.start ?? 0);
  return fromStream(file, createReadStream(file, { start, highWaterMark: 256 * 1024 }), { sizeBytes: info.size, fingerprint, gzip, startRaw: start });
}

async function readPrefix(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

interface StreamFacts {
  sizeBytes: number | undefined;
  fingerprint: string | undefined;
  /** Known from the file's first bytes; undefined → look at the stream (stdin). */
  gzip: boolean | undefined;
  startRaw?: number;
}

async function fromStream(name: string, stream: NodeJS.ReadableStream, facts: StreamFacts): Promise<ByteSource> {
  const { sizeBytes, fingerprint } = facts;
  let raw = facts.startRaw ?? 0;
  let failure: Error | undefined;
  const rawIterator = (async function* () {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      raw += buffer.length;
      yield buffer;
    }
  })();

  // Peek the raw stream for the gzip magic, then decode; peek the decoded stream for the head.
  const rawPeek = await peek(rawIterator, 2);
  const compressed = facts.gzip ?? (rawPeek.head[0] === GZIP_MAGIC[0] && rawPeek.head[1] === GZIP_MAGIC[1]);
  const decoded = compressed ? gunzip(rawPeek.chunks, (error) => (failure = error)) : rawPeek.chunks;
  const decodedPeek = await peek(decoded, HEAD_BYTES);
  return {
    name,
    sizeBytes,
    compressed,
    fingerprint,
    head: decodedPeek.head,
    chunks: decodedPeek.chunks,
    bytesRead: () => raw,
    error: () => failure,
  };
}

async function* gunzip(chunks: AsyncIterable<Buffer>, onError: (error: Error) => void): AsyncGenerator<Buffer> {
  const source = Readable.from(chunks);
  const inflate = createGunzip();
  source.on('error', (error) => inflate.destroy(error));
  source.pipe(inflate);
  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    onError(new Error(`gzip stream is damaged or truncated (${reason})`));
  } finally {
    source.destroy();
  }
}

/** Reads at least `bytes` (or to the end), returning them and an iterable that replays them first. */
async function peek(iterable: AsyncIterable<Buffer>, bytes: number): Promise<{ head: Buffer; chunks: AsyncIterable<Buffer> }> {
  const iterator = iterable[Symbol.asyncIterator]();
  const buffered: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    buffered.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(buffered).subarray(0, bytes);
  async function* replay() {
    yield* buffered;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, chunks: replay() };
}
