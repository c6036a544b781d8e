import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole } from '../../auth/index.ts';
import { listSmsQuery, smsView, type SmsService } from '../../sms/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

/** The SMS outbox: every text message sent for the listing, newest first. */
export const smsRoutes: FastifyPluginAsyncZod<{ sms: SmsService }> = async (app, { sms }) => {
  app.get('/v1/sms-messages', {
    schema: {
      operationId: 'listSmsMessages',
      tags: ['sms'],
      security: bearerSecurity,
      querystring: listSmsQuery,
      response: { 200: z.object({ items: z.array(smsView) }), ...problems(400, 403) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager']);
      return { items: await sms.list(listingOf(request), request.query) };
    },
  });
};
