import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole, type Principal } from '../../auth/index.ts';
import { automatedMessagesBody, automatedMessagesView, welcomeQuery, welcomeView, type AutomatedMessageService } from '../../automation/index.ts';
import type { Actor } from '../../events/index.ts';
import { addHolidayBody, availabilityView, holidayView, listHolidaysQuery, putScheduleBody, scheduleView, type ScheduleService } from '../../schedule/index.ts';
import { bearerSecurity, listingOf, principalOf, problems } from '../http.ts';

const tags = ['listing-config'];
const actorOf = (principal: Principal): Actor => ({ keyId: principal.keyId, role: principal.role });

/** Business hours, holidays, automated messages and live availability of the caller's listing. */
export const listingConfigRoutes: FastifyPluginAsyncZod<{ schedule: ScheduleService; automatedMessages: AutomatedMessageService }> = async (
  app,
  { schedule, automatedMessages },
) => {
  /** Configuration writes: managers of the listing, or admins naming it in x-listing-id. */
  const manager = (principal: Principal) => {
    requireRole(principal, ['manager']);
    return actorOf(principal);
  };

  app.get('/v1/listing/schedule', {
    schema: { operationId: 'getSchedule', tags, security: bearerSecurity, response: { 200: scheduleView, ...problems(400, 404) } },
    handler: async (request) => schedule.getSchedule(listingOf(request)),
  });

  app.put('/v1/listing/schedule', {
    schema: {
      operationId: 'putSchedule',
      tags,
      security: bearerSecurity,
      description: 'Replaces the weekly opening hours (local times in the listing time zone, which the body may change).',
      body: putScheduleBody,
      response: { 200: scheduleView, ...problems(400, 403, 404) },
    },
    handler: async (request) => schedule.putSchedule(listingOf(request), request.body, manager(principalOf(request))),
  });

  app.delete('/v1/listing/schedule', {
    schema: {
      operationId: 'clearSchedule',
      tags,
      security: bearerSecurity,
      description: 'Removes the weekly hours: the listing is open around the clock, except on holidays.',
      response: { 200: scheduleView, ...problems(400, 403, 404) },
    },
    handler: async (request) => schedule.clearSchedule(listingOf(request), manager(principalOf(request))),
  });

  app.get('/v1/listing/holidays', {
    schema: {
      operationId: 'listHolidays',
      tags,
      security: bearerSecurity,
      querystring: listHolidaysQuery,
      response: { 200: z.object({ items: z.array(holidayView) }), ...problems(400, 404) },
    },
    handler: async (request) => ({ items: await schedule.listHolidays(listingOf(request), request.query) }),
  });

  app.post('/v1/listing/holidays', {
    schema: {
      operationId: 'addHoliday',
      tags,
      security: bearerSecurity,
      description: 'Adds a holiday: the whole local day is closed. The date must be today or later.',
      body: addHolidayBody,
      response: { 201: holidayView, ...problems(400, 403, 404, 409, 422) },
    },
    handler: async (request, reply) => {
      const actor = manager(principalOf(request));
      return reply.status(201).send(await schedule.addHoliday(listingOf(request), request.body, actor));
    },
  });

  app.delete('/v1/listing/holidays/:id', {
    schema: {
      operationId: 'removeHoliday',
      tags,
      security: bearerSecurity,
      params: z.object({ id: z.uuid() }),
      response: { 204: z.null(), ...problems(400, 403, 404) },
    },
    handler: async (request, reply) => {
      const actor = manager(principalOf(request));
      await schedule.removeHoliday(listingOf(request), request.params.id, actor);
      return reply.status(204).send(null);
    },
  });

  app.get('/v1/listing/automated-messages', {
    schema: { operationId: 'getAutomatedMessages', tags, security: bearerSecurity, response: { 200: automatedMessagesView, ...problems(400, 404) } },
    handler: async (request) => automatedMessages.get(listingOf(request)),
  });

  app.put('/v1/listing/automated-messages', {
    schema: {
      operationId: 'putAutomatedMessages',
      tags,
      security: bearerSecurity,
      description: 'Replaces every automated message at once; give null (or []) to switch one off.',
      body: automatedMessagesBody,
      response: { 200: automatedMessagesView, ...problems(400, 403, 404) },
    },
    handler: async (request) => automatedMessages.put(listingOf(request), request.body, manager(principalOf(request))),
  });

  app.get('/v1/listing/welcome', {
    schema: {
      operationId: 'getWelcomeMessage',
      tags,
      security: bearerSecurity,
      description: 'The welcome text a chat client shows before the customer has a ticket.',
      querystring: welcomeQuery,
      response: { 200: welcomeView, ...problems(400, 404) },
    },
    handler: async (request) => automatedMessages.welcome(listingOf(request), request.query.name),
  });

  app.get('/v1/listing/availability', {
    schema: {
      operationId: 'getAvailability',
      tags,
      security: bearerSecurity,
      description: 'Business hours and CSR availability now: whether to offer live chat, and when it opens next.',
      response: { 200: availabilityView, ...problems(400, 404) },
    },
    handler: async (request) => schedule.availability(listingOf(request)),
  });
};
