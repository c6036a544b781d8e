import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireRole } from '../../auth/index.ts';
import { rankBody, rankView, suggestBody, suggestView, type SuggestService } from '../../suggest/engine/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['suggestions'];
const callers = ['csr', 'manager', 'developer', 'bot'] as const;

/** The suggest API: what CSR consoles call many times a minute. */
export const suggestRoutes: FastifyPluginAsyncZod<{ suggest: SuggestService }> = async (app, { suggest }) => {
  app.post('/v1/suggest', {
    schema: {
      operationId: 'suggestReplies',
      tags,
      summary: 'Reply suggestions for a ticket or a conversation',
      description:
        'One ranked list from the published keyword rules (reply sets, canned content), and the learned reply model (the listing’s canonical replies, ranked by relevance and by the predicted outcome after each). ' +
        'One suggestion per canonical reply; learned suggestions under the confidence gate are left out. Auto-action proposals, hand-off recommendations and tags from the rules come in `actions`. ' +
        'Report what the CSR did with each suggestion to POST /v1/suggestions/{id}/feedback.',
      security: bearerSecurity,
      body: suggestBody,
      response: { 200: suggestView, ...problems(400, 403, 404, 422) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), callers);
      return suggest.suggest(listingOf(request), request.body);
    },
  });

  app.post('/v1/suggest/rank', {
    schema: {
      operationId: 'rankReplies',
      tags,
      summary: 'Score caller-given candidate replies for a context',
      description: 'Scores (higher is better, comparable within one request) from the listing’s promoted reply model; 409 when none is promoted.',
      security: bearerSecurity,
      body: rankBody,
      response: { 200: rankView, ...problems(400, 403, 404, 409, 422) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), callers);
      return suggest.rank(listingOf(request), request.body);
    },
  });
};
