import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireRole } from '../../auth/index.ts';
import { suggestionFeedbackBody, suggestionIdParams, suggestionView, type SuggestionLog } from '../../suggest/log/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['suggestions'];
/** The keys that show suggestions (consoles, bots) and the people who build and check them. */
const consoleRoles = ['csr', 'bot', 'manager', 'developer'] as const;

/** The suggestion log: what a CSR did with each suggestion shown. */
export const suggestionRoutes: FastifyPluginAsyncZod<{ suggestions: SuggestionLog }> = async (app, { suggestions }) => {
  app.post('/v1/suggestions/:id/feedback', {
    schema: {
      operationId: 'giveSuggestionFeedback',
      tags,
      security: bearerSecurity,
      summary: 'Report what the CSR did with a suggestion: used, edited or ignored',
      description: 'A later report replaces an earlier one. Feeds the per-rule analytics (GET /v1/rules/{id}/analytics).',
      params: suggestionIdParams,
      body: suggestionFeedbackBody,
      response: { 200: suggestionView, ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, consoleRoles);
      return suggestions.feedback(listingOf(request), request.params.id, request.body, { keyId: principal.keyId, role: principal.role, csrId: principal.csrId });
    },
  });

  app.get('/v1/suggestions/:id', {
    schema: { operationId: 'getSuggestion', tags, security: bearerSecurity, params: suggestionIdParams, response: { 200: suggestionView, ...problems(400, 403, 404) } },
    handler: async (request) => {
      requireRole(principalOf(request), consoleRoles);
      return suggestions.get(listingOf(request), request.params.id);
    },
  });
};
