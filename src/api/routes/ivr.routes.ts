import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole, type Principal } from '../../auth/index.ts';
import type { Actor } from '../../events/index.ts';
import {
  createdIvrSystemView,
  createIvrSystemBody,
  ivrChatRequestBody,
  ivrChatResult,
  ivrSystemIdParams,
  ivrSystemView,
  updateIvrSystemBody,
  type IvrCaller,
  type IvrService,
} from '../../ivr/index.ts';
import { AppError } from '../../platform/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The IVR system whose Basic credentials authenticated this request. */
    ivrCaller?: IvrCaller;
  }
}

const tags = ['ivr'];
const basicSecurity = [{ basic: [] }];
const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, role: principal.role });

/** IVR systems (managed with API keys) and the chat-conversion endpoint they call (HTTP Basic). */
export const ivrRoutes: FastifyPluginAsyncZod<{ ivr: IvrService }> = async (app, { ivr }) => {
  app.post('/v1/ivr-systems', {
    schema: {
      operationId: 'createIvrSystem',
      tags,
      security: bearerSecurity,
      description: 'Registers an IVR system and issues its HTTP Basic credentials. The password is shown once.',
      body: createIvrSystemBody,
      response: { 201: createdIvrSystemView, ...problems(400, 403, 404) },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return reply.status(201).send(await ivr.create(listingOf(request), request.body, actorOf(principal)));
    },
  });

  app.get('/v1/ivr-systems', {
    schema: { operationId: 'listIvrSystems', tags, security: bearerSecurity, response: { 200: z.object({ items: z.array(ivrSystemView) }), ...problems(400, 403) } },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager']);
      return { items: await ivr.list(listingOf(request)) };
    },
  });

  app.get('/v1/ivr-systems/:id', {
    schema: { operationId: 'getIvrSystem', tags, security: bearerSecurity, params: ivrSystemIdParams, response: { 200: ivrSystemView, ...problems(400, 403, 404) } },
    handler: async (request) => {
      requireRole(principalOf(request), ['manager']);
      return ivr.get(listingOf(request), request.params.id);
    },
  });

  app.patch('/v1/ivr-systems/:id', {
    schema: {
      operationId: 'updateIvrSystem',
      tags,
      security: bearerSecurity,
      params: ivrSystemIdParams,
      body: updateIvrSystemBody,
      response: { 200: ivrSystemView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return ivr.update(listingOf(request), request.params.id, request.body, actorOf(principal));
    },
  });

  app.post('/v1/ivr-systems/:id/revoke', {
    schema: {
      operationId: 'revokeIvrSystem',
      tags,
      security: bearerSecurity,
      description: 'Revokes the IVR system: its credentials stop working on the next request.',
      params: ivrSystemIdParams,
      response: { 200: ivrSystemView, ...problems(400, 403, 404, 409) },
    },
    handler: async (request) => {
      const principal = principalOf(request);
      requireRole(principal, ['manager']);
      return ivr.revoke(listingOf(request), request.params.id, actorOf(principal));
    },
  });

  app.post('/v1/ivr/chat-requests', {
    // No API key: the IVR system authenticates with its own Basic credentials, checked before
    // the body is validated so an unauthenticated caller learns nothing about the input rules.
    config: { public: true },
    onRequest: async (request, reply) => {
      try {
        request.ivrCaller = await ivr.authenticate(request.headers.authorization);
      } catch (error) {
        reply.header('www-authenticate', 'Basic realm="loopwise-ivr", charset="UTF-8"');
        throw error;
      }
    },
    schema: {
      operationId: 'requestChatFromIvr',
      tags,
      security: basicSecurity,
      description:
        'A caller chose chat in the IVR. Creates their ticket (source ivr; an open one is reused, 200) and texts them a chat link (201 when ' +
        'the ticket is new). Landline callers, listings without chat settings and refused SMS answer outcome "live_call": keep the caller on the line.',
      body: ivrChatRequestBody,
      response: { 201: ivrChatResult, 200: ivrChatResult, ...problems(400) },
    },
    handler: async (request, reply) => {
      if (!request.ivrCaller) throw new AppError('unauthorized');
      const result = await ivr.requestChat(request.ivrCaller, request.body, `${request.protocol}://${request.host}`);
      return reply.status(result.outcome === 'sms' && result.ticketCreated ? 201 : 200).send(result);
    },
  });
};
