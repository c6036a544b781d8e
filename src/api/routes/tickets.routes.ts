import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireCsr, requireRole } from '../../auth/index.ts';
import { AppError } from '../../platform/index.ts';
import {
  assignBody,
  countersView,
  createTicketBody,
  currentQuery,
  endBody,
  inThreadQuery,
  listTicketsQuery,
  rateBody,
  ticketFilterQuery,
  ticketIdParams,
  ticketPage,
  ticketView,
  type TicketService,
} from '../../tickets/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['tickets'];
const items = z.object({ items: z.array(ticketView) });

/** The ticket API of seed 002: queue, assignment, lifecycle and rating. */
export const ticketRoutes: FastifyPluginAsyncZod<{ tickets: TicketService }> = async (app, { tickets }) => {
  app.post('/v1/tickets', {
    schema: {
      operationId: 'createTicket',
      tags,
      security: bearerSecurity,
      description: "Creates a ticket (201). If the customer already has an open ticket with this listing, answers that ticket with 200.",
      body: createTicketBody,
      response: { 201: ticketView, 200: ticketView, ...problems(400, 403, 404) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr', 'bot']);
      const { ticket, created } = await tickets.create(listingOf(request), request.body, principal);
      return reply.status(created ? 201 : 200).send(ticket);
    },
  });

  app.get('/v1/tickets', {
    schema: { operationId: 'listTickets', tags, security: bearerSecurity, querystring: listTicketsQuery, response: { 200: ticketPage, ...problems(400) } },
    handler: async (request) => tickets.list(listingOf(request), request.query),
  });

  app.get('/v1/tickets/counters', {
    schema: { operationId: 'countTicketsByStatus', tags, security: bearerSecurity, querystring: ticketFilterQuery, response: { 200: countersView, ...problems(400) } },
    handler: async (request) => tickets.counters(listingOf(request), request.query),
  });

  app.get('/v1/tickets/count', {
    schema: { operationId: 'countTickets', tags, security: bearerSecurity, querystring: ticketFilterQuery, response: { 200: z.object({ count: z.number() }), ...problems(400) } },
    handler: async (request) => ({ count: await tickets.count(listingOf(request), request.query) }),
  });

  app.get('/v1/tickets/current', {
    schema: {
      operationId: 'currentTickets',
      tags,
      security: bearerSecurity,
      description: "The calling CSR's assigned tickets (managers: pass csrId).",
      querystring: currentQuery,
      response: { 200: items, ...problems(400, 403) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      let csrId: string;
      if (principal.role === 'csr') csrId = requireCsr(principal);
      else {
        requireRole(principal, ['manager']);
        if (!request.query.csrId) throw new AppError('validation_failed', 'Managers must pass csrId');
        csrId = request.query.csrId;
      }
      return { items: await tickets.current(listingOf(request), csrId) };
    },
  });

  app.get('/v1/tickets/in-thread', {
    schema: { operationId: 'ticketsInThread', tags, security: bearerSecurity, description: "A customer's tickets, newest first.", querystring: inThreadQuery, response: { 200: items, ...problems(400, 404) } },
    handler: async (request) => ({ items: await tickets.inThread(listingOf(request), request.query) }),
  });

  app.post('/v1/tickets/pull', {
    schema: {
      operationId: 'pullTicket',
      tags,
      security: bearerSecurity,
      description: 'Atomically assigns the oldest waiting ticket the calling CSR can serve (released tickets first).',
      response: { 200: ticketView, ...problems(403, 404, 409) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      return tickets.pull(listingOf(request), requireCsr(principal), principal);
    },
  });

  app.get('/v1/tickets/:id', {
    schema: { operationId: 'getTicket', tags, security: bearerSecurity, params: ticketIdParams, response: { 200: ticketView, ...problems(400, 404) } },
    handler: async (request) => tickets.get(listingOf(request), request.params.id),
  });

  app.post('/v1/tickets/:id/assign', {
    schema: { operationId: 'assignTicket', tags, security: bearerSecurity, params: ticketIdParams, body: assignBody, response: { 200: ticketView, ...problems(400, 403, 404, 409) } },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr']);
      return tickets.assign(listingOf(request), request.params.id, request.body, principal);
    },
  });

  app.post('/v1/tickets/:id/release', {
    schema: { operationId: 'releaseTicket', tags, security: bearerSecurity, params: ticketIdParams, response: { 200: ticketView, ...problems(400, 403, 404, 409) } },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr']);
      return tickets.release(listingOf(request), request.params.id, principal);
    },
  });

  app.post('/v1/tickets/:id/end', {
    schema: { operationId: 'endTicket', tags, security: bearerSecurity, params: ticketIdParams, body: endBody, response: { 200: ticketView, ...problems(400, 403, 404, 409) } },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr', 'bot']);
      return tickets.end(listingOf(request), request.params.id, request.body, principal);
    },
  });

  app.post('/v1/tickets/:id/rate', {
    schema: { operationId: 'rateTicket', tags, security: bearerSecurity, params: ticketIdParams, body: rateBody, response: { 200: ticketView, ...problems(400, 403, 404, 409) } },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'bot']);
      return tickets.rate(listingOf(request), request.params.id, request.body, principal);
    },
  });
};
