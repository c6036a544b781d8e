import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole, type Principal } from '../../auth/index.ts';
import type { Actor } from '../../events/index.ts';
import {
  answerExpertRequestBody,
  createExpertGroupBody,
  createExpertRequestBody,
  expertGroupIdParams,
  expertGroupView,
  expertRequestIdParams,
  expertRequestView,
  listExpertGroupsQuery,
  listExpertRequestsQuery,
  updateExpertGroupBody,
  type ExpertService,
} from '../../experts/index.ts';
import { ticketIdParams } from '../../tickets/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['experts'];
const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, role: principal.role, csrId: principal.csrId });
const requestItems = z.object({ items: z.array(expertRequestView) });

/** Expert groups (managed by managers) and CSRs asking them for help on a ticket. */
export const expertRoutes: FastifyPluginAsyncZod<{ experts: ExpertService }> = async (app, { experts }) => {
  app.post('/v1/expert-groups', {
    schema: { operationId: 'createExpertGroup', tags, security: bearerSecurity, body: createExpertGroupBody, response: { 201: expertGroupView, ...problems(400, 403, 404, 409) } },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return reply.status(201).send(await experts.createGroup(listingOf(request), request.body, actorOf(principal)));
    },
  });

  app.get('/v1/expert-groups', {
    schema: {
      operationId: 'listExpertGroups',
      tags,
      security: bearerSecurity,
      querystring: listExpertGroupsQuery,
      response: { 200: z.object({ items: z.array(expertGroupView) }), ...problems(400) },
    },
    handler: async (request) => ({ items: await experts.listGroups(listingOf(request), request.query) }),
  });

  app.get('/v1/expert-groups/:id', {
    schema: { operationId: 'getExpertGroup', tags, security: bearerSecurity, params: expertGroupIdParams, response: { 200: expertGroupView, ...problems(400, 404) } },
    handler: async (request) => experts.getGroup(listingOf(request), request.params.id),
  });

  app.patch('/v1/expert-groups/:id', {
    schema: {
      operationId: 'updateExpertGroup',
      tags,
      security: bearerSecurity,
      params: expertGroupIdParams,
      body: updateExpertGroupBody,
      response: { 200: expertGroupView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return experts.updateGroup(listingOf(request), request.params.id, request.body, actorOf(principal));
    },
  });

  app.delete('/v1/expert-groups/:id', {
    schema: {
      operationId: 'deleteExpertGroup',
      tags,
      security: bearerSecurity,
      description: 'Deletes a group that has no unresolved requests (409 otherwise).',
      params: expertGroupIdParams,
      response: { 204: z.null(), ...problems(400, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      await experts.deleteGroup(listingOf(request), request.params.id, actorOf(principal));
      return reply.status(204).send(null);
    },
  });

  app.post('/v1/tickets/:id/expert-requests', {
    schema: {
      operationId: 'requestExpertHelp',
      tags,
      security: bearerSecurity,
      description: 'The CSR holding the ticket (or a manager) asks an expert group for help.',
      params: ticketIdParams,
      body: createExpertRequestBody,
      response: { 201: expertRequestView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      return reply.status(201).send(await experts.request(listingOf(request), request.params.id, request.body, principalOf(request)));
    },
  });

  app.get('/v1/tickets/:id/expert-requests', {
    schema: {
      operationId: 'listTicketExpertRequests',
      tags,
      security: bearerSecurity,
      description: "The ticket's expert requests with their answers (internal notes, never shown to the customer).",
      params: ticketIdParams,
      response: { 200: requestItems, ...problems(400, 403, 404) },
    },
    handler: async (request) => ({ items: await experts.listForTicket(listingOf(request), request.params.id, principalOf(request)) }),
  });

  app.get('/v1/expert-requests', {
    schema: {
      operationId: 'listExpertRequests',
      tags,
      security: bearerSecurity,
      description: "CSR keys: requests to the CSR's groups and their own; managers: all. Oldest first.",
      querystring: listExpertRequestsQuery,
      response: { 200: requestItems, ...problems(400, 403) },
    },
    handler: async (request) => ({ items: await experts.list(listingOf(request), request.query, principalOf(request)) }),
  });

  app.get('/v1/expert-requests/:id', {
    schema: { operationId: 'getExpertRequest', tags, security: bearerSecurity, params: expertRequestIdParams, response: { 200: expertRequestView, ...problems(400, 403, 404) } },
    handler: async (request) => experts.get(listingOf(request), request.params.id, principalOf(request)),
  });

  app.post('/v1/expert-requests/:id/accept', {
    schema: {
      operationId: 'acceptExpertRequest',
      tags,
      security: bearerSecurity,
      description: 'A member of the group takes the request.',
      params: expertRequestIdParams,
      response: { 200: expertRequestView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => experts.accept(listingOf(request), request.params.id, principalOf(request)),
  });

  app.post('/v1/expert-requests/:id/answer', {
    schema: {
      operationId: 'answerExpertRequest',
      tags,
      security: bearerSecurity,
      description: 'The expert who accepted answers; the answer is an internal note for the requesting CSR.',
      params: expertRequestIdParams,
      body: answerExpertRequestBody,
      response: { 200: expertRequestView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => experts.answer(listingOf(request), request.params.id, request.body.answer, principalOf(request)),
  });

  app.post('/v1/expert-requests/:id/close', {
    schema: {
      operationId: 'closeExpertRequest',
      tags,
      security: bearerSecurity,
      params: expertRequestIdParams,
      response: { 200: expertRequestView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => experts.close(listingOf(request), request.params.id, principalOf(request)),
  });
};
