import { describe, expect, it } from 'vitest';
import type { LearnedRequest, ModelRef, ModelServing } from '../../src/suggest/engine/index.ts';
import { createSuggestService } from '../../src/suggest/engine/index.ts';

/**
 * The suggest service's model cache against a worker that dies: versions loaded into the lost
 * worker must be loaded again, including one whose load was under way when the worker died.
 */
function fakeServing() {
  const loaded = new Set<string>();
  const listeners: Array<() => void> = [];
  const key = (ref: ModelRef) => `${ref.listingId}/${ref.target}/${ref.version}`;
  let dieDuringNextLoad = false;
  const serving: ModelServing & { loads: number; dieDuringNextLoad(): void } = {
    servesOutcomes: false,
    loads: 0,
    dieDuringNextLoad: () => void (dieDuringNextLoad = true),
    async load(ref) {
      serving.loads++;
      loaded.add(key(ref));
      if (dieDuringNextLoad) {
        // The worker dies after taking the version: it is gone with it.
        dieDuringNextLoad = false;
        loaded.clear();
        for (const listener of listeners) listener();
      }
    },
    drop: (ref) => void loaded.delete(key(ref)),
    async suggest(request: LearnedRequest) {
      if (request.reply && !loaded.has(key(request.reply))) throw new Error(`not loaded: ${key(request.reply)}`);
      return { learned: [], risks: null };
    },
    rank: async () => [],
    risk: async () => 0,
    threads: async () => [],
    onReset: (listener) => void listeners.push(listener),
    close: async () => undefined,
  };
  return serving;
}

function serviceWith(serving: ModelServing) {
  return createSuggestService({
    db: {} as never,
    rules: { evaluate: async () => ({ fired: [], revision: 0 }) } as never,
    canned: { get: async () => undefined } as never,
    log: { recordSuggestions: async () => [], countFirings: async () => undefined } as never,
    registry: { promotedVersion: async (_listing: string, target: string) => (target === 'reply' ? 1 : undefined), get: async () => ({ bytes: new Uint8Array(1), version: { metadata: {} } }) } as never,
    serving,
  });
}

const request = { context: [{ role: 'customer' as const, text: 'Where is my parcel?' }], top: 3, outcome: false } as never;

describe('suggest service model cache', () => {
  it('loads a version again when the worker it was loaded into died during the load', async () => {
    const serving = fakeServing();
    const service = serviceWith(serving);
    serving.dieDuringNextLoad();
    // This request's load went into the dead worker: it may fail, but nothing stale is kept.
    await service.suggest('l1', request).catch(() => undefined);
    expect(serving.loads).toBe(1);
    await expect(service.suggest('l1', request)).resolves.toMatchObject({ models: { reply: 1 } });
    expect(serving.loads).toBe(2);
    // Loaded and kept now: the next request reuses it.
    await service.suggest('l1', request);
    expect(serving.loads).toBe(2);
  });
});
