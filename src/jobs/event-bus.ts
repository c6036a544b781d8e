import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { StoredEvent } from '../events/index.ts';
import type { EventPublisher } from './outbox-relay.ts';

export interface EventBus extends EventPublisher {
  /** Listens to one listing's events; returns the unsubscribe function. */
  subscribe(listingId: string, listener: (event: StoredEvent) => void): () => void;
  close(): Promise<void>;
}

/** Single-process bus for the embedded default. */
export function createLocalEventBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async publish(events) {
      for (const event of events) emitter.emit(event.listingId, event);
    },
    subscribe(listingId, listener) {
      emitter.on(listingId, listener);
      return () => emitter.off(listingId, listener);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}

const channelOf = (listingId: string) => `loopwise:events:${listingId}`;

/** Redis pub/sub, so every api replica sees events relayed by any worker. */
export function createRedisEventBus(publisherClient: Redis, subscriberClient: Redis): EventBus {
  const local = createLocalEventBus();
  const counts = new Map<string, number>();
  subscriberClient.on('message', (channel: string, message: string) => {
    const event = JSON.parse(message) as StoredEvent;
    void local.publish([{ ...event, createdAt: new Date(event.createdAt) }]);
    void channel;
  });
  return {
    async publish(events) {
      const pipeline = publisherClient.pipeline();
      for (const event of events) pipeline.publish(channelOf(event.listingId), JSON.stringify(event));
      await pipeline.exec();
    },
    subscribe(listingId, listener) {
      const count = counts.get(listingId) ?? 0;
      if (count === 0) void subscriberClient.subscribe(channelOf(listingId));
      counts.set(listingId, count + 1);
      const off = local.subscribe(listingId, listener);
      return () => {
        off();
        const remaining = (counts.get(listingId) ?? 1) - 1;
        counts.set(listingId, remaining);
        if (remaining === 0) void subscriberClient.unsubscribe(channelOf(listingId));
      };
    },
    async close() {
      await local.close();
    },
  };
}
