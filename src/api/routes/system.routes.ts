import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole } from '../../auth/index.ts';
import { createRuntimeStats, errorCatalog, type ErrorCode, type RuntimeStatsView } from '../../platform/index.ts';
import { bearerSecurity, principalOf, problems, publicProblems } from '../http.ts';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

const checkResult = z.object({ status: z.enum(['ok', 'failing']), checks: z.record(z.string(), z.string()) });

const pauses = z.object({
  count: z.number().int(),
  totalMs: z.number(),
  maxMs: z.number(),
  buckets: z.array(z.number().int()).describe('Pauses of ≤ 1, ≤ 2, ≤ 5, ≤ 10, ≤ 20, ≤ 50 ms and longer'),
});
const threadView = z.object({
  uptimeSeconds: z.number(),
  heap: z.object({ usedBytes: z.number(), totalBytes: z.number(), externalBytes: z.number() }),
  gc: z.object({ scavenge: pauses, markCompact: pauses, incremental: pauses, weakCallbacks: pauses }).describe('Garbage-collection pauses since the thread started'),
  eventLoopDelayMs: z.object({ p50: z.number(), p99: z.number(), max: z.number() }).describe('Event-loop delay since the thread started (10 ms sampling)'),
  eventLoop: z
    .object({ activeMs: z.number(), idleMs: z.number() })
    .describe('Time the event loop was running callbacks (active) or waiting (idle) since the thread started; between two readings, active ÷ (active + idle) is how busy the thread was'),
});
const runtimeView = threadView
  .extend({
    modelWorkers: z
      .array(threadView)
      .describe('The same figures for each model worker thread (SUGGEST_WORKERS), which ranks learned suggestions: a pause there delays the suggest requests in flight. Empty until a model is loaded'),
  })
  .describe('Cumulative since start: take two readings and subtract');

export interface SystemRoutesOptions {
  readiness: ReadinessCheck[];
  /** The model worker threads' figures, when the process has any. */
  modelThreads?: () => Promise<RuntimeStatsView[]>;
}

/** Liveness, readiness and the problem-type catalog (public); the process's runtime figures (admin). */
export const systemRoutes: FastifyPluginAsyncZod<SystemRoutesOptions> = async (app, { readiness, modelThreads }) => {
  const tags = ['system'];
  const runtime = createRuntimeStats();
  app.addHook('onClose', async () => runtime.stop());
  app.get('/healthz', {
    config: { public: true },
    schema: { operationId: 'liveness', tags, response: { 200: z.object({ status: z.literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/readyz', {
    config: { public: true },
    schema: { operationId: 'readiness', tags, description: 'Checks the database, and Redis when configured.', response: { 200: checkResult, 503: checkResult } },
    handler: async (request, reply) => {
      const checks: Record<string, string> = {};
      let healthy = true;
      await Promise.all(
        readiness.map(async ({ name, check }) => {
          try {
            await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2000).unref())]);
            checks[name] = 'ok';
          } catch (error) {
            healthy = false;
            checks[name] = 'failing';
            request.log.warn({ err: error, dependency: name }, 'readiness check failed');
          }
        }),
      );
      return reply.status(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'failing', checks });
    },
  });

  app.get('/v1/admin/runtime', {
    schema: {
      operationId: 'getRuntimeStats',
      tags: ['admin'],
      summary: "This api process's GC pauses, event-loop delay and heap, and its model worker threads'",
      description: 'For operators: when request latency has a long tail, whether the process itself (garbage collection, a blocked event loop) is the cause. Per process; cumulative since it started.',
      security: bearerSecurity,
      response: { 200: runtimeView, ...problems(403) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['admin']);
      return { ...runtime.snapshot(), modelWorkers: (await modelThreads?.()) ?? [] };
    },
  });

  const entry = z.object({ code: z.string(), status: z.number(), title: z.string() });
  const catalog = Object.entries(errorCatalog).map(([code, value]) => ({ code, ...value }));
  app.get('/problems', {
    config: { public: true },
    schema: { operationId: 'listProblemTypes', tags, response: { 200: z.object({ items: z.array(entry) }) } },
    handler: async () => ({ items: catalog }),
  });
  app.get('/problems/:code', {
    config: { public: true },
    schema: { operationId: 'getProblemType', tags, params: z.object({ code: z.string().max(64) }), response: { 200: entry, ...publicProblems(404) } },
    handler: async (request, reply) => {
      const found = errorCatalog[request.params.code as ErrorCode];
      if (!found) return reply.callNotFound();
      return { code: request.params.code, ...found };
    },
  });
};
