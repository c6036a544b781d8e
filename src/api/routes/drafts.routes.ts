import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireRole } from '../../auth/index.ts';
import { draftBody, draftView, type DraftEvent, type DraftService } from '../../drafts/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';
import { toProblem } from '../problem.ts';

const tags = ['suggestions'];

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** Generated drafts: a separate call from POST /v1/suggest, so suggestions never wait on an LLM. */
export const draftRoutes: FastifyPluginAsyncZod<{ drafts: DraftService }> = async (app, { drafts }) => {
  app.post('/v1/suggest/draft', {
    schema: {
      operationId: 'draftReply',
      tags,
      security: bearerSecurity,
      description:
        'An LLM draft of the CSR\'s next reply, grounded in the conversation and the replies that worked in similar ones. With `Accept: text/event-stream` the draft streams as server-sent events: `token` events ({"text"}), then one `done` event with the body below (or an `error` event with a problem). 503 when no LLM is configured; 504 when it does not answer within LLM_TIMEOUT_MS (the upstream request is aborted).',
      body: draftBody,
      response: { 200: draftView, ...problems(400, 403, 404, 422, 502, 503, 504) },
    },
    handler: async (request, reply) => {
      requireRole(principalOf(request), ['csr', 'manager', 'developer']);
      const listingId = listingOf(request);
      // The upstream request ends when the client goes away (the response closes before it
      // finished; the request's own 'close' only means its body was read).
      const gone = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      if (!String(request.headers.accept ?? '').includes('text/event-stream')) {
        return drafts.draft(listingId, request.body, { signal: gone.signal });
      }
      const events = drafts.stream(listingId, request.body, { signal: gone.signal });
      // Failures before the first event are answered as a problem like any other error.
      const first = await events.next();
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-request-id': request.id,
      });
      const write = (event: DraftEvent) => reply.raw.write(event.type === 'token' ? sse('token', { text: event.text }) : sse('done', { ...event, type: undefined }));
      try {
        if (!first.done) write(first.value);
        for await (const event of events) {
          if (gone.signal.aborted) break;
          write(event);
        }
      } catch (error) {
        const { problem, internal } = toProblem(error, request.id);
        if (internal) request.log.error({ err: error }, 'draft stream failed');
        reply.raw.write(sse('error', problem));
      } finally {
        reply.raw.end();
      }
    },
  });
};
