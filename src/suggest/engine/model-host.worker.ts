import { parentPort } from 'node:worker_threads';
// The serving half of the outcome models only (src/models/index.ts would bring the trainer's tfjs).
import { loadOutcomeModel } from '../../models/outcome-model.ts';
import { AppError, createRuntimeStats } from '../../platform/index.ts';
import { createModelHost } from './model-host.ts';
import type { WorkerReply, WorkerRequest } from './model-pool.ts';

/**
 * A model worker thread (model-pool.ts): the learned half of suggest requests runs here, so the
 * api's event loop only parses, authenticates, evaluates rules and answers. Requests are served
 * while a new version is decoded and built (in time slices, as in the api thread).
 */

const port = parentPort;
if (!port) throw new Error('model-host.worker.ts runs as a worker thread (model-pool.ts starts it)');
const host = createModelHost(loadOutcomeModel);
// This thread's own GC pauses and event loop, for GET /v1/admin/runtime (the api's figures are its main thread's).
const runtime = createRuntimeStats();

const fail = (id: number, error: unknown): WorkerReply => ({
  id,
  ok: false,
  error:
    error instanceof AppError
      ? { code: error.code, message: error.message, extensions: error.extensions }
      : { message: error instanceof Error ? error.message : String(error) },
});

port.on('message', (request: WorkerRequest) => {
  switch (request.op) {
    case 'drop':
      host.drop(request.ref);
      return;
    case 'stats':
      port.postMessage({ id: request.id, ok: true, value: runtime.snapshot() } satisfies WorkerReply);
      return;
    case 'load':
      host.load(request.ref, request.bytes, request.metadata).then(
        () => port.postMessage({ id: request.id, ok: true, value: null } satisfies WorkerReply),
        (error: unknown) => port.postMessage(fail(request.id, error)),
      );
      return;
    default: {
      let reply: WorkerReply;
      try {
        const value =
          request.op === 'suggest'
            ? host.suggest(request.request)
            : request.op === 'rank'
              ? host.rank(request.reply, request.messages, request.candidates, request.brand)
              : host.risk(request.outcome, request.messages);
        reply = { id: request.id, ok: true, value };
      } catch (error) {
        reply = fail(request.id, error);
      }
      port.postMessage(reply);
    }
  }
});
