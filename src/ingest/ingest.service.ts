import { createHash } from 'node:crypto';
import type { AnalyticsDb } from '../analytics-store/index.ts';
import { AppError, type Clock } from '../platform/index.ts';
import type { Candidate, QuarantineReason } from './adapters/adapter.ts';
import { openByteSource, sourceIdentity, type SourceIdentity } from './byte-source.ts';
import { adapters, checkFormatName, detectFormat, stemOf, type IngestFormat } from './formats.ts';
import {
  appendInteractions,
  deleteInteractions,
  findContentHashes,
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
import { FormatProblem } from './readers.ts';
import { redactInteraction } from './redact-record.ts';
import { emptyRedactionCounts, redactText, type RedactionCounts } from './redaction.ts';
import { validateInteraction } from './validate.ts';

/**
 * `loopwise ingest`: sources → adapter → one validation gate → redaction → batched, transactional
 * loads into DuckDB. Per batch, one transaction writes the changed interactions (delete + insert
 * of all their rows), the batch's quarantine rows, and the source's checkpoint. So a kill at any
 * instant leaves whole batches; a rerun resumes after the last one (or, if the file changed,
 * starts over), and because unchanged records are recognised by content hash, a rerun of any
 * prefix converges on the tables of one clean run.
 */

export interface IngestOptions {
  listingId: string;
  paths: string[];
  /** Omit to infer each source's format. */
  format?: IngestFormat;
  redact: boolean;
  /** Interactions per transaction (default 1,000); a batch also closes at 20,000 messages. */
  batchSize?: number;
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

export interface SourceSummary extends RunTotals {
  source: string;
  format: IngestFormat | null;
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
      const csvName = /\.csv(\.gz)?$/i.test(options.paths[0]!);
      if (options.format ? options.format !== 'csv' : !csvName) {
        throw new AppError('validation_failed', 'an interactions table (--interactions) goes with CSV input (a .csv messages table, or --format csv)');
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
    const saved = identity.fingerprint ? await getCheckpoint(db, listingId, identity.name) : undefined;
    const resume =
      saved && !saved.completed && saved.fingerprint === identity.fingerprint && saved.redact === options.redact && (!options.format || options.format === saved.format)
        ? saved
        : undefined;
    // Line formats in a plain file continue at the byte offset; others re-read and skip.
    const seek = resume && identity.seekable && adapters[resume.format as IngestFormat]?.seekable ? resume : undefined;
    const source = await openByteSource(spec, { ...(seek ? { start: seek.nextOffset } : {}), ...(options.stdin ? { stdin: options.stdin } : {}) });
    const format = options.format ?? (resume ? checkFormatName(resume.format) : detectFormat(source.name, source.head));

    const summary: SourceSummary = {
      source: source.name,
      format: format ?? null,
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
    const companion = format === 'csv' && options.interactions ? await openByteSource(options.interactions) : undefined;
    const candidates = adapters[format].adapter(source.chunks, {
      stem: options.idPrefix ?? stemOf(source.name),
      maxRecordBytes: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      start,
      failed: source.error,
      ...(companion ? { companion: { name: companion.name, chunks: companion.chunks, failed: companion.error } } : {}),
    });

    const batchLimit = options.batchSize ?? DEFAULT_BATCH;
    let items = new Map<string, StoredInteraction>();
    let quarantine: QuarantineEntry[] = [];
    let batchFrom = skipBelow;
    let batchMessages = 0;
    let batchChars = 0;
    let next = { index: skipBelow, line: start.line, offset: start.offset };
    let sawTruncated = false;

    const progress = () =>
      options.onProgress?.({
        source: source.name,
        sourceNumber: place.number,
        sourceCount: place.count,
        bytesRead: source.bytesRead(),
        totalBytes: source.sizeBytes,
        records: summary.records,
        quarantined: summary.quarantined + quarantine.length,
        elapsedMs: Date.now() - started,
      });

    const quarantineEntry = (reason: QuarantineReason, detail: string, excerpt: string, at: { index: number; line?: number; offset?: number }) => {
      quarantine.push({
        source: source.name,
        format,
        index: at.index,
        line: at.line,
        offset: at.offset,
        reason,
        detail: detail.slice(0, 2000),
        excerpt: safeExcerpt(excerpt, options.redact, summary.redactions, reason === 'oversize' || reason === 'truncated'),
      });
      summary.reasons[reason] = (summary.reasons[reason] ?? 0) + 1;
    };

    /** Writes the batch so far, its quarantine rows and the checkpoint in one transaction. */
    const flush = async (final: boolean) => {
      const batch = [...items.values()];
      const entries = quarantine;
      const range = { fromIndex: batchFrom, toIndex: next.index - 1 };
      const at = next;
      const counted = await db.transaction(async () => {
        const now = clock.now();
        const existing = await findContentHashes(db, listingId, batch.map((item) => item.record.id));
        const changed = batch.filter((item) => existing.get(item.record.id) !== item.hash);
        const replaced = changed.filter((item) => existing.has(item.record.id)).map((item) => item.record.id);
        await deleteInteractions(db, listingId, replaced);
        const messages = await appendInteractions(db, listingId, changed, { runId, redacted: options.redact, now });
        if (range.toIndex >= range.fromIndex) await replaceQuarantine(db, listingId, source.name, range, entries, { runId, now });
        if (final) await trimQuarantine(db, listingId, source.name, at.index);
        await saveCheckpoint(db, listingId, source.name, checkpointOf(at, final), { runId, now });
        return { messages, accepted: changed.length - replaced.length, updated: replaced.length, unchanged: batch.length - changed.length };
      });
      summary.messages += counted.messages;
      summary.accepted += counted.accepted;
      summary.updated += counted.updated;
      summary.unchanged += counted.unchanged;
      summary.quarantined += entries.length;
      items = new Map();
      quarantine = [];
      batchFrom = at.index;
      batchMessages = 0;
      batchChars = 0;
      progress();
      await options.onBatchCommitted?.({ source: source.name, nextIndex: at.index, final });
    };

    const accept = (candidate: Extract<Candidate, { ok: true }>) => {
      const validated = validateInteraction(candidate.value, { listingId, now: clock.now() });
      if (!validated.ok) {
        quarantineEntry(validated.reason, validated.detail, JSON.stringify(candidate.value) ?? '', candidate.at);
        return;
      }
      const record = options.redact ? redactInteraction(validated.record, listingId, summary.redactions) : validated.record;
      const hash = createHash('sha256')
        .update(options.redact ? 'redacted\n' : 'raw\n')
        .update(JSON.stringify(record))
        .digest('hex');
      if (items.has(record.id)) {
        summary.superseded++;
        items.delete(record.id);
      }
      items.set(record.id, { record, hash, source: source.name, format, index: candidate.at.index, line: candidate.at.line });
      batchMessages += record.messages.length;
      for (const message of record.messages) batchChars += (message.text?.length ?? 0) + (message.transcript?.length ?? 0);
    };

    /** Reads every candidate into batches; true when stopped by the signal. */
    const readAll = async (): Promise<boolean> => {
      try {
        for await (const candidate of candidates) {
          if (candidate.at.index < skipBelow) continue;
          summary.records++;
          if (candidate.ok) accept(candidate);
          else {
            if (candidate.reason === 'truncated') sawTruncated = true;
            quarantineEntry(candidate.reason, candidate.detail, candidate.excerpt, candidate.at);
          }
          next = candidate.at.next;
          if (items.size >= batchLimit || batchMessages >= BATCH_MESSAGES || batchChars >= BATCH_CHARS || quarantine.length >= batchLimit) {
            await flush(false);
          } else if ((summary.records & 255) === 0) progress();
          if (options.signal?.aborted) return true;
        }
      } catch (error) {
        if (!(error instanceof FormatProblem)) throw error;
        // The file is not (or stops being) what its format says: keep what was read, record why.
        summary.records++;
        quarantineEntry(error.reason, error.message, source.head.toString('utf8', 0, 200), { index: next.index });
        next = { ...next, index: next.index + 1 };
      }
      const failure = source.error();
      if (failure && !sawTruncated) {
        summary.records++;
        quarantineEntry('truncated', failure.message, '', { index: next.index, offset: next.offset });
        next = { ...next, index: next.index + 1 };
      }
      return false;
    };

    const interrupted = await readAll();
    await flush(!interrupted);
    summary.status = interrupted ? 'interrupted' : 'completed';
    summary.bytes = source.bytesRead();
    summary.seconds = (Date.now() - started) / 1000;
    return summary;
  }

  return { ingest };
}

export type IngestService = ReturnType<typeof createIngestService>;

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

