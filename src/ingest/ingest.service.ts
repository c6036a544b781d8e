import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import { AppError, createTimeSlice, type Clock } from '../platform/index.ts';
import { decodeRaw, parseJson, positionOf, type Candidate, type QuarantineReason } from './adapters/adapter.ts';
import { isBlank } from './adapters/jsonl.adapter.ts';
import { openByteSource, sourceIdentity, type SourceIdentity } from './byte-source.ts';
import { csvRecordRows, dropCsvPlan, ensureCsvMacros, layoutCsvChunk, planCsv, planParquet, readRawLines, type CsvPlan } from './fast-csv.store.ts';
import { jsonlMessages, openJsonlChunk, type JsonlChunk } from './fast-jsonl.store.ts';
import { dropChunkTables, ensureRuleMacros, keptLabels, keptMessages, rejectedRecords, stage, validate } from './fast-rules.ts';
import { adapters, checkFormatName, detectFormat, stemOf, type IngestFormat } from './formats.ts';
import {
  appendInteractions,
  getCheckpoint,
  finishRun,
  replaceQuarantine,
  saveCheckpoint,
  startRun,
  trimQuarantine,
  type Checkpoint,
  type QuarantineEntry,
  type RunTotals,
  type StoredInteraction,
} from './ingest.store.ts';
import { FormatProblem, readLines } from './readers.ts';
import { formatCsvRow, splitCsvFields, type CsvField } from './csv.ts';
import { csvGroupRecord, type Row as CsvRow } from './adapters/csv.adapter.ts';
import { redactInteraction } from './redact-record.ts';
import { emptyRedactionCounts, redactText, type RedactionCounts } from './redaction.ts';
import { useSqlFunctions } from './sql-functions.ts';
import { mergeStage, resetStage, stagedIndexes, stageTables, unstage, type MoreStaged } from './staging.store.ts';
import { validateInteraction } from './validate.ts';

/**
 * `loopwise ingest`: sources → adapter → one validation gate → redaction → batched, transactional
 * loads into DuckDB. Per batch, one transaction writes the changed interactions (delete + insert
 * of all their rows), the batch's quarantine rows, and the source's checkpoint. So a kill at any
 * instant leaves whole batches; a rerun resumes after the last one (or, if the file changed,
 * starts over), and because unchanged records are recognised by content hash, a rerun of any
 * prefix converges on the tables of one clean run.
 *
 * Two engines fill a batch. The JS path parses, validates (zod) and redacts record by record.
 * The SQL fast path (canonical JSONL files; fast-rules.ts) hands whole chunks of lines to DuckDB,
 * which parses, validates and redacts them in bulk; the records its rules do not accept take the
 * JS path, record by record, inside the same batch. Both write through the same staging tables
 * and merge (staging.store.ts), so they produce the same tables.
 */

export interface IngestOptions {
  listingId: string;
  paths: string[];
  /** Omit to infer each source's format. */
  format?: IngestFormat;
  redact: boolean;
  /**
   * Interactions per transaction: default 1,000 on the JS path (a batch also closes at 20,000
   * messages) and 10,000 on the SQL path (a chunk also closes at 24 MiB of input).
   */
  batchSize?: number;
  /** `js` forces the record-by-record path; `sql` (the default) uses the SQL fast path where it applies. */
  engine?: IngestEngine;
  /** SQL path: connections working side by side (default 2; 1 runs chunks strictly one after the other). */
  workers?: number;
  /** Larger records are quarantined as oversize (default 16 MiB). */
  maxRecordBytes?: number;
  /**
   * CSV: the interactions table joined (by id) to the one messages table in `paths`. Its
   * fingerprint is part of the source's, so changing either file restarts rather than resumes.
   */
  interactions?: string;
  /** Prefix for ids derived from file names (USS dialogues); default the file's stem. */
  idPrefix?: string;
  stdin?: NodeJS.ReadableStream;
  /** Aborting finishes the current batch, marks the run interrupted and returns. */
  signal?: AbortSignal;
  /**
   * The process also serves requests (a file handed to the server): pause every few milliseconds
   * so they get the event loop (time-slice.ts). A CLI run owns its process and does not pause.
   */
  shareEventLoop?: boolean;
  onProgress?: (progress: IngestProgress) => void;
  /** After each committed batch (a throw here stops the run, as a crash would). */
  onBatchCommitted?: (batch: { source: string; nextIndex: number; final: boolean }) => void | Promise<void>;
}

export interface IngestProgress {
  source: string;
  sourceNumber: number;
  sourceCount: number;
  bytesRead: number;
  totalBytes: number | undefined;
  records: number;
  quarantined: number;
  elapsedMs: number;
}

export type IngestEngine = 'sql' | 'js';

export interface SourceSummary extends RunTotals {
  source: string;
  format: IngestFormat | null;
  /** Which engine read the source. */
  engine: IngestEngine;
  /** SQL engine: records its rules left to the JS path (invalid ones, and valid but unusual ones). */
  checkedInJs: number;
  status: 'completed' | 'empty' | 'interrupted';
  /** Records skipped because a previous run had committed them. */
  resumedAfter: number;
  /** Records replaced by a later record with the same id in the same batch. */
  superseded: number;
  reasons: Partial<Record<QuarantineReason, number>>;
  redactions: RedactionCounts;
  bytes: number;
  seconds: number;
}

export interface IngestSummary extends RunTotals {
  runId: string;
  listingId: string;
  redact: boolean;
  status: 'completed' | 'interrupted';
  sources: SourceSummary[];
  seconds: number;
  messagesPerSecond: number;
}

const DEFAULT_BATCH = 1000;
const BATCH_MESSAGES = 20_000;
const BATCH_CHARS = 32 * 1024 * 1024;
const DEFAULT_CHUNK = 10_000;
const CHUNK_CHARS = 24 * 1024 * 1024;
/** Connections the fast path validates and commits chunks on, side by side. */
const FAST_WORKERS = 2;

/** How a format lays a chunk out for the rules (fast-rules.ts), and handles what they reject. */
interface Layout {
  /** Builds lw_ir_rec on the worker's connection; returns the messages query (undefined: nothing to validate). */
  prepare(worker: Worker): Promise<string | undefined>;
  rejected(worker: Worker, batch: Batch, records: Array<{ idx: number; line: number | null; off: number | null }>): Promise<void>;
}

interface FastPipeline {
  /** The worker collecting the next chunk. */
  worker: Worker;
  /** Validates the current worker's chunk, then commits it after the chunk before it. */
  dispatch(final: boolean, layout: Layout): void;
  /** Moves to the next worker once its previous chunk is committed. */
  next(): Promise<void>;
}

/** One batch: the records and quarantine rows committed together, and where the source continues. */
interface Batch {
  from: number;
  next: { index: number; line: number; offset: number };
  items: Map<string, StoredInteraction>;
  quarantine: QuarantineEntry[];
  /** JS path: messages and characters in `items` (a batch closes at BATCH_MESSAGES / BATCH_CHARS). */
  messages: number;
  chars: number;
  /** Fast path: ids the SQL staged (→ source index), ids a later JS record supersedes, and the staged rows read in place. */
  sqlStaged: Map<string, number>;
  unstaged: string[];
  sqlRows: MoreStaged | undefined;
}

/** A connection of the fast path with the chunk it is filling or working on. */
interface Worker {
  db: AnalyticsDb;
  /** JSONL: the lines being collected. */
  chunk: JsonlChunk | undefined;
  batch: Batch;
  /** Settles when the worker's last chunk is committed (or failed). */
  done: Promise<void>;
}
const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;
const EXCERPT_CHARS = 1000;

export interface IngestDeps {
  db: AnalyticsDb;
  clock: Clock;
  newId: () => string;
}

export function createIngestService(deps: IngestDeps) {
  const { db, clock } = deps;

  async function ingest(options: IngestOptions): Promise<IngestSummary> {
    if (options.paths.length === 0) throw new AppError('validation_failed', 'no input: give one or more paths, or - for stdin');
    if (options.paths.filter((spec) => spec === '-').length > 1) throw new AppError('validation_failed', 'stdin (-) can be read once');
    // Fail before writing anything when a path is wrong.
    const identities = [];
    for (const spec of options.paths) identities.push(await sourceIdentity(spec));
    if (options.interactions !== undefined) {
      if (options.paths.length !== 1) throw new AppError('validation_failed', 'an interactions table goes with exactly one messages table');
      const tableName = /\.(csv(\.gz)?|parquet)$/i.test(options.paths[0]!);
      if (options.format ? options.format !== 'csv' && options.format !== 'parquet' : !tableName) {
        throw new AppError('validation_failed', 'an interactions table (--interactions) goes with CSV or Parquet input (a .csv or .parquet messages table, or --format csv|parquet)');
      }
      if (options.interactions === '-') throw new AppError('validation_failed', 'the interactions table must be a file, not stdin');
      const companion = await sourceIdentity(options.interactions);
      const first = identities[0]!;
      identities[0] = { ...first, fingerprint: first.fingerprint && companion.fingerprint ? `${first.fingerprint}+${companion.fingerprint}` : undefined };
    }
    const runId = deps.newId();
    const started = clock.now();
    await startRun(db, { runId, listingId: options.listingId, sources: identities.map((identity) => identity.name), redact: options.redact, now: started });
    const summaries: SourceSummary[] = [];
    try {
      for (const [position, spec] of options.paths.entries()) {
        if (options.signal?.aborted) break;
        const identity = identities[position]!;
        summaries.push(await ingestSource(options, runId, spec, identity, { number: position + 1, count: options.paths.length }));
      }
    } catch (error) {
      await finishRun(db, runId, { status: 'failed', totals: sum(summaries), error: error instanceof Error ? error.message : String(error), now: clock.now() }).catch(() => undefined);
      throw error;
    }
    const status = options.signal?.aborted || summaries.some((source) => source.status === 'interrupted') ? 'interrupted' : 'completed';
    const totals = sum(summaries);
    await finishRun(db, runId, { status, totals, now: clock.now() });
    const seconds = (clock.now().getTime() - started.getTime()) / 1000;
    return {
      runId,
      listingId: options.listingId,
      redact: options.redact,
      status,
      ...totals,
      sources: summaries,
      seconds,
      messagesPerSecond: seconds > 0 ? Math.round(totals.messages / seconds) : totals.messages,
    };
  }

  async function ingestSource(
    options: IngestOptions,
    runId: string,
    spec: string,
    identity: SourceIdentity,
    place: { number: number; count: number },
  ): Promise<SourceSummary> {
    const started = Date.now();
    const listingId = options.listingId;
    const slice = options.shareEventLoop ? createTimeSlice() : undefined;
    const saved = identity.fingerprint ? await getCheckpoint(db, listingId, identity.name) : undefined;
    const resume =
      saved && !saved.completed && saved.fingerprint === identity.fingerprint && saved.redact === options.redact && (!options.format || options.format === saved.format)
        ? saved
        : undefined;
    // Line formats in a plain file continue at the byte offset; others re-read and skip.
    const seek = resume && identity.seekable && adapters[resume.format as IngestFormat]?.seekable ? resume : undefined;
    const source = await openByteSource(spec, { ...(seek ? { start: seek.nextOffset } : {}), ...(options.stdin ? { stdin: options.stdin } : {}) });
    const format = options.format ?? (resume ? checkFormatName(resume.format) : detectFormat(source.name, source.head));

    // The fast path reads canonical JSONL (a file or stdin, plain or gzipped), CSV tables in files,
    // and Parquet, which only it reads.
    if (format === 'parquet' && (options.engine === 'js' || spec === '-')) {
      throw new AppError('validation_failed', options.engine === 'js' ? 'Parquet is read by the SQL engine only (leave out --engine js)' : 'Parquet input must be a file, not stdin');
    }
    const engine: IngestEngine = options.engine !== 'js' && (format === 'jsonl' || format === 'parquet' || (format === 'csv' && spec !== '-')) ? 'sql' : 'js';
    const summary: SourceSummary = {
      source: source.name,
      format: format ?? null,
      engine,
      checkedInJs: 0,
      status: 'completed',
      records: 0,
      accepted: 0,
      updated: 0,
      unchanged: 0,
      quarantined: 0,
      messages: 0,
      resumedAfter: resume?.nextIndex ?? 0,
      superseded: 0,
      reasons: {},
      redactions: emptyRedactionCounts(),
      bytes: 0,
      seconds: 0,
    };
    const fingerprint = identity.fingerprint ?? 'stdin';
    const checkpointOf = (next: { index: number; line: number; offset: number }, completed: boolean): Checkpoint => ({
      fingerprint,
      format: format ?? 'jsonl',
      redact: options.redact,
      nextIndex: next.index,
      nextLine: next.line,
      nextOffset: next.offset,
      completed,
    });

    if (!format) {
      // Empty input: nothing to load, but rows quarantined from an earlier version of it go.
      await db.transaction(async () => {
        await trimQuarantine(db, listingId, source.name, 0);
        await saveCheckpoint(db, listingId, source.name, checkpointOf({ index: 0, line: 1, offset: 0 }, true), { runId, now: clock.now() });
      });
      summary.status = 'empty';
      summary.seconds = (Date.now() - started) / 1000;
      return summary;
    }

    const skipBelow = resume?.nextIndex ?? 0;
    const start = seek ? { index: seek.nextIndex, line: seek.nextLine, offset: seek.nextOffset } : { index: 0, line: 1, offset: 0 };
    const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    const batchLimit = options.batchSize ?? (engine === 'sql' ? DEFAULT_CHUNK : DEFAULT_BATCH);
    let next = { index: skipBelow, line: start.line, offset: start.offset };
    let sawTruncated = false;
    /** Quarantine entries not yet committed (for the progress display). */
    let pendingQuarantine = 0;

    /** CSV on the fast path: DuckDB reads the file, so progress is measured in records. */
    let recordFraction: number | undefined;
    const progress = () =>
      options.onProgress?.({
        source: source.name,
        sourceNumber: place.number,
        sourceCount: place.count,
        bytesRead: recordFraction !== undefined && source.sizeBytes ? Math.round(source.sizeBytes * recordFraction) : source.bytesRead(),
        totalBytes: source.sizeBytes,
        records: summary.records,
        quarantined: summary.quarantined + pendingQuarantine,
        elapsedMs: Date.now() - started,
      });

    const newBatch = (from: number): Batch => ({
      from,
      next,
      items: new Map(),
      quarantine: [],
      messages: 0,
      chars: 0,
      sqlStaged: new Map(),
      unstaged: [],
      sqlRows: undefined,
    });

    const quarantineEntry = (batch: Batch, reason: QuarantineReason, detail: string, excerpt: string, at: { index: number; line?: number; offset?: number }) => {
      batch.quarantine.push({
        source: source.name,
        format,
        index: at.index,
        line: at.line,
        offset: at.offset,
        reason,
        detail: detail.slice(0, 2000),
        excerpt: safeExcerpt(excerpt, options.redact, summary.redactions, reason === 'oversize' || reason === 'truncated'),
      });
      pendingQuarantine++;
      summary.reasons[reason] = (summary.reasons[reason] ?? 0) + 1;
    };

    /** `withoutOffset`: the source has no byte offsets (Parquet). */
    const accept = (batch: Batch, candidate: Extract<Candidate, { ok: true }>, withoutOffset = false) => {
      const validated = validateInteraction(candidate.value, { listingId, now: clock.now() });
      if (!validated.ok) {
        const at = withoutOffset ? { index: candidate.at.index, line: candidate.at.line } : candidate.at;
        quarantineEntry(batch, validated.reason, validated.detail, JSON.stringify(candidate.value) ?? '', at);
        return;
      }
      const record = options.redact ? redactInteraction(validated.record, listingId, summary.redactions) : validated.record;
      // The last record with an id wins, whichever engine read it.
      const stagedAt = batch.sqlStaged.get(record.id);
      if (stagedAt !== undefined) {
        summary.superseded++;
        if (stagedAt > candidate.at.index) return;
        batch.sqlStaged.delete(record.id);
        batch.unstaged.push(record.id);
      }
      if (batch.items.has(record.id)) {
        summary.superseded++;
        batch.items.delete(record.id);
      }
      batch.items.set(record.id, { record, hash: '', source: source.name, format, index: candidate.at.index, line: candidate.at.line });
      batch.messages += record.messages.length;
      for (const message of record.messages) batch.chars += (message.text?.length ?? 0) + (message.transcript?.length ?? 0);
    };

    /**
     * Writes a batch (the records staged by SQL on `on` and those accepted here), its quarantine
     * rows and the checkpoint after it in one transaction, on the connection that staged it.
     */
    const commit = async (on: AnalyticsDb, batch: Batch, final: boolean) => {
      const range = { fromIndex: batch.from, toIndex: batch.next.index - 1 };
      const at = batch.next;
      const counted = await on.transaction(async () => {
        const now = clock.now();
        await unstage(on, batch.unstaged, batch.sqlRows ? 'lw_keep' : undefined);
        await appendInteractions(on, listingId, [...batch.items.values()], { runId, redacted: options.redact, now, tables: stageTables });
        const merged = await mergeStage(on, listingId, { runId, now }, batch.sqlRows);
        if (range.toIndex >= range.fromIndex) await replaceQuarantine(on, listingId, source.name, range, batch.quarantine, { runId, now });
        if (final) await trimQuarantine(on, listingId, source.name, at.index);
        await saveCheckpoint(on, listingId, source.name, checkpointOf(at, final), { runId, now });
        return merged;
      });
      await resetStage(on);
      summary.messages += counted.messages;
      summary.accepted += counted.accepted;
      summary.updated += counted.updated;
      summary.unchanged += counted.unchanged;
      summary.quarantined += batch.quarantine.length;
      pendingQuarantine -= batch.quarantine.length;
      progress();
      await options.onBatchCommitted?.({ source: source.name, nextIndex: at.index, final });
    };

    const noteSourceFailure = (batch: Batch) => {
      const failure = source.error();
      if (failure && !sawTruncated) {
        summary.records++;
        quarantineEntry(batch, 'truncated', failure.message, '', { index: next.index, offset: next.offset });
        next = { ...next, index: next.index + 1 };
      }
    };

    /** JS path: reads every candidate into batches; true when stopped by the signal. */
    const readAll = async (): Promise<boolean> => {
      await resetStage(db);
      const companion = format === 'csv' && options.interactions ? await openByteSource(options.interactions) : undefined;
      const candidates = adapters[format].adapter(source.chunks, {
        stem: options.idPrefix ?? stemOf(source.name),
        maxRecordBytes,
        start,
        failed: source.error,
        ...(companion ? { companion: { name: companion.name, chunks: companion.chunks, failed: companion.error } } : {}),
      });
      let batch = newBatch(skipBelow);
      const flush = async (final: boolean) => {
        batch.next = next;
        await commit(db, batch, final);
        batch = newBatch(next.index);
      };
      let interrupted = false;
      try {
        for await (const candidate of candidates) {
          if (slice?.due()) await slice.pause();
          if (candidate.at.index < skipBelow) continue;
          summary.records++;
          if (candidate.ok) accept(batch, candidate);
          else {
            if (candidate.reason === 'truncated') sawTruncated = true;
            quarantineEntry(batch, candidate.reason, candidate.detail, candidate.excerpt, candidate.at);
          }
          next = candidate.at.next;
          if (batch.items.size >= batchLimit || batch.messages >= BATCH_MESSAGES || batch.chars >= BATCH_CHARS || batch.quarantine.length >= batchLimit) {
            await flush(false);
          } else if ((summary.records & 255) === 0) progress();
          if (options.signal?.aborted) {
            interrupted = true;
            break;
          }
        }
      } catch (error) {
        if (!(error instanceof FormatProblem)) throw error;
        // The file is not (or stops being) what its format says: keep what was read, record why.
        summary.records++;
        quarantineEntry(batch, error.reason, error.message, source.head.toString('utf8', 0, 200), { index: next.index });
        next = { ...next, index: next.index + 1 };
      }
      if (!interrupted) noteSourceFailure(batch);
      await flush(!interrupted);
      return interrupted;
    };

    /**
     * SQL fast path (fast-rules.ts). A format reader lays each chunk of records out for DuckDB;
     * the rules stage the records they accept, and the rest come back here, one by one, to the JS
     * path (the zod schema, redaction), so their outcome and quarantine rows are the JS path's
     * own.
     *
     * Two connections take alternate chunks: while one validates chunk n+1, the other commits
     * chunk n, so both cores work (a chunk's tables are small, and DuckDB parallelises a
     * statement only across 122,880-row groups). Commits still happen one at a time, in order,
     * each with its checkpoint; a kill loses at most the chunks not yet committed.
     */
    const runFast = async (produce: (pipeline: FastPipeline) => Promise<boolean>): Promise<boolean> => {
      const workers: Worker[] = [];
      const forks: AnalyticsDb[] = [];
      try {
        for (let number = 0; number < (options.workers ?? FAST_WORKERS); number++) {
          const on = number === 0 ? db : await db.fork();
          if (number > 0) forks.push(on);
          const functions = await useSqlFunctions(on);
          functions.counts = summary.redactions;
          await ensureRuleMacros(on);
          await ensureCsvMacros(on);
          await resetStage(on);
          const chunk = format === 'jsonl' ? await openJsonlChunk(on) : undefined;
          await chunk?.reset();
          workers.push({ db: on, chunk, batch: newBatch(next.index), done: Promise.resolve() });
        }
        let committed: Promise<void> = Promise.resolve();
        let turn = 0;
        const pipeline: FastPipeline = {
          worker: workers[0]!,
          dispatch(final, layout) {
            const current = pipeline.worker;
            const batch = current.batch;
            batch.next = next;
            const previous = committed;
            const work = (async () => {
              try {
                await validateChunk(current, batch, layout);
              } finally {
                // Commit order is source order, even when this chunk failed: the next one waits.
                await previous;
              }
              await commit(current.db, batch, final);
              await dropChunkTables(current.db);
              await current.chunk?.reset();
            })();
            // Awaited later (by next() or at the end); marked handled so a failure waits for that.
            work.catch(() => undefined);
            current.done = work;
            committed = work;
            turn++;
            pipeline.worker = workers[turn % workers.length]!;
          },
          async next() {
            await pipeline.worker.done;
            pipeline.worker.batch = newBatch(next.index);
          },
        };
        const interrupted = await produce(pipeline);
        for (const each of workers) await each.done;
        return interrupted;
      } finally {
        // A failed chunk's sibling may still be running: let it finish before closing.
        for (const each of workers) await each.done.catch(() => undefined);
        for (const each of workers) each.chunk?.close();
        for (const fork of forks) fork.close();
      }
    };

    /** Runs the rules over a laid-out chunk and hands what they reject to the JS path. */
    const validateChunk = async (current: Worker, batch: Batch, layout: Layout) => {
      const messages = await layout.prepare(current);
      if (messages === undefined) return;
      const context = { listingId, now: clock.now() };
      await validate(current.db, context, messages);
      const outcome = await stage(current.db, { ...context, redact: options.redact, source: source.name, format });
      summary.superseded += outcome.superseded;
      batch.sqlRows = { messages: (count) => keptMessages({ redact: options.redact, count }), labels: (count) => keptLabels({ redact: options.redact, count }) };
      const rejected = await rejectedRecords(current.db);
      // Needed only when the JS path handles some records (to let the last of an id win).
      if (rejected.length > 0) batch.sqlStaged = await stagedIndexes(current.db);
      summary.checkedInJs += rejected.length;
      await layout.rejected(current, batch, rejected);
    };

    /** Canonical JSONL: the JS side cuts lines (with their number and offset) and hands them over as bytes. */
    const produceJsonl = async (pipeline: FastPipeline): Promise<boolean> => {
      const layout: Layout = {
        async prepare(current) {
          if (current.chunk!.size === 0) return undefined;
          await current.chunk!.parse();
          return jsonlMessages;
        },
        async rejected(current, batch, rejected) {
          const texts = await current.chunk!.texts(rejected.map((record) => record.idx));
          await current.chunk!.release();
          for (const record of rejected) {
            const text = texts.get(record.idx)!;
            // The JS path needs the record's place only for quarantine rows.
            const at = { index: record.idx, line: record.line!, offset: record.off!, next: { index: record.idx + 1, line: record.line! + 1, offset: record.off! } };
            const parsed = parseJson(text);
            if (parsed.ok) accept(batch, { ok: true, value: parsed.value, at });
            else quarantineEntry(batch, 'malformed_json', parsed.detail, text, at);
          }
        },
      };
      const lines = readLines(source.chunks, { maxBytes: maxRecordBytes, startOffset: start.offset, startLine: start.line, failed: source.error });
      let index = start.index;
      for await (const raw of lines) {
        if (slice?.due()) await slice.pause();
        if (!raw.oversize && !raw.truncated && isBlank(raw.bytes)) continue;
        const at = positionOf(raw, index++);
        if (at.index < skipBelow) continue;
        summary.records++;
        const worker = pipeline.worker;
        // Valid UTF-8 goes to DuckDB as bytes; anything else is quarantined as the JS reader does.
        if (!raw.oversize && !raw.truncated && isUtf8(raw.bytes)) {
          worker.chunk!.add({ idx: at.index, line: at.line, offset: at.offset, bytes: raw.bytes });
        } else {
          const decoded = decodeRaw(raw, { maxRecordBytes, failed: source.error });
          if (decoded.ok) throw new Error(`line ${at.line} was expected to be unreadable`);
          if (decoded.reason === 'truncated') sawTruncated = true;
          quarantineEntry(worker.batch, decoded.reason, decoded.detail, decoded.excerpt, at);
        }
        next = at.next;
        if (worker.chunk!.size >= batchLimit || worker.chunk!.chars >= CHUNK_CHARS || worker.batch.quarantine.length >= batchLimit) {
          pipeline.dispatch(false, layout);
          await pipeline.next();
        } else if ((summary.records & 1023) === 0) progress();
        if (options.signal?.aborted) {
          pipeline.dispatch(false, layout);
          return true;
        }
      }
      noteSourceFailure(pipeline.worker.batch);
      pipeline.dispatch(true, layout);
      return false;
    };

    /** CSV tables staged by DuckDB's reader (fast-csv.store.ts), laid out chunk by chunk. */
    const produceCsv = async (pipeline: FastPipeline, plan: CsvPlan): Promise<boolean> => {
      const total = plan.groups + plan.leftovers;
      const messageColumns = plan.messages.index;
      const layoutOf = (from: number, to: number): Layout => ({
        prepare: (current) => (to > from ? layoutCsvChunk(current.db, plan, from, to) : Promise.resolve(undefined)),
        async rejected(current, batch, rejected) {
          const records = await csvRecordRows(current.db, plan, rejected.map((record) => record.idx));
          // CSV rows are re-read from the file (csv.ts splits them; excerpts show them as written).
          const none = new Map<number, { text: string; offset: number }>();
          const raw = plan.kind === 'csv' ? await readRawLines(plan.messages, [...records.values()].flatMap((record) => record.rows.map((row) => row.line))) : none;
          const rawInteractions =
            plan.kind === 'csv' && plan.interactions
              ? await readRawLines(plan.interactions, [...records.values()].flatMap((record) => (record.interaction ? [record.interaction.line] : [])))
              : none;
          const asRow = (row: { fields: CsvField[]; line: number }, text: string | undefined): CsvRow => {
            const split = text === undefined ? undefined : splitCsvFields(text);
            return { fields: split?.ok ? split.fields : row.fields, line: row.line, text: text ?? formatCsvRow(row.fields) };
          };
          for (const record of rejected) {
            const found = records.get(record.idx)!;
            const rows = found.rows.map((row) => asRow(row, raw.get(row.line)?.text));
            const interaction = found.interaction ? asRow(found.interaction, rawInteractions.get(found.interaction.line)?.text) : undefined;
            const first = found.rows[0];
            const place = first ? { line: first.line, offset: raw.get(first.line)?.offset ?? 0 } : plan.end;
            const at = { index: record.idx, ...place, next: { index: record.idx + 1, ...place } };
            const built = csvGroupRecord(found.id, rows, messageColumns, interaction ? { row: interaction, columns: plan.interactions!.index } : undefined);
            // A Parquet row has no byte offset.
            if (built.ok) accept(batch, { ok: true, value: built.value, at }, plan.kind === 'parquet');
            else quarantineEntry(batch, 'invalid_record', built.detail, built.excerpt, plan.kind === 'csv' ? at : { index: at.index, line: at.line });
          }
        },
      });
      for (let from = skipBelow; from < total || from === skipBelow; from += batchLimit) {
        const to = Math.min(total, from + batchLimit);
        summary.records += Math.max(0, to - from);
        next = { index: Math.max(to, from), line: 0, offset: 0 };
        const final = to >= total;
        pipeline.dispatch(final, layoutOf(from, to));
        recordFraction = total > 0 ? Math.min(1, to / total) : 1;
        progress();
        if (final) return false;
        await pipeline.next();
        if (options.signal?.aborted) {
          // The chunk just dispatched is the last one: it commits as not final.
          return true;
        }
      }
      return false;
    };

    let interrupted: boolean;
    const restoreMemory = engine === 'sql' ? await capMemory(db) : async () => undefined;
    try {
    if (engine === 'sql' && (format === 'csv' || format === 'parquet')) {
      // DuckDB's reader needs files; it stages them whole, or (CSV) hands them back when it cannot read them exactly.
      try {
        const plan =
          format === 'parquet'
            ? await planParquet(db, source.name, options.interactions && path.resolve(options.interactions))
            : spec === '-'
              ? undefined
              : await planCsv(db, spec, options.interactions);
        if (plan) interrupted = await runFast((pipeline) => produceCsv(pipeline, plan));
        else {
          summary.engine = 'js';
          interrupted = await readAll();
        }
      } finally {
        await dropCsvPlan(db);
      }
    } else {
      interrupted = engine === 'sql' ? await runFast(produceJsonl) : await readAll();
    }
    } finally {
      await restoreMemory();
    }
    summary.status = interrupted ? 'interrupted' : 'completed';
    // DuckDB read the CSV file itself: what the JS path would have read is all of it.
    summary.bytes = summary.engine === 'sql' && (format === 'csv' || format === 'parquet') && !interrupted ? (source.sizeBytes ?? source.bytesRead()) : source.bytesRead();
    summary.seconds = (Date.now() - started) / 1000;
    return summary;
  }

  return { ingest };
}

export type IngestService = ReturnType<typeof createIngestService>;

// DuckDB may use 80 % of the machine by default and keeps the table blocks it wrote cached. An
// ingest's chunks are small and its tables are on disk, so a cap keeps the process's memory flat
// whatever the file size (evicting cached blocks, spilling to DuckDB's temp directory if ever
// needed); the caller's setting comes back after. (Flushing the allocator more often than
// DuckDB's default threshold kept RSS a little lower but cost ~10 % of the time.)
const MEMORY_CAP = '384MB';

async function capMemory(db: AnalyticsDb): Promise<() => Promise<void>> {
  const [settings] = await db.all<{ limit: string }>("SELECT current_setting('memory_limit') AS limit");
  const before = settings!;
  await db.run(`SET memory_limit = '${MEMORY_CAP}'`);
  return async () => {
    await db.run(`SET memory_limit = '${before.limit.replace(/'/g, "''")}'`);
  };
}

/**
 * Quarantine excerpts are stored like records: redacted (when redaction is on) and short. A cut
 * through the middle of an e-mail address or card number would slip past the patterns, so text
 * that was cut (here, or upstream for oversize and truncated records) loses its last, partial
 * word before it is redacted.
 */
export function safeExcerpt(raw: string, redact: boolean, counts: RedactionCounts, cut = false): string {
  let excerpt = raw.length > EXCERPT_CHARS * 4 ? raw.slice(0, EXCERPT_CHARS * 4) : raw;
  if (cut || excerpt.length < raw.length) {
    const lastBreak = excerpt.search(/\s\S*$/);
    excerpt = lastBreak > 0 ? excerpt.slice(0, lastBreak) : '';
  }
  if (redact) excerpt = redactText(excerpt, counts);
  return excerpt.length > EXCERPT_CHARS ? `${excerpt.slice(0, EXCERPT_CHARS)}…` : excerpt;
}

function sum(sources: SourceSummary[]): RunTotals {
  const totals: RunTotals = { records: 0, accepted: 0, updated: 0, unchanged: 0, quarantined: 0, messages: 0 };
  for (const source of sources) {
    totals.records += source.records;
    totals.accepted += source.accepted;
    totals.updated += source.updated;
    totals.unchanged += source.unchanged;
    totals.quarantined += source.quarantined;
    totals.messages += source.messages;
  }
  return totals;
}

