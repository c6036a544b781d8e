import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { analyticsDbPath, createAnalyticsOwner, type AnalyticsOwner } from './analytics-store/index.ts';
import { createAutomationEngine, createAutomationJobs } from './automation/index.ts';
import { createCoreServices, type CoreServices } from './core.ts';
import {
  createBullConsumer,
  createBullProducer,
  createInProcessJobs,
  createLocalEventBus,
  createOutboxRelay,
  createRedisEventBus,
  type EventBus,
  type JobConsumer,
  type JobHandlers,
  type JobProducer,
} from './jobs/index.ts';
import { createOutboxIngest } from './ingest/index.ts';
import { createPredictionEngine, createTrainingService, type OutcomeModelLoader, type OutcomeTrainer, type PredictionEngine, type TrainingService } from './predictions/index.ts';
import { AppError, migrate, openDatabase, type Config, type Database, type Logger } from './platform/index.ts';
import type { ModelVersionMetadata } from './models/registry/index.ts';

export interface Runtime {
  config: Config;
  db: Database;
  redis?: Redis;
  services: CoreServices;
  events: EventBus;
  jobs: JobProducer;
  /** Starts consuming jobs in this process (embedded mode, or the worker process). */
  consumer?: JobConsumer;
  /**
   * The analytics store (DuckDB), only in the process that runs jobs: embedded, the api; with
   * Redis, the worker. DuckDB admits one process per file, so no other process opens it.
   */
  analytics?: AnalyticsOwner;
  /** Training runs: requested by any api process, run where jobs (and the analytics store) are. */
  training: TrainingService;
  /** Live predictions after each message (used by the job handlers in this process). */
  predictions: PredictionEngine;
  close(): Promise<void>;
}

/**
 * The outcome models, imported when first needed: serving loads compiled weights only, and the
 * trainer (tfjs) is loaded only by a process that actually trains.
 */
export const loadLiveOutcomeModel: OutcomeModelLoader = async (bytes, metadata) => {
  const models = await import('./models/outcome-model.ts');
  const model = models.loadOutcomeModel(bytes, metadata);
  const classes = model.target.classes.map(String);
  return {
    startConversation(options) {
      const session = model.startConversation(options);
      return {
        push: (message) => session.push(message),
        predict: () => {
          const prediction = session.predict();
          return { ...prediction, ...(prediction.probs ? { classes } : {}) };
        },
      };
    },
  };
};

export function outcomeTrainer(services: CoreServices): OutcomeTrainer {
  return async (store, { listingId, target, options, onProgress }) => {
    const { trainOutcomeModel } = await import('./models/train.service.ts');
    const listing = await services.listings.find(listingId);
    const trained = await trainOutcomeModel(store, {
      listingId,
      target,
      ...(options.at ? { at: options.at } : {}),
      model: options.model,
      ...(options.split ? { split: options.split } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(listing ? { timeZone: listing.timezone } : {}),
      onProgress: (progress) => onProgress({ ...progress }),
    });
    return { artifact: trained.artifact, metadata: trained.metadata as unknown as ModelVersionMetadata, evaluation: trained.metadata.metrics.headline };
  };
}

const redisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true } as const;

/**
 * Opens the stores the configuration points at and wires services and jobs. `role` decides who
 * consumes jobs: with Redis only the worker does; embedded, the api process runs them itself.
 */
export async function openRuntime(config: Config, logger: Logger, role: 'api' | 'worker' | 'cli'): Promise<Runtime> {
  const db = await openDatabase(config, `loopwise-${role}`);
  const applied = await migrate(db);
  if (applied.length > 0) logger.info({ applied }, 'database migrated');
  const services = createCoreServices({ db, config });

  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  let events: EventBus;
  if (config.REDIS_URL) {
    redis = new Redis(config.REDIS_URL, redisOptions);
    subscriber = new Redis(config.REDIS_URL, redisOptions);
    events = createRedisEventBus(redis, subscriber);
  } else {
    events = createLocalEventBus();
  }

  // With Redis only the worker consumes jobs; embedded, the api process runs them itself.
  const runsJobs = config.REDIS_URL ? role === 'worker' : role !== 'cli';
  const analytics = runsJobs ? createAnalyticsOwner(analyticsDbPath(config)) : undefined;

  // Enqueues through `jobs`, bound late: the in-process producer is built from these handlers.
  const lateJobs = { enqueue: (...args: Parameters<JobProducer['enqueue']>) => jobs.enqueue(...args) } as Pick<JobProducer, 'enqueue'>;
  const automation = createAutomationEngine({ db, jobs: lateJobs });
  const predictions = createPredictionEngine({
    db,
    registry: services.models,
    load: loadLiveOutcomeModel,
    jobs: lateJobs,
    logger,
    // The refresh job also runs the auto-action policies: listings with one need it after each message.
    refreshAlsoFor: (listingId) => services.autoActions.hasActivePolicies(listingId),
  });
  const training = createTrainingService({
    db,
    registry: services.models,
    jobs: lateJobs,
    ...(analytics ? { analytics, train: outcomeTrainer(services) } : {}),
    logger,
  });
  const handlers: JobHandlers = {
    // Relayed events reach automation too: ticket.created and the like schedule its checks.
    'outbox.relay': createOutboxRelay({
      db,
      publisher: {
        async publish(batch) {
          await events.publish(batch);
          await automation.publish(batch);
          await predictions.publish(batch);
        },
      },
    }),
    ...createAutomationJobs(automation),
    // After every message: the ticket's predictions, then the auto-action policies on them
    // (each policy acts at most once per ticket, so re-running on its own offer is harmless).
    'predictions.refresh-ticket': async ({ listingId, ticketId }) => {
      const refreshed = await predictions.refreshTicket(listingId, ticketId);
      try {
        await services.autoActions.afterMessage(listingId, ticketId);
      } catch (error) {
        logger.error({ err: error, listingId, ticketId }, 'auto-action evaluation failed');
      }
      return refreshed;
    },
    'models.train': ({ listingId, runId }) => training.run(listingId, runId),
    'analytics.ingest-outbox': analytics
      ? createOutboxIngest({ db, analytics, rawTextListings: config.INGEST_RAW_TEXT_LISTINGS, sharesEventLoop: role === 'api' })
      : async () => {
          throw new AppError('unavailable', 'this process does not own the analytics database (the job runs in the worker, or embedded in the api)');
        },
  };

  let jobs: JobProducer;
  let consumer: JobConsumer | undefined;
  if (redis) {
    jobs = createBullProducer(redis);
    if (runsJobs) consumer = createBullConsumer(redis, handlers, logger);
  } else {
    const inProcess = createInProcessJobs(handlers, logger);
    jobs = inProcess;
    if (runsJobs) consumer = inProcess;
  }

  return {
    config,
    db,
    ...(redis ? { redis } : {}),
    services,
    events,
    jobs,
    ...(consumer ? { consumer } : {}),
    ...(analytics ? { analytics } : {}),
    training,
    predictions,
    async close() {
      await services.suggest.close();
      await consumer?.close();
      await analytics?.close();
      await jobs.close();
      await events.close();
      subscriber?.disconnect();
      redis?.disconnect();
      await db.close();
    },
  };
}

/** Embedded first start: make an admin key and keep it where only this user can read it. */
export async function ensureBootstrapAdminKey(runtime: Runtime): Promise<{ file: string; created: boolean } | undefined> {
  if (runtime.config.ADMIN_API_KEY) return undefined;
  const file = path.join(runtime.config.dataDir, 'admin.key');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing && (await runtime.services.keys.authenticate(existing))) return { file, created: false };
  } catch {
    // no key file yet
  }
  const { token } = await runtime.services.keys.create({ listingId: null, role: 'admin', name: 'bootstrap' });
  await mkdir(runtime.config.dataDir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { file, created: true };
}

/** Where a running embedded server can be reached; the CLI hands work to it instead of opening the files. */
export const serverInfoFile = (config: Config) => path.join(config.dataDir, 'server.json');
