import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole, type Principal } from '../../auth/index.ts';
import { chatLinkView, chatSettingsBody, chatSettingsView, createChatLinkBody, linkCodeParams, type ChatLinkService } from '../../chat-links/index.ts';
import type { Actor } from '../../events/index.ts';
import { ticketIdParams } from '../../tickets/index.ts';
import { bearerSecurity, listingOf, principalOf, problems, publicProblems } from '../http.ts';

const tags = ['chat-links'];
const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, role: principal.role, csrId: principal.csrId });

/** Chat-session URLs to embed in other channels: listing settings, minting, and the public redirect. */
export const chatLinkRoutes: FastifyPluginAsyncZod<{ chatLinks: ChatLinkService }> = async (app, { chatLinks }) => {
  app.get('/v1/listing/chat-settings', {
    schema: { operationId: 'getChatSettings', tags, security: bearerSecurity, response: { 200: chatSettingsView, ...problems(400, 404) } },
    handler: async (request) => chatLinks.getSettings(listingOf(request)),
  });

  app.put('/v1/listing/chat-settings', {
    schema: {
      operationId: 'putChatSettings',
      tags,
      security: bearerSecurity,
      description: "Sets where the listing's chat sessions live and how long new links work. Links already sent keep their target.",
      body: chatSettingsBody,
      response: { 200: chatSettingsView, ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return chatLinks.putSettings(listingOf(request), request.body, actorOf(principal));
    },
  });

  app.post('/v1/tickets/:id/chat-links', {
    schema: {
      operationId: 'createChatLink',
      tags,
      security: bearerSecurity,
      description: "Mints a short link to the ticket's chat session, to send over any channel.",
      params: ticketIdParams,
      body: createChatLinkBody,
      response: { 201: chatLinkView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager', 'csr', 'bot']);
      const link = await chatLinks.mint(listingOf(request), request.params.id, request.body, {
        actor: actorOf(principal),
        origin: `${request.protocol}://${request.host}`,
      });
      return reply.status(201).send(link);
    },
  });

  app.get('/v1/tickets/:id/chat-links', {
    schema: {
      operationId: 'listChatLinks',
      tags,
      security: bearerSecurity,
      params: ticketIdParams,
      response: { 200: z.object({ items: z.array(chatLinkView) }), ...problems(400, 403, 404) },
    },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager', 'csr', 'bot']);
      return { items: await chatLinks.listForTicket(listingOf(request), request.params.id) };
    },
  });

  app.get('/c/:code', {
    config: { public: true },
    schema: {
      operationId: 'openChatLink',
      tags,
      description: 'Public short link: redirects (302) to the chat session. 404 for unknown codes, 410 once expired.',
      params: linkCodeParams,
      response: {
        302: z.null().describe('Location: the chat session URL'),
        ...publicProblems(404, 410, 500),
      },
    },
    handler: async (request, reply) => {
      const { location } = await chatLinks.open(request.params.code);
      // The code is a capability: keep it out of caches and out of the chat page's Referer.
      return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(location, 302);
    },
  });
};
