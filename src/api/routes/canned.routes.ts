import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole, type Principal } from '../../auth/index.ts';
import {
  cannedIdParams,
  cannedResponseBody,
  cannedResponseView,
  cannedVersionView,
  listCannedQuery,
  updateCannedResponseBody,
  type CannedService,
} from '../../canned/index.ts';
import type { Actor } from '../../events/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['canned-responses'];

/** Canned content: managers and developers write, every key of the listing reads. */
export const cannedRoutes: FastifyPluginAsyncZod<{ canned: CannedService }> = async (app, { canned }) => {
  const author = (principal: Principal): Actor => {
    requireRole(principal, ['manager', 'developer']);
    return { keyId: principal.keyId, role: principal.role };
  };

  app.post('/v1/canned-responses', {
    schema: {
      operationId: 'createCannedResponse',
      tags,
      security: bearerSecurity,
      body: cannedResponseBody,
      response: { 201: cannedResponseView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const actor = author(principalOf(request));
      return reply.status(201).send(await canned.create(listingOf(request), request.body, actor));
    },
  });

  app.get('/v1/canned-responses', {
    schema: {
      operationId: 'listCannedResponses',
      tags,
      security: bearerSecurity,
      querystring: listCannedQuery,
      response: { 200: z.object({ items: z.array(cannedResponseView) }), ...problems(400) },
    },
    handler: async (request) => ({ items: await canned.list(listingOf(request), request.query) }),
  });

  app.get('/v1/canned-responses/:id', {
    schema: { operationId: 'getCannedResponse', tags, security: bearerSecurity, params: cannedIdParams, response: { 200: cannedResponseView, ...problems(400, 404) } },
    handler: async (request) => canned.get(listingOf(request), request.params.id),
  });

  app.put('/v1/canned-responses/:id', {
    schema: {
      operationId: 'replaceCannedResponse',
      tags,
      security: bearerSecurity,
      description: 'Saves a full new snapshot as the next version (fields left out return to their defaults).',
      params: cannedIdParams,
      body: updateCannedResponseBody,
      response: { 200: cannedResponseView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => canned.update(listingOf(request), request.params.id, request.body, author(principalOf(request))),
  });

  app.delete('/v1/canned-responses/:id', {
    schema: { operationId: 'deleteCannedResponse', tags, security: bearerSecurity, params: cannedIdParams, response: { 204: z.null(), ...problems(400, 403, 404) } },
    handler: async (request, reply) => {
      const actor = author(principalOf(request));
      await canned.remove(listingOf(request), request.params.id, actor);
      return reply.status(204).send(null);
    },
  });

  app.get('/v1/canned-responses/:id/versions', {
    schema: {
      operationId: 'listCannedResponseVersions',
      tags,
      security: bearerSecurity,
      description: 'Every saved snapshot, oldest first.',
      params: cannedIdParams,
      response: { 200: z.object({ items: z.array(cannedVersionView) }), ...problems(400, 404) },
    },
    handler: async (request) => ({ items: await canned.versions(listingOf(request), request.params.id) }),
  });
};
