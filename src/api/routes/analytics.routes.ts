import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireRole } from '../../auth/index.ts';
import { adminIngestBody, ingestStatusView, ingestSummaryView, type AdminIngestInput, type IngestStatusService } from '../../ingest-status/index.ts';
import type { IngestSummary } from '../../ingest/index.ts';
import { AppError } from '../../platform/index.ts';
import { bearerSecurity, principalOf, problems } from '../http.ts';

/** File ingest in the owning process (src/ingest's ServerIngestService); a type only, so this file does not load src/ingest. */
export interface ServerIngest {
  ingest(input: AdminIngestInput, signal?: AbortSignal): Promise<IngestSummary>;
}

/** The analytics pipeline as seen from the api: the live source's lag, and file ingest handed to the owning process. */
export const analyticsRoutes: FastifyPluginAsyncZod<{ ingestStatus: IngestStatusService; serverIngest?: ServerIngest | undefined }> = async (
  app,
  { ingestStatus, serverIngest },
) => {
  app.get('/v1/analytics/ingest-status', {
    schema: {
      operationId: 'getAnalyticsIngestStatus',
      tags: ['analytics'],
      summary: 'Lag of the live source (core outbox → analytics store)',
      description: 'Manager keys see their listing’s backlog; admin keys the whole outbox’s.',
      security: bearerSecurity,
      response: { 200: ingestStatusView, ...problems(403) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return ingestStatus.status(principal.listingId ?? undefined);
    },
  });

  app.post('/v1/admin/ingest', {
    schema: {
      operationId: 'ingestFiles',
      tags: ['admin', 'analytics'],
      summary: 'Ingest server-local files into the analytics store (what `loopwise ingest` sends to a running server)',
      description:
        'Runs in the process that owns the analytics database (embedded: the api) and answers with the ingest summary when done. ' +
        'Closing the connection stops the ingest after its current batch; running it again resumes. 503 when this process does not own the database.',
      security: bearerSecurity,
      body: adminIngestBody,
      response: { 200: ingestSummaryView, ...problems(400, 403, 404, 503) },
    },
    handler: async (request, reply) => {
      requireRole(principalOf(request), ['admin']);
      if (!serverIngest) {
        throw new AppError('unavailable', 'this process does not own the analytics database: with REDIS_URL the worker does; run `loopwise ingest` on its host while it is stopped');
      }
      const controller = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) controller.abort();
      });
      return serverIngest.ingest(request.body, controller.signal);
    },
  });
};
