import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireRole } from '../../auth/index.ts';
import {
  assessHandoffBody,
  assessmentView,
  createHandoffBody,
  handoffSettingsBody,
  handoffSettingsView,
  handoffView,
  idempotencyHeaders,
  type HandoffService,
} from '../../handoff/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['handoff'];

/** Bot → live CSR hand-off: the bot asks on every turn, then hands over with the transcript. */
export const handoffRoutes: FastifyPluginAsyncZod<{ handoff: HandoffService }> = async (app, { handoff }) => {
  app.post('/v1/handoff/assess', {
    schema: {
      operationId: 'assessHandoff',
      tags,
      security: bearerSecurity,
      description:
        'Should the bot hand this conversation to a person now? Answers the decision, a confidence (logistic of weighted signals: explicit request, repeated failure, falling tone, high-value intent, rule matches, model risk) and the reasons. Writes nothing; meant for every bot turn.',
      body: assessHandoffBody,
      response: { 200: assessmentView, ...problems(400, 403) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['bot', 'developer']);
      return handoff.assess(listingOf(request), request.body);
    },
  });

  app.post('/v1/handoff', {
    schema: {
      operationId: 'createHandoff',
      tags,
      security: bearerSecurity,
      description:
        "Hands the customer to a CSR: creates a ticket (source bot) routed like any other, imports the transcript with its roles, adds a summary note, and answers the queue position and expected wait. 201 for a new hand-off; a retry with the same Idempotency-Key or externalId answers the first with 200. The customer's chat continues in the ticket's thread.",
      headers: idempotencyHeaders,
      body: createHandoffBody,
      response: { 201: handoffView, 200: handoffView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['bot']);
      const { handoff: result, created } = await handoff.create(listingOf(request), request.body, principal, request.headers['idempotency-key']);
      return reply.status(created ? 201 : 200).send(result);
    },
  });

  app.get('/v1/handoff/settings', {
    schema: {
      operationId: 'getHandoffSettings',
      tags,
      security: bearerSecurity,
      description: "The listing's hand-off threshold, high-value intents and keywords, and the effective signal weights.",
      response: { 200: handoffSettingsView, ...problems(403) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager', 'developer', 'bot']);
      return handoff.getSettings(listingOf(request));
    },
  });

  app.put('/v1/handoff/settings', {
    schema: {
      operationId: 'putHandoffSettings',
      tags,
      security: bearerSecurity,
      description: 'Replaces the settings (fields left out return to their defaults). Other api processes see them within seconds.',
      body: handoffSettingsBody,
      response: { 200: handoffSettingsView, ...problems(400, 403) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return handoff.putSettings(listingOf(request), request.body, { keyId: principal.keyId, role: principal.role });
    },
  });
};
