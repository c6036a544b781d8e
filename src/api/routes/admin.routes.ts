import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createdKeyView, createKeyBody, keyIdSchema, keyView, requireRole, type KeyService } from '../../auth/index.ts';
import { createListingBody, listingIdSchema, listingView, updateListingBody, type ListingService } from '../../listings/index.ts';
import { AppError } from '../../platform/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

/** Listings (admin) and API keys (admin anywhere; managers within their own listing). */
export const adminRoutes: FastifyPluginAsyncZod<{ listings: ListingService; keys: KeyService }> = async (app, { listings, keys }) => {
  const tags = ['admin'];

  app.post('/v1/admin/listings', {
    schema: { operationId: 'createListing', tags, security: bearerSecurity, body: createListingBody, response: { 201: listingView, ...problems(400, 403, 409) } },
    handler: async (request, reply) => {
      requireRole(principalOf(request), ['admin']);
      return reply.status(201).send(await listings.create(request.body));
    },
  });

  app.get('/v1/admin/listings', {
    schema: { operationId: 'listListings', tags, security: bearerSecurity, response: { 200: z.object({ items: z.array(listingView) }), ...problems(403) } },
    handler: async (request) => {
      requireRole(principalOf(request), ['admin']);
      return { items: await listings.list() };
    },
  });

  app.patch('/v1/admin/listings/:listingId', {
    schema: {
      operationId: 'updateListing',
      tags,
      security: bearerSecurity,
      params: z.object({ listingId: listingIdSchema }),
      body: updateListingBody,
      response: { 200: listingView, ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['admin']);
      return listings.update(request.params.listingId, request.body);
    },
  });

  app.get('/v1/listing', {
    schema: { operationId: 'getOwnListing', tags: ['listings'], security: bearerSecurity, response: { 200: listingView, ...problems(404) } },
    handler: async (request) => listings.get(listingOf(request)),
  });

  app.post('/v1/keys', {
    schema: { operationId: 'createKey', tags: ['keys'], security: bearerSecurity, body: createKeyBody, response: { 201: createdKeyView, ...problems(400, 403, 404) } },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      const body = request.body;
      let listingId = body.listingId ?? null;
      if (principal.role !== 'admin') {
        if (body.role === 'admin') throw new AppError('forbidden', 'Only admins create admin keys');
        if (listingId !== null && listingId !== principal.listingId) throw new AppError('not_found', `Listing ${listingId} not found`);
        listingId = principal.listingId;
      }
      const created = await keys.create({
        listingId: body.role === 'admin' ? null : listingId,
        role: body.role,
        csrId: body.csrId ?? null,
        name: body.name ?? '',
        rateLimitPerMinute: body.rateLimitPerMinute ?? null,
      });
      return reply.status(201).send(created);
    },
  });

  app.get('/v1/keys', {
    schema: {
      operationId: 'listKeys',
      tags: ['keys'],
      security: bearerSecurity,
      querystring: z.object({ listingId: listingIdSchema.optional() }).strict(),
      response: { 200: z.object({ items: z.array(keyView) }), ...problems(403) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      const listingId = principal.role === 'admin' ? request.query.listingId : principal.listingId!;
      return { items: await keys.list(listingId) };
    },
  });

  app.post('/v1/keys/:keyId/revoke', {
    schema: {
      operationId: 'revokeKey',
      tags: ['keys'],
      security: bearerSecurity,
      params: z.object({ keyId: keyIdSchema }),
      response: { 200: keyView, ...problems(403, 404, 409) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return keys.revoke(request.params.keyId, principal.role === 'admin' ? undefined : principal.listingId!);
    },
  });
};
