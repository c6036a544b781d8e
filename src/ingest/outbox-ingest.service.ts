import { createHash } from 'node:crypto';
import type { AnalyticsDb, AnalyticsOwner } from '../analytics-store/index.ts';
import { advanceCursor, EventNames, lockCursor, readAfterCursor, type StoredEvent } from '../events/index.ts';
import { OUTBOX_INGEST_CURSOR } from '../ingest-status/index.ts';
import { AppError, createTimeSlice, systemClock, type Clock, type Database } from '../platform/index.ts';
import { appendInteractions, deleteInteractions, type StoredInteraction } from './ingest.store.ts';
import type { InteractionEvent, InteractionMessage, InteractionRecord } from './interaction.schemas.ts';
import { getOutboxPosition, loadInteractions, saveOutboxPosition } from './outbox-ingest.store.ts';
import { redactEvent, redactMessage } from './redact-record.ts';
import { emptyRedactionCounts, pseudonymize } from './redaction.ts';

/**
 * The live source: the core's outbox (Postgres `events`) folded into the same DuckDB tables as
 * file ingest, one interaction per ticket, exactly once.
 *
 * Exactly once: the position (id of the last applied event) is kept in DuckDB
 * (`ingest_checkpoints`, key `*`/`outbox`) and written in the same DuckDB transaction as the rows
 * those events produced. Each batch starts from that stored position, so a crash anywhere before
 * COMMIT rolls back rows and position together (the batch is applied again, once), and after
 * COMMIT both are there (nothing is applied twice). Postgres is only read; id holes are handled
 * by readAfterCursor (wait for a late commit, skip a rollback after the grace period).
 *
 * After each commit the position is copied to the Postgres cursor row `analytics` so that any api
 * process can report the lag without opening DuckDB. That copy is informational: it may trail
 * the DuckDB position after a crash (and is fixed by the next run), never lead it.
 */

/** Events applied per DuckDB transaction unless the job says otherwise (see ingestOutbox). */
const DEFAULT_BATCH = 50_000;

/**
 * When the api process runs the fold (the embedded layout), it takes at most a quarter of the
 * event loop: 2 ms of work, then at least 6 ms for requests. With back-to-back 4 ms slices a pass
 * held most of the loop for the seconds it lasted, and a message post could wait behind several
 * slices. Under bench:core's message load (~6,000 posts/s) the fold needs ~11 % of the loop (19 µs
 * per event), so it keeps up with about twice that before its lag grows. Alternating 30 s runs,
 * each holding a pass: p99 1–2 ms lower in each of three pairs, the rate within the noise
 * (bench/README.md).
 */
const SHARED_SLICE_MS = 2;
const SHARED_REST_MS = 6;

/** Events read from the outbox per query (a batch is applied in one DuckDB transaction regardless). */
const READ_PAGE = 500;

/** The events that shape an interaction record; the rest only advance the position. */
const folded = new Set<string>([
  EventNames.ticketCreated,
  EventNames.ticketAssigned,
  EventNames.ticketReleased,
  EventNames.messageCreated,
  EventNames.ticketEnded,
  EventNames.ticketRated,
]);

export interface OutboxIngestDeps {
  /** The core database (read only, apart from the informational cursor copy). */
  db: Database;
  analytics: AnalyticsOwner;
  clock?: Clock;
  /** How long a hole in the event ids may be waited for before it counts as a rollback. */
  gapGraceMs?: number;
  /** Listings whose raw text may be stored (INGEST_RAW_TEXT_LISTINGS); every other one is redacted. */
  rawTextListings?: readonly string[];
  /** True when this process also serves requests (the embedded api): the fold then yields a share of the loop to them. */
  sharesEventLoop?: boolean;
  /** Test seams: a throw here stops the run as a crash at that point would. */
  hooks?: {
    /** Inside the DuckDB transaction, after the rows and the position are written, before COMMIT. */
    beforeCommit?: (batch: { lastId: number; events: number }) => void | Promise<void>;
    /** After COMMIT, before the position is copied to Postgres. */
    afterCommit?: (batch: { lastId: number; events: number }) => void | Promise<void>;
  };
}

export interface OutboxIngestResult {
  /** Events read and applied (or passed over) in this run. */
  applied: number;
  /** Interactions written. */
  interactions: number;
  lastEventId: number;
  /** True when another piece of work held the analytics database, so this run did nothing. */
  skipped?: boolean;
}

export function createOutboxIngest({ db, analytics, clock = systemClock, gapGraceMs = 30_000, rawTextListings = [], sharesEventLoop = false, hooks = {} }: OutboxIngestDeps) {
  const createSlice = () => (sharesEventLoop ? createTimeSlice(SHARED_SLICE_MS, SHARED_REST_MS) : createTimeSlice());
  let mirrored: number | undefined;

  async function mirror(lastId: number) {
    if (mirrored === lastId) return;
    await db.transaction(async (tx) => {
      await lockCursor(tx, OUTBOX_INGEST_CURSOR);
      await advanceCursor(tx, OUTBOX_INGEST_CURSOR, lastId);
    });
    mirrored = lastId;
  }

  async function applyBatch(adb: AnalyticsDb, events: StoredEvent[]): Promise<number> {
    const lastId = events.at(-1)!.id;
    const byListing = new Map<string, Map<string, StoredEvent[]>>();
    for (const event of events) {
      if (!folded.has(event.name) || event.aggregateType !== 'ticket') continue;
      let tickets = byListing.get(event.listingId);
      if (!tickets) byListing.set(event.listingId, (tickets = new Map<string, StoredEvent[]>()));
      const ticketEvents = tickets.get(event.aggregateId);
      if (ticketEvents) ticketEvents.push(event);
      else tickets.set(event.aggregateId, [event]);
    }
    return adb.transaction(async () => {
      const now = clock.now();
      let written = 0;
      for (const [listingId, tickets] of byListing) {
        const redact = !rawTextListings.includes(listingId);
        const { records: stored, messageCounts, hashes } = await loadInteractions(adb, listingId, [...tickets.keys()]);
        const items: StoredInteraction[] = [];
        // Folding redacts every new message (synchronous regex work) and building the rows is
        // synchronous too: in the embedded layout this runs in the api process, so requests get the
        // event loop back every few milliseconds (a step count let a batch block it for 50–110 ms).
        const slice = createSlice();
        for (const [ticketId, ticketEvents] of tickets) {
          if (slice.due()) await slice.pause();
          const storedMessages = messageCounts.get(ticketId) ?? 0;
          const record = foldEvents(stored.get(ticketId) ?? { id: ticketId, messages: [], events: [] }, ticketEvents, redact ? listingId : undefined, storedMessages);
          const hash = chainHash(hashes.get(ticketId), redact, ticketEvents);
          items.push({ record, hash, source: 'outbox', format: 'outbox', index: ticketEvents.at(-1)!.id, line: undefined });
        }
        // The interaction row, its conversation labels and events are replaced; its messages are
        // only appended to, after the ones already stored.
        await deleteInteractions(adb, listingId, [...stored.keys()], { keepMessages: true });
        await appendInteractions(adb, listingId, items, { runId: 'outbox', redacted: redact, now, storedMessages: messageCounts, slice });
        written += items.length;
      }
      await saveOutboxPosition(adb, lastId, now);
      await hooks.beforeCommit?.({ lastId, events: events.length });
      return written;
    });
  }

  /**
   * The events after `afterId`, up to `batchSize`, read a page at a time: a query's result is
   * parsed in one go (libuv reads a socket dry before anything else runs; PGlite executes in the
   * calling thread and resolves without giving up the event loop at all), so 5,000 events in one
   * query held it for 35–120 ms.
   */
  async function readBatch(afterId: number, batchSize: number): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    const slice = createSlice();
    while (events.length < batchSize) {
      const limit = Math.min(READ_PAGE, batchSize - events.length);
      const page = await readAfterCursor(db, { afterId: events.at(-1)?.id ?? afterId, limit, gapGraceMs, now: clock.now() });
      for (const event of page) events.push(event);
      if (page.length < limit) break;
      if (slice.due()) await slice.pause();
    }
    return events;
  }

  async function run(adb: AnalyticsDb, batchSize: number): Promise<OutboxIngestResult> {
    const result: OutboxIngestResult = { applied: 0, interactions: 0, lastEventId: await getOutboxPosition(adb) };
    for (;;) {
      const events = await readBatch(result.lastEventId, batchSize);
      if (events.length === 0) break;
      result.interactions += await applyBatch(adb, events);
      result.lastEventId = events.at(-1)!.id;
      result.applied += events.length;
      await hooks.afterCommit?.({ lastId: result.lastEventId, events: events.length });
      if (events.length < batchSize) break;
    }
    await mirror(result.lastEventId);
    return result;
  }

  /**
   * One pass: applies everything committed after the stored position, in batches. A batch reads
   * back and rewrites the header row and events of each conversation it touches once, so larger
   * batches do less per event under a heavy message load: 20,000 message events over 1,000 open
   * tickets cost ~57 µs of process CPU per event in 5,000-event batches and ~34 µs in one batch
   * (`npm run bench:live-source`). A batch holds its events and rows in memory (tens of
   * MB at the default); rows go to DuckDB a few thousand per statement, and the fold gives the
   * event loop back throughout.
   */
  return async function ingestOutbox({ batchSize = DEFAULT_BATCH }: { batchSize?: number | undefined }): Promise<OutboxIngestResult> {
    try {
      const outcome = await analytics.tryUse((adb) => run(adb, batchSize));
      return outcome ?? { applied: 0, interactions: 0, lastEventId: mirrored ?? 0, skipped: true };
    } catch (error) {
      // Another process (a CLI run) holds the file: not a failure, the next tick catches up.
      if (error instanceof AppError && error.code === 'unavailable') return { applied: 0, interactions: 0, lastEventId: mirrored ?? 0, skipped: true };
      throw error;
    }
  };
}

export type OutboxIngest = ReturnType<typeof createOutboxIngest>;

const isoOf = (value: unknown, fallback: Date): string => {
  const date = typeof value === 'string' || value instanceof Date ? new Date(value) : fallback;
  return (Number.isNaN(date.getTime()) ? fallback : date).toISOString();
};
const stringOr = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

/**
 * A live conversation's content hash: a chain over the outbox events folded into it (the stored
 * record's hash, then this batch's event ids), so it names exactly the content the fold produced
 * without serialising the record again; the outbox position is what makes the fold exactly once.
 */
function chainHash(previous: string | undefined, redacted: boolean, events: readonly StoredEvent[]): string {
  const hash = createHash('sha256').update(`${previous ?? ''}\n${redacted ? 'redacted' : 'raw'}\n`);
  for (const event of events) hash.update(`${event.id},`);
  return hash.digest('hex');
}

/** The message of a message.created payload, in the interaction vocabulary. */
export function messageOfPayload(payload: Record<string, unknown>, fallbackTs: Date): InteractionMessage {
  const message: InteractionMessage = {
    role: payload.senderRole as InteractionMessage['role'],
    kind: (payload.kind as InteractionMessage['kind'] | undefined) ?? 'text',
    ts: isoOf(payload.createdAt, fallbackTs),
  };
  const channel = stringOr(payload.channel);
  if (channel) message.channel = channel;
  if (typeof payload.text === 'string') message.text = payload.text;
  const id = stringOr(payload.messageId);
  if (id) message.id = id;
  const csrId = stringOr(payload.csrId);
  if (csrId) message.csrId = csrId;
  const content = payload.content && typeof payload.content === 'object' ? (payload.content as Record<string, unknown>) : undefined;
  // A text message's content is empty: nothing more to take apart.
  const meta: Record<string, unknown> = {};
  if (content !== undefined && !isEmpty(content)) {
    const { transcript, audioUrl, durationSeconds, contentType, filename, sizeBytes, ...rest } = content;
    if (typeof transcript === 'string') message.transcript = transcript;
    const attachment = {
      ...(typeof filename === 'string' ? { name: filename } : {}),
      ...(typeof contentType === 'string' ? { mimeType: contentType } : {}),
      ...(typeof sizeBytes === 'number' ? { sizeBytes } : {}),
      ...(typeof audioUrl === 'string' ? { url: audioUrl } : {}),
      ...(typeof durationSeconds === 'number' ? { durationSeconds } : {}),
    };
    if (!isEmpty(attachment)) message.attachment = attachment;
    // Offers, forms, payment details: kept as meta (redacted like any meta).
    Object.assign(meta, rest);
  }
  if (stringOr(payload.attachmentId)) meta.attachmentId = payload.attachmentId;
  if (!isEmpty(meta)) message.meta = meta as NonNullable<InteractionMessage['meta']>;
  return message;
}

function isEmpty(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

/**
 * Applies one conversation's outbox events, in order, to its record and returns the new record
 * (the input is not changed). `storedMessages` counts the messages already in the analytics
 * tables that `record.messages` continues after (the record holds only new ones). `redactFor` is
 * the listing id when the listing's text is redacted: each new piece is redacted as file ingest
 * redacts a record (stored pieces already are).
 *
 * One copy per conversation and batch, then changed in place: folding event by event into fresh
 * copies made each message cost a copy of every message before it in the batch.
 */
export function foldEvents(stored: InteractionRecord, events: readonly StoredEvent[], redactFor: string | undefined, storedMessages = 0): InteractionRecord {
  const record: InteractionRecord = { ...stored, messages: [...stored.messages], ...(stored.events ? { events: [...stored.events] } : {}) };
  const counts = emptyRedactionCounts();
  const id = (value: string) => (redactFor === undefined ? value : pseudonymize(value, redactFor));
  const lifecycle = (event: InteractionEvent) => (record.events ??= []).push(redactFor === undefined ? event : redactEvent(event, redactFor, counts));
  /** Index in record.messages of each new message that has an id (a repeated event replaces it). */
  const positions = new Map<string, number>();
  for (const [position, message] of record.messages.entries()) if (message.id !== undefined) positions.set(message.id, position);

  for (const event of events) {
    const at = event.createdAt.toISOString();
    const payload = event.payload;
    const total = storedMessages + record.messages.length;
    const seq = total > 0 ? { seq: total } : {};
    switch (event.name) {
      case EventNames.ticketCreated: {
        const source = payload.source as { channel?: string; app?: string } | undefined;
        const customerId = stringOr(payload.customerId);
        if (customerId) record.customerId = id(customerId);
        if (source?.channel) record.source = { channel: source.channel as NonNullable<InteractionRecord['source']>['channel'], ...(source.app ? { app: source.app } : {}) };
        record.createdAt = at;
        record.status ??= 'waiting';
        break;
      }
      case EventNames.ticketAssigned: {
        const csrId = stringOr(payload.csrId);
        const assignee = csrId === undefined ? undefined : id(csrId);
        if (assignee !== undefined && !(record.csrIds ?? []).includes(assignee)) record.csrIds = [...(record.csrIds ?? []), assignee];
        record.firstAssignedAt ??= at;
        if (record.status !== 'resolved' && record.status !== 'abandoned') record.status = 'assigned';
        lifecycle({ type: 'assigned', ts: at, ...seq, ...(csrId ? { csrId } : {}), data: { via: String(payload.via ?? 'assign') } });
        break;
      }
      case EventNames.ticketReleased: {
        const csrId = stringOr(payload.csrId);
        record.status = record.status === 'assigned' ? 'waiting' : (record.status ?? 'waiting');
        lifecycle({ type: 'released', ts: at, ...seq, ...(csrId ? { csrId } : {}) });
        break;
      }
      case EventNames.messageCreated: {
        const parsed = messageOfPayload(payload, event.createdAt);
        const message = redactFor === undefined ? parsed : redactMessage(parsed, redactFor, counts);
        const existing = message.id === undefined ? undefined : positions.get(message.id);
        if (existing !== undefined) record.messages[existing] = message;
        else {
          if (message.id !== undefined) positions.set(message.id, record.messages.length);
          record.messages.push(message);
        }
        if (record.firstCsrReplyAt === undefined && message.role === 'csr') record.firstCsrReplyAt = message.ts;
        break;
      }
      case EventNames.ticketEnded: {
        const outcome = payload.outcome === 'resolved' ? 'resolved' : 'abandoned';
        record.endedAt = at;
        record.status = outcome;
        record.outcome = { ...record.outcome, resolved: outcome === 'resolved', abandoned: outcome === 'abandoned' };
        break;
      }
      case EventNames.ticketRated: {
        const rating = Number(payload.rating);
        if (!Number.isInteger(rating) || rating < 1 || rating > 5) break;
        const csrId = stringOr(payload.csrId);
        record.outcome = { ...record.outcome, satisfaction: rating };
        lifecycle({ type: 'rated', ts: at, ...seq, ...(csrId ? { csrId } : {}), data: { rating } });
        break;
      }
      default:
        break;
    }
  }
  return record;
}
