import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole, type Principal } from '../../auth/index.ts';
import {
  actionView,
  analyticsQuery,
  analyticsView,
  autoActionSettingsBody,
  autoActionSettingsView,
  dismissBody,
  evaluateBody,
  evaluationView,
  idParams,
  offerBody,
  offerResponseBody,
  offerResponseParams,
  offerResponseView,
  offerView,
  policyBody,
  policyView,
  type AutoActionService,
} from '../../auto-actions/index.ts';
import type { Actor } from '../../events/index.ts';
import { ticketIdParams } from '../../tickets/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['auto-actions'];

/** Auto-actions: managers configure the catalogue and policies; CSRs act on proposals; managers read the effect. */
export const autoActionRoutes: FastifyPluginAsyncZod<{ autoActions: AutoActionService }> = async (app, { autoActions }) => {
  const manager = (principal: Principal): Actor => {
    requireRole(principal, ['manager']);
    return { keyId: principal.keyId, role: principal.role };
  };
  const reader = (principal: Principal) => requireRole(principal, ['manager', 'developer', 'csr']);

  app.get('/v1/auto-actions/settings', {
    schema: { operationId: 'getAutoActionSettings', tags, security: bearerSecurity, response: { 200: autoActionSettingsView, ...problems(403) } },
    handler: async (request) => {
      reader(principalOf(request));
      return autoActions.getSettings(listingOf(request));
    },
  });

  app.put('/v1/auto-actions/settings', {
    schema: {
      operationId: 'putAutoActionSettings',
      tags,
      security: bearerSecurity,
      description: "The listing's switch for every auto-action and its cap of actions per customer and local day.",
      body: autoActionSettingsBody,
      response: { 200: autoActionSettingsView, ...problems(400, 403) },
    },
    handler: async (request) => autoActions.putSettings(listingOf(request), request.body, manager(principalOf(request))),
  });

  // ---------------------------------------------------------------------------------------------
  // Offer catalogue

  app.post('/v1/auto-actions/offers', {
    schema: { operationId: 'createAutoActionOffer', tags, security: bearerSecurity, body: offerBody, response: { 201: offerView, ...problems(400, 403, 409) } },
    handler: async (request, reply) => reply.status(201).send(await autoActions.createOffer(listingOf(request), request.body, manager(principalOf(request)))),
  });

  app.get('/v1/auto-actions/offers', {
    schema: { operationId: 'listAutoActionOffers', tags, security: bearerSecurity, response: { 200: z.object({ items: z.array(offerView) }), ...problems(403) } },
    handler: async (request) => {
      reader(principalOf(request));
      return { items: await autoActions.listOffers(listingOf(request)) };
    },
  });

  app.get('/v1/auto-actions/offers/:id', {
    schema: { operationId: 'getAutoActionOffer', tags, security: bearerSecurity, params: idParams, response: { 200: offerView, ...problems(400, 403, 404) } },
    handler: async (request) => {
      reader(principalOf(request));
      return autoActions.getOffer(listingOf(request), request.params.id);
    },
  });

  app.put('/v1/auto-actions/offers/:id', {
    schema: {
      operationId: 'replaceAutoActionOffer',
      tags,
      security: bearerSecurity,
      description: 'Replaces the offer (a full snapshot). A lower discount cap caps the policies that use it from their next action on.',
      params: idParams,
      body: offerBody,
      response: { 200: offerView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => autoActions.updateOffer(listingOf(request), request.params.id, request.body, manager(principalOf(request))),
  });

  app.delete('/v1/auto-actions/offers/:id', {
    schema: { operationId: 'deleteAutoActionOffer', tags, security: bearerSecurity, params: idParams, response: { 204: z.null(), ...problems(400, 403, 404, 409) } },
    handler: async (request, reply) => {
      await autoActions.deleteOffer(listingOf(request), request.params.id, manager(principalOf(request)));
      return reply.status(204).send(null);
    },
  });

  // ---------------------------------------------------------------------------------------------
  // Policies

  app.post('/v1/auto-actions/policies', {
    schema: { operationId: 'createAutoActionPolicy', tags, security: bearerSecurity, body: policyBody, response: { 201: policyView, ...problems(400, 403, 409, 422) } },
    handler: async (request, reply) => reply.status(201).send(await autoActions.createPolicy(listingOf(request), request.body, manager(principalOf(request)))),
  });

  app.get('/v1/auto-actions/policies', {
    schema: { operationId: 'listAutoActionPolicies', tags, security: bearerSecurity, response: { 200: z.object({ items: z.array(policyView) }), ...problems(403) } },
    handler: async (request) => {
      reader(principalOf(request));
      return { items: await autoActions.listPolicies(listingOf(request)) };
    },
  });

  app.get('/v1/auto-actions/policies/:id', {
    schema: { operationId: 'getAutoActionPolicy', tags, security: bearerSecurity, params: idParams, response: { 200: policyView, ...problems(400, 403, 404) } },
    handler: async (request) => {
      reader(principalOf(request));
      return autoActions.getPolicy(listingOf(request), request.params.id);
    },
  });

  app.put('/v1/auto-actions/policies/:id', {
    schema: {
      operationId: 'replaceAutoActionPolicy',
      tags,
      security: bearerSecurity,
      params: idParams,
      body: policyBody,
      response: { 200: policyView, ...problems(400, 403, 404, 409, 422) },
    },
    handler: async (request) => autoActions.updatePolicy(listingOf(request), request.params.id, request.body, manager(principalOf(request))),
  });

  app.delete('/v1/auto-actions/policies/:id', {
    schema: { operationId: 'deleteAutoActionPolicy', tags, security: bearerSecurity, params: idParams, response: { 204: z.null(), ...problems(400, 403, 404) } },
    handler: async (request, reply) => {
      await autoActions.deletePolicy(listingOf(request), request.params.id, manager(principalOf(request)));
      return reply.status(204).send(null);
    },
  });

  // ---------------------------------------------------------------------------------------------
  // Evaluation and proposals

  app.post('/v1/auto-actions/evaluate', {
    schema: {
      operationId: 'evaluateAutoActions',
      tags,
      security: bearerSecurity,
      description:
        "Evaluates the listing's policies for a ticket now, with optional model risks and rule tags. Logs (and in auto mode sends) what holds; dryRun only reports.",
      body: evaluateBody,
      response: { 200: evaluationView, ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'developer', 'csr']);
      return autoActions.evaluate(listingOf(request), request.body, { keyId: principal.keyId, role: principal.role, csrId: principal.csrId });
    },
  });

  app.get('/v1/tickets/:id/auto-actions', {
    schema: {
      operationId: 'listTicketAutoActions',
      tags,
      security: bearerSecurity,
      description: 'Proposals and sent actions for the ticket (customers in the holdout group get none).',
      params: ticketIdParams,
      response: { 200: z.object({ items: z.array(actionView) }), ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager', 'csr']);
      return { items: await autoActions.listForTicket(listingOf(request), request.params.id) };
    },
  });

  app.post('/v1/auto-actions/:id/send', {
    schema: {
      operationId: 'sendAutoAction',
      tags,
      security: bearerSecurity,
      description: 'Takes a proposal: the offer goes into the thread as the caller\'s message (a CSR must hold the ticket). Repeating it answers the sent action.',
      params: idParams,
      response: { 200: actionView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr']);
      return autoActions.send(listingOf(request), request.params.id, principal);
    },
  });

  app.post('/v1/auto-actions/:id/dismiss', {
    schema: { operationId: 'dismissAutoAction', tags, security: bearerSecurity, params: idParams, body: dismissBody, response: { 200: actionView, ...problems(400, 403, 404, 409) } },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr']);
      return autoActions.dismiss(listingOf(request), request.params.id, request.body.reason, principal);
    },
  });

  app.post('/v1/tickets/:id/offers/:messageId/response', {
    schema: {
      operationId: 'respondToOffer',
      tags,
      security: bearerSecurity,
      description: "Records the customer's answer to an offer message (201; the same answer again: 200). Accepted offers count as conversions.",
      params: offerResponseParams,
      body: offerResponseBody,
      response: { 201: offerResponseView, 200: offerResponseView, ...problems(400, 403, 404, 409, 422) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['bot', 'csr', 'manager']);
      const { response, created } = await autoActions.respondToOffer(listingOf(request), request.params.id, request.params.messageId, request.body.accepted, principal);
      return reply.status(created ? 201 : 200).send(response);
    },
  });

  app.get('/v1/analytics/auto-actions', {
    schema: {
      operationId: 'autoActionAnalytics',
      tags: [...tags, 'analytics'],
      security: bearerSecurity,
      description:
        'Per policy: eligible tickets, treated and holdout counts, and conversion, resolution (over ended tickets) and satisfaction (over rated ones) for treated vs holdout, with the difference and its 95 % interval.',
      querystring: analyticsQuery,
      response: { 200: analyticsView, ...problems(400, 403) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager']);
      return autoActions.analytics(listingOf(request), request.query);
    },
  });
};
