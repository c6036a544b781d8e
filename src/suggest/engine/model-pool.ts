import { Worker } from 'node:worker_threads';
import type { ModelVersionMetadata } from '../../models/registry/index.ts';
import { AppError, type ErrorCode, type Logger, type RuntimeStatsView } from '../../platform/index.ts';
import type { ConversationMessage } from '../rules/index.ts';
import type { LearnedRequest, LearnedResult, ModelRef, ModelServing } from './model-host.ts';

/**
 * Model worker threads for the api. Ranking a reply for a conversation is a few hundred
 * microseconds of arithmetic per request (a 100,000-reply index: nearest past contexts, the dual
 * encoder, features of ~30 candidates); in the api's one thread it queued every other request
 * behind it and used one core of the machine. Here each worker holds every loaded model version
 * (built there, so a promotion's seconds of building never touch the api's thread either) and a
 * request goes to the worker with the fewest in flight.
 *
 * Workers start on the first model load (a listing without learned models never starts one) and
 * do not keep the process alive when idle. A worker that dies takes the loaded versions with it:
 * every worker is stopped, requests in flight fail with `unavailable`, and `onReset` listeners
 * (the suggest service) load what they need again on the next request.
 */

export type WorkerRequest =
  | { op: 'load'; id: number; ref: ModelRef; bytes: Uint8Array; metadata: ModelVersionMetadata }
  | { op: 'drop'; ref: ModelRef }
  | { op: 'suggest'; id: number; request: LearnedRequest }
  | { op: 'rank'; id: number; reply: ModelRef; messages: ConversationMessage[]; candidates: string[]; brand?: string | null | undefined }
  | { op: 'risk'; id: number; outcome: ModelRef; messages: ConversationMessage[] }
  | { op: 'stats'; id: number };

/** A request as the pool sends it, before it is numbered. */
type Unnumbered<T> = T extends { id: number } ? Omit<T, 'id'> : never;
type Call = Unnumbered<WorkerRequest>;

export type WorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { code?: ErrorCode; message: string; extensions?: Record<string, unknown> } };

export interface ModelWorkerPoolOptions {
  workers: number;
  /** Young generation of each worker's heap (the api runs with a 64 MB semi-space for the same reason: the per-request garbage). */
  youngGenerationMb?: number;
  /** Cap of each worker's old generation (V8's default when absent); a worker over it stops, see above. */
  maxHeapMb?: number;
  logger?: Logger;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

const WORKER_ENTRY = new URL('./model-host.worker.ts', import.meta.url).href;

/**
 * Worker code, evaluated: the project runs its TypeScript through tsx, whose loader hooks a worker
 * does not inherit (and `--import` in a worker's execArgv is not honoured on Node 20).
 */
const BOOT = WORKER_ENTRY.endsWith('.ts')
  ? // Resolved here: an evaluated worker resolves bare specifiers from the working directory, not from this package.
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_ENTRY)}); })`
  : `import(${JSON.stringify(WORKER_ENTRY)})`;

export function createModelWorkerPool({ workers: size, youngGenerationMb = 48, maxHeapMb, logger }: ModelWorkerPoolOptions): ModelServing {
  if (size < 1) throw new Error('createModelWorkerPool: at least one worker');
  let slots: Slot[] = [];
  let nextId = 1;
  let closed = false;
  const resetListeners: Array<() => void> = [];

  function stopAll(reason: string): Promise<unknown> {
    const stopped = slots;
    slots = [];
    return Promise.all(
      stopped.map((slot) => {
        for (const pending of slot.pending.values()) pending.reject(new AppError('unavailable', reason));
        slot.pending.clear();
        slot.worker.removeAllListeners();
        // A late 'error' from a terminating worker must not become an uncaught exception.
        slot.worker.on('error', () => undefined);
        return slot.worker.terminate();
      }),
    );
  }

  function spawn(): Slot {
    const worker = new Worker(BOOT, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb, ...(maxHeapMb ? { maxOldGenerationSizeMb: maxHeapMb } : {}) } });
    const slot: Slot = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const pending = slot.pending.get(reply.id);
      if (!pending) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(reply.error.code ? new AppError(reply.error.code, reply.error.message, reply.error.extensions ?? {}) : new Error(reply.error.message));
    });
    const died = (error: unknown) => {
      if (closed || !slots.includes(slot)) return;
      logger?.error({ err: error }, 'a model worker stopped; models are loaded again on the next request');
      void stopAll('a model worker stopped; retry the request');
      for (const listener of resetListeners) listener();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`model worker exited with code ${code}`)));
    return slot;
  }

  function ensureStarted(): Slot[] {
    if (closed) throw new AppError('unavailable', 'the model workers are shut down');
    if (slots.length === 0) slots = Array.from({ length: size }, spawn);
    return slots;
  }

  function call<T>(slot: Slot, message: Call, transfer: ArrayBuffer[] = []): Promise<T> {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      slot.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** The worker with the fewest requests in flight (requests are short; this spreads bursts). */
  function leastBusy(): Slot {
    const started = ensureStarted();
    let best = started[0]!;
    for (const slot of started) if (slot.pending.size < best.pending.size) best = slot;
    return best;
  }

  return {
    // The workers load outcome models with the models' own loader (model-host.worker.ts).
    servesOutcomes: true,
    async load(ref, bytes, metadata) {
      const started = ensureStarted();
      await Promise.all(
        started.map((slot) => {
          // Each worker gets its own copy, moved rather than cloned.
          const copy = new Uint8Array(bytes);
          return call<void>(slot, { op: 'load', ref, bytes: copy, metadata }, [copy.buffer]);
        }),
      );
    },
    drop(ref) {
      for (const slot of slots) slot.worker.postMessage({ op: 'drop', ref } satisfies WorkerRequest);
    },
    suggest: async (request) => call<LearnedResult>(leastBusy(), { op: 'suggest', request }),
    rank: async (reply, messages, candidates, brand) => call<number[]>(leastBusy(), { op: 'rank', reply, messages, candidates, brand }),
    risk: async (outcome, messages) => call<number>(leastBusy(), { op: 'risk', outcome, messages }),
    // Workers not started yet have nothing to report (and are not started for it).
    threads: () => Promise.all(slots.map((slot) => call<RuntimeStatsView>(slot, { op: 'stats' }))),
    onReset(listener) {
      resetListeners.push(listener);
    },
    async close() {
      closed = true;
      await stopAll('the model workers are shut down');
    },
  };
}
