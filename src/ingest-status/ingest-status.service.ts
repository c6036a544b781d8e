import { outboxBacklog, peekCursor } from '../events/index.ts';
import { systemClock, type Clock, type Queryable } from '../platform/index.ts';
import type { IngestStatusView } from './ingest-status.schemas.ts';

/** The Postgres cursor row the live source copies its DuckDB position to (informational). */
export const OUTBOX_INGEST_CURSOR = 'analytics';

/**
 * The live source's lag, read from Postgres only (the position copy the job writes after each
 * DuckDB commit), so every api process can answer it, including ones that must not open DuckDB.
 */
export function createIngestStatusService({ db, clock = systemClock }: { db: Queryable; clock?: Clock }) {
  return {
    /** One listing's backlog (managers), or the whole outbox's (admins, listingId undefined). */
    async status(listingId: string | undefined): Promise<IngestStatusView> {
      const cursor = await peekCursor(db, OUTBOX_INGEST_CURSOR);
      const backlog = await outboxBacklog(db, { afterId: cursor.lastId, listingId });
      const now = clock.now();
      return {
        scope: listingId === undefined ? 'all' : 'listing',
        ...(listingId !== undefined ? { listingId } : {}),
        lastAppliedEventId: cursor.lastId,
        newestEventId: Math.max(backlog.newestId, cursor.lastId),
        lagEvents: backlog.pending,
        lagSeconds: backlog.oldestPendingAt ? Math.max(0, (now.getTime() - backlog.oldestPendingAt.getTime()) / 1000) : 0,
        positionUpdatedAt: cursor.updatedAt,
        checkedAt: now,
      };
    },
  };
}

export type IngestStatusService = ReturnType<typeof createIngestStatusService>;
