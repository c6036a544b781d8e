import { randomUUID } from 'node:crypto';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, createJsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { CoreServices } from '../core.ts';
import type { EventBus } from '../jobs/index.ts';
import { apiSchemas, AppError, type Config, type Database, type Logger } from '../platform/index.ts';
import { registerAuth } from './auth.plugin.ts';
import { errorHandler, problem, sendProblem } from './problem.ts';
import { adminRoutes } from './routes/admin.routes.ts';
import { cannedRoutes } from './routes/canned.routes.ts';
import { listingConfigRoutes } from './routes/listing-config.routes.ts';
import { messageRoutes } from './routes/messages.routes.ts';
import { peopleRoutes } from './routes/people.routes.ts';
import { systemRoutes, type ReadinessCheck } from './routes/system.routes.ts';
import { eventRoutes } from './routes/events.routes.ts';
import { ticketRoutes } from './routes/tickets.routes.ts';
import { chatLinkRoutes } from './routes/chat-links.routes.ts';
import { expertRoutes } from './routes/experts.routes.ts';
import { ivrRoutes } from './routes/ivr.routes.ts';
import { smsRoutes } from './routes/sms.routes.ts';
import { analyticsRoutes, type ServerIngest } from './routes/analytics.routes.ts';
import { ruleRoutes } from './routes/rules.routes.ts';
import { suggestionRoutes } from './routes/suggestions.routes.ts';
import type { AnalyticsOwner } from '../analytics-store/index.ts';
import { modelRoutes } from './routes/models.routes.ts';
import { suggestRoutes } from './routes/suggest.routes.ts';
import type { TrainingService } from '../predictions/index.ts';
import { handoffRoutes } from './routes/handoff.routes.ts';
import { autoActionRoutes } from './routes/auto-actions.routes.ts';
import { draftRoutes } from './routes/drafts.routes.ts';

export interface AppDeps {
  config: Config;
  services: CoreServices;
  logger?: Logger | false;
  readiness?: ReadinessCheck[];
  /** Shares rate-limit counters between api replicas; in-memory when absent. */
  redis?: Redis;
  /** Realtime fan-out of outbox events (GET /v1/events/stream). */
  events?: EventBus;
  /** Read access for the events feed. */
  db: Database;
  /** File ingest in this process (POST /v1/admin/ingest); only where this process owns the analytics store. */
  serverIngest?: ServerIngest;
  /** The analytics store, where this process owns it (POST /v1/rules/replay); 503 for replay when absent. */
  analytics?: AnalyticsOwner;
  /** Training runs as jobs (POST /v1/models/{target}/train); 503 when absent. */
  training?: TrainingService;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP app without listening: server.ts listens, tests use app.inject. */
export async function buildApp({ config, services, logger, readiness = [], redis, events, db, serverIngest, training, analytics }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  }).withTypeProvider<ZodTypeProvider>();

  // Many clients send `content-type: application/json` on every POST, with a body or not (the
  // README's curl helpers do): an empty body reads as no body, so a bodiless action (publish,
  // pull, end) works, and a route that needs a body still answers validation_failed for it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(request, body as string, done);
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problem('route_not_found', request.id, `No route ${request.method} ${request.url.split('?')[0]}`)));
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Loopwise API',
        version: '0.1.0',
        description: 'Ticket/chat core and conversation intelligence for customer service. Errors are RFC 9457 problem+json (see /problems).',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: lw_<id>_<secret>' }, basic: { type: 'http', scheme: 'basic', description: 'IVR system credentials (POST /v1/ivr-systems)' } } },
    },
    transform: createJsonSchemaTransform({ schemaRegistry: apiSchemas }),
    transformObject: createJsonSchemaTransformObject({ schemaRegistry: apiSchemas }),
  });
  // The docs UI's own static routes need no key.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true };
  });
  // Tags start collapsed: the document has 120+ operations, and rendering them all expanded stalls the page.
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true, docExpansion: 'none' } });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  registerAuth(app as unknown as FastifyInstance, services.keys, async (listingId) => Boolean(await services.listings.find(listingId)));

  await app.register(fastifyRateLimit, {
    // After auth, so limits are per key (each key may carry its own limit).
    hook: 'preHandler',
    timeWindow: 60_000,
    max: (request) => request.principal?.rateLimitPerMinute ?? config.RATE_LIMIT_PER_MINUTE,
    keyGenerator: (request) => request.principal?.keyId ?? request.ip,
    allowList: (request) => Boolean(request.routeOptions.config?.public),
    ...(redis ? { redis, nameSpace: 'loopwise:ratelimit:' } : {}),
    errorResponseBuilder: (_request, context) => {
      return new AppError('rate_limited', `Limit of ${context.max} requests per minute reached; retry in ${context.after}`);
    },
  });

  await app.register(systemRoutes, { readiness, modelThreads: () => services.suggest.modelThreads() });
  await app.register(adminRoutes, { listings: services.listings, keys: services.keys });
  await app.register(peopleRoutes, { csrs: services.csrs, customers: services.customers });
  await app.register(ticketRoutes, { tickets: services.tickets });
  await app.register(messageRoutes, { messages: services.messages, attachmentMaxBytes: config.ATTACHMENT_MAX_BYTES });
  await app.register(eventRoutes, { db, bus: events });
  await app.register(ivrRoutes, { ivr: services.ivr });
  await app.register(chatLinkRoutes, { chatLinks: services.chatLinks });
  await app.register(smsRoutes, { sms: services.sms });
  await app.register(expertRoutes, { experts: services.experts });
  await app.register(listingConfigRoutes, { schedule: services.schedule, automatedMessages: services.automatedMessages });
  await app.register(cannedRoutes, { canned: services.canned });
  await app.register(analyticsRoutes, { ingestStatus: services.ingestStatus, serverIngest });
  await app.register(ruleRoutes, { rules: services.rules, analytics });
  await app.register(suggestionRoutes, { suggestions: services.suggestions });
  await app.register(suggestRoutes, { suggest: services.suggest });
  await app.register(modelRoutes, { registry: services.models, predictions: services.predictions, training });
  await app.register(handoffRoutes, { handoff: services.handoff });
  await app.register(autoActionRoutes, { autoActions: services.autoActions });
  await app.register(draftRoutes, { drafts: services.drafts });

  await app.ready();
  return app as unknown as FastifyInstance;
}
