import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AnalyticsOwner } from '../../analytics-store/index.ts';
import { requireRole, type Principal } from '../../auth/index.ts';
import type { Actor } from '../../events/index.ts';
import { ruleAnalyticsQuery, ruleAnalyticsView } from '../../suggest/log/index.ts';
import {
  listRulesQuery,
  publishRuleBody,
  rollbackRuleBody,
  ruleDefinition,
  ruleIdParams,
  ruleReplayBody,
  ruleReplayView,
  ruleTestBody,
  ruleTestView,
  ruleVersionView,
  ruleView,
  updateRuleBody,
  type RulesService,
} from '../../suggest/rules/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['rules'];

/**
 * Keyword AI rules. Developers and managers author, test and replay them (admin keys with
 * x-listing-id too). CSR and bot keys have no access: they get rule suggestions through the
 * suggest API, and a rule's definition (its internal descriptions, its terms) is authoring
 * material, not something a console needs.
 */
export const ruleRoutes: FastifyPluginAsyncZod<{ rules: RulesService; analytics?: AnalyticsOwner | undefined }> = async (app, { rules, analytics }) => {
  const author = (principal: Principal): Actor => {
    requireRole(principal, ['manager', 'developer']);
    return { keyId: principal.keyId, role: principal.role };
  };

  app.post('/v1/rules', {
    schema: {
      operationId: 'createRule',
      tags,
      security: bearerSecurity,
      description: 'Saves version 1 as a draft; the suggest API evaluates a rule only once a version is published.',
      body: ruleDefinition,
      response: { 201: ruleView, ...problems(400, 403, 404) },
    },
    handler: async (request, reply) => {
      const actor = author(principalOf(request));
      return reply.status(201).send(await rules.create(listingOf(request), request.body, actor));
    },
  });

  app.get('/v1/rules', {
    schema: {
      operationId: 'listRules',
      tags,
      security: bearerSecurity,
      description: 'Live rules with their latest versions, in evaluation order (priority, then name).',
      querystring: listRulesQuery,
      response: { 200: z.object({ items: z.array(ruleView) }), ...problems(400, 403) },
    },
    handler: async (request) => {
      author(principalOf(request));
      return { items: await rules.list(listingOf(request), request.query) };
    },
  });

  app.post('/v1/rules/test', {
    schema: {
      operationId: 'testRules',
      tags,
      security: bearerSecurity,
      summary: 'Which rules fire for sample messages, and why',
      description:
        'Evaluates the published rules (as the suggest API does), or the given saved rules at their latest versions and unsaved definitions, ' +
        'against a conversation whose last message is the latest. Answers with the fired rules in priority order, their matched terms and ' +
        'rendered actions, and a pass/fail reason for each condition.',
      body: ruleTestBody,
      response: { 200: ruleTestView, ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      author(principalOf(request));
      return rules.test(listingOf(request), request.body);
    },
  });

  app.post('/v1/rules/replay', {
    schema: {
      operationId: 'replayRule',
      tags,
      security: bearerSecurity,
      summary: "Run a rule over the listing's past conversations before publishing it",
      description:
        'Evaluates the rule after every message of the most recent past conversations in the analytics store and reports how often it would ' +
        'have fired, where, and the outcomes of those conversations against the rest. Runs in the process that owns the analytics store ' +
        '(embedded: the api); 503 `unavailable` from an api process that does not own it (with REDIS_URL the worker does).',
      body: ruleReplayBody,
      response: { 200: ruleReplayView, ...problems(400, 403, 404, 503) },
    },
    handler: async (request) => {
      author(principalOf(request));
      return rules.replay(listingOf(request), request.body, analytics);
    },
  });

  app.get('/v1/rules/:id', {
    schema: { operationId: 'getRule', tags, security: bearerSecurity, params: ruleIdParams, response: { 200: ruleView, ...problems(400, 403, 404) } },
    handler: async (request) => {
      author(principalOf(request));
      return rules.get(listingOf(request), request.params.id);
    },
  });

  app.put('/v1/rules/:id', {
    schema: {
      operationId: 'updateRule',
      tags,
      security: bearerSecurity,
      description: 'Saves the whole definition as the next version (an unchanged definition saves nothing). The published version stays in force until a publish.',
      params: ruleIdParams,
      body: updateRuleBody,
      response: { 200: ruleView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => rules.update(listingOf(request), request.params.id, request.body, author(principalOf(request))),
  });

  app.delete('/v1/rules/:id', {
    schema: {
      operationId: 'deleteRule',
      tags,
      security: bearerSecurity,
      description: 'Stops the rule at once in every api process (within RULES_REFRESH_MS elsewhere); its versions and analytics are kept.',
      params: ruleIdParams,
      response: { 204: z.null(), ...problems(400, 403, 404) },
    },
    handler: async (request, reply) => {
      const actor = author(principalOf(request));
      await rules.remove(listingOf(request), request.params.id, actor);
      return reply.status(204).send(null);
    },
  });

  app.get('/v1/rules/:id/versions', {
    schema: {
      operationId: 'listRuleVersions',
      tags,
      security: bearerSecurity,
      description: 'Every saved version, oldest first.',
      params: ruleIdParams,
      response: { 200: z.object({ items: z.array(ruleVersionView) }), ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      author(principalOf(request));
      return { items: await rules.versions(listingOf(request), request.params.id) };
    },
  });

  app.post('/v1/rules/:id/publish', {
    schema: {
      operationId: 'publishRule',
      tags,
      security: bearerSecurity,
      description: 'Makes a version (default: the latest) the one the suggest API evaluates; the published set is recompiled.',
      params: ruleIdParams,
      body: publishRuleBody,
      response: { 200: ruleView, ...problems(400, 403, 404) },
    },
    handler: async (request) => rules.publish(listingOf(request), request.params.id, request.body, author(principalOf(request))),
  });

  app.post('/v1/rules/:id/rollback', {
    schema: {
      operationId: 'rollbackRule',
      tags,
      security: bearerSecurity,
      description: 'Saves a copy of an earlier version as the next version; a published rule publishes it at once.',
      params: ruleIdParams,
      body: rollbackRuleBody,
      response: { 200: ruleView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => rules.rollback(listingOf(request), request.params.id, request.body, author(principalOf(request))),
  });

  app.get('/v1/rules/:id/analytics', {
    schema: {
      operationId: 'getRuleAnalytics',
      tags,
      security: bearerSecurity,
      description: 'How often the rule fired, how often its suggestions were shown, and what CSRs did with them (POST /v1/suggestions/{id}/feedback), over whole UTC days.',
      params: ruleIdParams,
      querystring: ruleAnalyticsQuery,
      response: { 200: ruleAnalyticsView, ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      author(principalOf(request));
      return rules.analytics(listingOf(request), request.params.id, request.query);
    },
  });
};
