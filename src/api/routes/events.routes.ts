import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readEvents, type StoredEvent } from '../../events/index.ts';
import type { EventBus } from '../../jobs/index.ts';
import type { Database } from '../../platform/index.ts';
import { bearerSecurity, listingOf, problems } from '../http.ts';
import { apiSchemas } from '../../platform/index.ts';

const eventView = z
  .object({
    id: z.number().describe('Commit order within the outbox; use as the cursor'),
    name: z.string().describe('Dotted past-tense name, e.g. message.created'),
    aggregateType: z.string(),
    aggregateId: z.string(),
    payload: z.record(z.string(), z.unknown()),
    actor: z.object({ keyId: z.string().optional(), role: z.string().optional(), csrId: z.string().nullable().optional() }).describe('Who caused it; automation skips events it produced itself'),
    createdAt: z.date(),
  })
  .register(apiSchemas, { id: 'DomainEvent' });

const namesQuery = z
  .string()
  .max(2000)
  .transform((value) => value.split(',').map((name) => name.trim()).filter(Boolean))
  .optional()
  .describe('Comma-separated event names to include');

const toWire = (event: StoredEvent) => ({ ...event, createdAt: event.createdAt.toISOString() });

/**
 * The listing's domain events, from the transactional outbox: a cursor-paged feed for
 * integrations, and a Server-Sent Events stream for consoles (replays from Last-Event-ID, then
 * live events as the outbox relay publishes them).
 */
export const eventRoutes: FastifyPluginAsyncZod<{ db: Database; bus?: EventBus | undefined }> = async (app, { db, bus }) => {
  const tags = ['events'];
  app.get('/v1/events', {
    schema: {
      operationId: 'listEvents',
      tags,
      security: bearerSecurity,
      querystring: z.object({ after: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(100), names: namesQuery }).strict(),
      response: { 200: z.object({ items: z.array(eventView), nextAfter: z.number() }), ...problems(400) },
    },
    handler: async (request) => {
      const { after, limit, names } = request.query;
      const items = await readEvents(db, { listingId: listingOf(request), afterId: after, limit, ...(names?.length ? { names } : {}) });
      return { items, nextAfter: items.at(-1)?.id ?? after };
    },
  });

  app.get('/v1/events/stream', {
    schema: {
      operationId: 'streamEvents',
      tags,
      security: bearerSecurity,
      description: 'Server-Sent Events: each event has `id` (the outbox id), `event` (its name) and JSON `data`. Reconnect with Last-Event-ID to resume.',
      querystring: z.object({ after: z.coerce.number().int().min(0).optional(), names: namesQuery }).strict(),
      response: { 200: z.string().describe('text/event-stream'), ...problems(400, 503) },
    },
    handler: async (request, reply) => {
      const listingId = listingOf(request);
      const lastEventId = Number(request.headers['last-event-id']);
      let cursor = request.query.after ?? (Number.isInteger(lastEventId) ? lastEventId : undefined);
      const names = request.query.names?.length ? new Set(request.query.names) : undefined;

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-request-id': request.id,
      });
      const send = (event: StoredEvent) => {
        if (cursor !== undefined && event.id <= cursor) return;
        cursor = event.id;
        if (names && !names.has(event.name)) return;
        raw.write(`id: ${event.id}\nevent: ${event.name}\ndata: ${JSON.stringify(toWire(event))}\n\n`);
      };

      // Subscribe before replaying, buffering live events, so none falls between the two.
      const buffered: StoredEvent[] = [];
      let replaying = true;
      const unsubscribe = bus?.subscribe(listingId, (event) => (replaying ? buffered.push(event) : send(event))) ?? (() => undefined);
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
      raw.write(`retry: 2000\n\n`);
      if (cursor !== undefined) {
        for (;;) {
          const page = await readEvents(db, { listingId, afterId: cursor, limit: 500 });
          page.forEach(send);
          if (page.length < 500) break;
        }
      }
      replaying = false;
      buffered.sort((a, b) => a.id - b.id).forEach(send);
    },
  });
};
