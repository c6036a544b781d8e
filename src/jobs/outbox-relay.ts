import { advanceCursor, lockCursor, readAfterCursor, type StoredEvent } from '../events/index.ts';
import { systemClock, type Clock, type Database } from '../platform/index.ts';

export interface EventPublisher {
  /**
   * Called inside the relay's transaction: it must not use the database itself (on PGlite, the
   * single connection is held by that transaction), only hand the events on.
   */
  publish(events: readonly StoredEvent[]): Promise<void>;
}

export interface OutboxRelayDeps {
  db: Database;
  publisher: EventPublisher;
  clock?: Clock;
  /** How long a hole in the event ids may be waited for before it counts as a rollback. */
  gapGraceMs?: number;
}

const CURSOR = 'relay';

/**
 * Moves committed outbox events to subscribers (realtime fan-out, automation), in id order, at
 * least once: each batch is published and then the cursor advances in the same transaction, which
 * holds the cursor row, so concurrent relays (several workers) take turns instead of overlapping.
 * A crash between publish and commit re-publishes that batch; subscribers key on the event id.
 */
export function createOutboxRelay({ db, publisher, clock = systemClock, gapGraceMs = 30_000 }: OutboxRelayDeps) {
  return async function relay({ batchSize = 500 }: { batchSize?: number | undefined }): Promise<{ relayed: number }> {
    let relayed = 0;
    for (;;) {
      const count = await db.transaction(async (tx) => {
        const afterId = await lockCursor(tx, CURSOR);
        const events = await readAfterCursor(tx, { afterId, limit: batchSize, gapGraceMs, now: clock.now() });
        if (events.length === 0) return 0;
        await publisher.publish(events);
        await advanceCursor(tx, CURSOR, events.at(-1)!.id);
        return events.length;
      });
      relayed += count;
      if (count < batchSize) return { relayed };
    }
  };
}
