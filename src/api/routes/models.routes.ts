import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole, type Principal } from '../../auth/index.ts';
import type { Actor } from '../../events/index.ts';
import type { ModelRegistry, ModelVersion } from '../../models/registry/index.ts';
import {
  atRiskItemView,
  atRiskQuery,
  modelVersionView,
  targetName,
  ticketPredictionView,
  trainingRunView,
  trainModelBody,
  type PredictionService,
  type TrainingService,
} from '../../predictions/index.ts';
import { AppError } from '../../platform/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['models'];
const targetParams = z.object({ target: targetName });
const versionParams = z.object({ target: targetName, version: z.coerce.number().int().min(1) });

/** Versions without their artifact bytes (the registry never returns those in a list). */
const toVersionView = (version: ModelVersion) => ({
  target: version.target,
  version: version.version,
  kind: version.kind,
  featureSet: version.featureSet,
  promoted: version.promoted,
  sizeBytes: version.sizeBytes,
  createdAt: version.createdAt,
  metadata: version.metadata,
});

/**
 * Outcome models: the registry (list, promote, roll back), training as a job, and the live
 * predictions the prediction engine keeps per ticket. Managers run models; developers read them;
 * a ticket's predictions are for anyone working the listing's tickets.
 */
export const modelRoutes: FastifyPluginAsyncZod<{ registry: ModelRegistry; predictions: PredictionService; training?: TrainingService | undefined }> = async (
  app,
  { registry, predictions, training },
) => {
  const manager = (principal: Principal): Actor => {
    requireRole(principal, ['manager']);
    return { keyId: principal.keyId, role: principal.role };
  };
  const trainingService = () => {
    if (!training) throw new AppError('unavailable', 'training is not configured in this process');
    return training;
  };

  app.get('/v1/models', {
    schema: {
      operationId: 'listModelVersions',
      tags,
      summary: 'Model versions of the listing, newest first per target',
      security: bearerSecurity,
      querystring: z.object({ target: targetName.optional() }).strict(),
      response: { 200: z.object({ items: z.array(modelVersionView) }), ...problems(400, 403) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager', 'developer']);
      return { items: (await registry.list(listingOf(request), request.query.target)).map(toVersionView) };
    },
  });

  app.get('/v1/models/:target/versions/:version', {
    schema: { operationId: 'getModelVersion', tags, security: bearerSecurity, params: versionParams, response: { 200: modelVersionView, ...problems(400, 403, 404) } },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager', 'developer']);
      const artifact = await registry.get(listingOf(request), request.params.target, request.params.version);
      return toVersionView(artifact.version);
    },
  });

  app.post('/v1/models/:target/versions/:version/promote', {
    schema: {
      operationId: 'promoteModelVersion',
      tags,
      summary: 'Serve this version (live predictions pick it up within seconds, no restart)',
      security: bearerSecurity,
      params: versionParams,
      response: { 200: modelVersionView, ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      const actor = manager(principalOf(request));
      return toVersionView(await registry.promote(listingOf(request), request.params.target, request.params.version, actor));
    },
  });

  app.post('/v1/models/:target/rollback', {
    schema: {
      operationId: 'rollbackModel',
      tags,
      summary: 'Serve again the version promoted before the current one',
      security: bearerSecurity,
      params: targetParams,
      response: { 200: modelVersionView, ...problems(400, 403, 409) },
    },
    handler: async (request) => {
      const actor = manager(principalOf(request));
      return toVersionView(await registry.rollback(listingOf(request), request.params.target, actor));
    },
  });

  app.post('/v1/models/:target/train', {
    schema: {
      operationId: 'trainModel',
      tags,
      summary: 'Train a new version on the listing’s history (a job)',
      description:
        'Answers 202 with the training run at once; poll GET /v1/models/training-runs/{id} for its progress and result. ' +
        'The run happens in the process that owns the analytics store (embedded: the api; with Redis: the worker).',
      security: bearerSecurity,
      params: targetParams,
      body: trainModelBody,
      response: { 202: trainingRunView, ...problems(400, 403, 503) },
    },
    handler: async (request, reply) => {
      const actor = manager(principalOf(request));
      return reply.status(202).send(await trainingService().request(listingOf(request), request.params.target, request.body, actor));
    },
  });

  app.get('/v1/models/training-runs', {
    schema: {
      operationId: 'listTrainingRuns',
      tags,
      security: bearerSecurity,
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
      response: { 200: z.object({ items: z.array(trainingRunView) }), ...problems(400, 403, 503) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager', 'developer']);
      return { items: await trainingService().list(listingOf(request), request.query.limit) };
    },
  });

  app.get('/v1/models/training-runs/:id', {
    schema: {
      operationId: 'getTrainingRun',
      tags,
      security: bearerSecurity,
      params: z.object({ id: z.uuid() }),
      response: { 200: trainingRunView, ...problems(400, 403, 404, 503) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager', 'developer']);
      return trainingService().get(listingOf(request), request.params.id);
    },
  });

  app.get('/v1/tickets/:id/predictions', {
    schema: {
      operationId: 'getTicketPredictions',
      tags: ['models', 'tickets'],
      summary: 'The ticket’s live predictions, one per promoted outcome model, with their drivers',
      description: 'Refreshed after every message (a job, within about a second of the message). Empty when no model is promoted.',
      security: bearerSecurity,
      params: z.object({ id: z.uuid() }),
      response: { 200: z.object({ items: z.array(ticketPredictionView) }), ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager', 'csr', 'developer', 'bot']);
      return { items: await predictions.forTicket(listingOf(request), request.params.id) };
    },
  });

  app.get('/v1/analytics/at-risk', {
    schema: {
      operationId: 'listAtRiskTickets',
      tags: ['models', 'analytics'],
      summary: 'Open tickets most likely to end badly, by descending risk',
      security: bearerSecurity,
      querystring: atRiskQuery,
      response: { 200: z.object({ target: z.string(), items: z.array(atRiskItemView) }), ...problems(400, 403) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager']);
      return { target: request.query.target, items: await predictions.atRisk(listingOf(request), request.query) };
    },
  });
};
