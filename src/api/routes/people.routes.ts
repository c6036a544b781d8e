import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireCsr, requireRole } from '../../auth/index.ts';
import { createCsrBody, csrView, presenceBody, presenceValues, updateCsrBody, type CsrService } from '../../csrs/index.ts';
import { createCustomerBody, customerView, e164Schema, identitySchema, type CustomerService, type Identity } from '../../customers/index.ts';
import { AppError } from '../../platform/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const idParams = z.object({ id: z.uuid() });

/** CSRs (presence, capacity, skills) and customers with their cross-channel identities. */
export const peopleRoutes: FastifyPluginAsyncZod<{ csrs: CsrService; customers: CustomerService }> = async (app, { csrs, customers }) => {
  app.post('/v1/csrs', {
    schema: { operationId: 'createCsr', tags: ['csrs'], security: bearerSecurity, body: createCsrBody, response: { 201: csrView, ...problems(400, 403, 409) } },
    handler: async (request, reply) => {
      requireRole(principalOf(request), ['manager']);
      return reply.status(201).send(await csrs.create(listingOf(request), request.body));
    },
  });

  app.get('/v1/csrs', {
    schema: {
      operationId: 'listCsrs',
      tags: ['csrs'],
      security: bearerSecurity,
      querystring: z.object({ presence: z.enum(presenceValues).optional() }).strict(),
      response: { 200: z.object({ items: z.array(csrView) }), ...problems(400) },
    },
    handler: async (request) => ({ items: await csrs.list(listingOf(request), request.query) }),
  });

  app.get('/v1/csrs/:id', {
    schema: { operationId: 'getCsr', tags: ['csrs'], security: bearerSecurity, params: idParams, response: { 200: csrView, ...problems(400, 404) } },
    handler: async (request) => csrs.get(listingOf(request), request.params.id),
  });

  app.patch('/v1/csrs/:id', {
    schema: { operationId: 'updateCsr', tags: ['csrs'], security: bearerSecurity, params: idParams, body: updateCsrBody, response: { 200: csrView, ...problems(400, 403, 404) } },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return csrs.update(listingOf(request), request.params.id, request.body, { keyId: principal.keyId, role: principal.role });
    },
  });

  app.put('/v1/csrs/me/presence', {
    schema: { operationId: 'setOwnPresence', tags: ['csrs'], security: bearerSecurity, body: presenceBody, response: { 200: csrView, ...problems(400, 403) } },
    handler: async (request) => {
      const principal = principalOf(request);
      return csrs.update(listingOf(request), requireCsr(principal), request.body, { keyId: principal.keyId, role: principal.role, csrId: principal.csrId });
    },
  });

  app.post('/v1/customers', {
    schema: { operationId: 'createCustomer', tags: ['customers'], security: bearerSecurity, body: createCustomerBody, response: { 201: customerView, ...problems(400, 403, 409) } },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr', 'bot']);
      return reply.status(201).send(await customers.create(listingOf(request), request.body, { keyId: principal.keyId, role: principal.role }));
    },
  });

  app.get('/v1/customers', {
    schema: {
      operationId: 'listCustomers',
      tags: ['customers'],
      security: bearerSecurity,
      querystring: z
        .object({
          phone: e164Schema.optional(),
          email: z.email().optional(),
          externalId: z.string().min(1).max(200).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          after: z.uuid().optional(),
        })
        .strict(),
      response: { 200: z.object({ items: z.array(customerView) }), ...problems(400) },
    },
    handler: async (request) => {
      const listingId = listingOf(request);
      const { phone, email, externalId, limit, after } = request.query;
      const lookups = [phone && { kind: 'phone', value: phone }, email && { kind: 'email', value: email.toLowerCase() }, externalId && { kind: 'external', value: externalId }].filter(
        Boolean,
      ) as Identity[];
      if (lookups.length > 1) throw new AppError('validation_failed', 'Look up by one identity at a time');
      if (lookups[0]) {
        const found = await customers.findByIdentity(listingId, lookups[0]);
        return { items: found ? [found] : [] };
      }
      return { items: await customers.list(listingId, { limit, ...(after ? { after } : {}) }) };
    },
  });

  app.get('/v1/customers/:id', {
    schema: { operationId: 'getCustomer', tags: ['customers'], security: bearerSecurity, params: idParams, response: { 200: customerView, ...problems(400, 404) } },
    handler: async (request) => customers.get(listingOf(request), request.params.id),
  });

  app.post('/v1/customers/:id/identities', {
    schema: {
      operationId: 'linkCustomerIdentity',
      tags: ['customers'],
      security: bearerSecurity,
      params: idParams,
      body: identitySchema,
      response: { 200: customerView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr', 'bot']);
      return customers.addIdentity(listingOf(request), request.params.id, request.body, { keyId: principal.keyId, role: principal.role });
    },
  });
};
