import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorCatalog, type ErrorCode } from '../../platform/index.ts';
import { publicProblems } from '../http.ts';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

const checkResult = z.object({ status: z.enum(['ok', 'failing']), checks: z.record(z.string(), z.string()) });

/** Liveness, readiness and the problem-type catalog: all public. */
export const systemRoutes: FastifyPluginAsyncZod<{ readiness: ReadinessCheck[] }> = async (app, { readiness }) => {
  const tags = ['system'];
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
