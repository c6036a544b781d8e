import { claimUndispatched, type StoredEvent } from '../events/index.ts';
import type { Database } from '../platform/index.ts';

export interface EventPublisher {
  publish(events: readonly StoredEvent[]): Promise<void>;
}

/**
 * Moves committed outbox events to subscribers (realtime fan-out; the analytics ingest reads the
 * outbox table itself). Claims and marks in one statement, so concurrent relays never double-send.
 */
export function createOutboxRelay({ db, publisher }: { db: Database; publisher: EventPublisher }) {
  return async function relay({ batchSize = 500 }: { batchSize?: number | undefined }): Promise<{ relayed: number }> {
    let relayed = 0;
    for (;;) {
      const events = await claimUndispatched(db, batchSize);
      if (events.length === 0) return { relayed };
      await publisher.publish(events);
      relayed += events.length;
      if (events.length < batchSize) return { relayed };
    }
  };
}
