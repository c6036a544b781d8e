import { Queue, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import { ZodError } from 'zod';
import type { Logger } from '../platform/index.ts';
import { jobPayloads, QUEUE, repeatingJobs, type JobHandlers, type JobName, type JobPayload } from './catalog.ts';

export interface EnqueueOptions {
  delayMs?: number;
  /** Deduplicates: a job with the same id is not added twice. */
  jobId?: string;
}

export interface JobProducer {
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options?: EnqueueOptions): Promise<void>;
  close(): Promise<void>;
}

export interface JobConsumer {
  start(): Promise<void>;
  close(): Promise<void>;
}

async function runHandler<N extends JobName>(handlers: JobHandlers, name: N, raw: unknown) {
  const parsed = jobPayloads[name].safeParse(raw);
  // A payload that does not parse will never parse: fail it for good instead of retrying.
  if (!parsed.success) throw new UnrecoverableError(`invalid ${name} payload: ${new ZodError(parsed.error.issues).message}`);
  return (handlers[name] as (payload: JobPayload<N>) => Promise<unknown>)(parsed.data as JobPayload<N>);
}

/**
 * Embedded mode (no REDIS_URL): the same catalog runs in this process on timers. Jobs are not
 * durable here; every handler is written to be idempotent and re-derivable from Postgres (the
 * outbox), so a restart loses no work.
 */
export function createInProcessJobs(handlers: JobHandlers, logger: Logger): JobProducer & JobConsumer {
  const timers = new Set<NodeJS.Timeout>();
  const pendingIds = new Set<string>();
  let closed = false;
  const execute = async (name: JobName, payload: unknown) => {
    try {
      await runHandler(handlers, name, payload);
    } catch (error) {
      logger.error({ err: error, job: name }, 'job failed');
    }
  };
  return {
    async enqueue(name, payload, options = {}) {
      if (closed) return;
      if (options.jobId) {
        if (pendingIds.has(options.jobId)) return;
        pendingIds.add(options.jobId);
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (options.jobId) pendingIds.delete(options.jobId);
        void execute(name, payload);
      }, options.delayMs ?? 0);
      timers.add(timer);
    },
    async start() {
      for (const job of repeatingJobs) {
        let running = false;
        const timer = setInterval(() => {
          if (running || closed) return;
          running = true;
          void execute(job.name, job.payload).finally(() => {
            running = false;
          });
        }, job.everyMs);
        timers.add(timer);
      }
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

export function createBullProducer(connection: ConnectionOptions, queueName = QUEUE): JobProducer {
  const queue = new Queue(queueName, {
    connection,
    defaultJobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  });
  return {
    async enqueue(name, payload, options = {}) {
      await queue.add(name, payload, {
        ...(options.delayMs ? { delay: options.delayMs } : {}),
        ...(options.jobId ? { jobId: options.jobId } : {}),
      });
    },
    close: () => queue.close(),
  };
}

/** The worker process: consumes the queue and keeps the repeating jobs scheduled. */
export function createBullConsumer(
  connection: ConnectionOptions,
  handlers: JobHandlers,
  logger: Logger,
  options: { queueName?: string; concurrency?: number } = {},
): JobConsumer {
  const queueName = options.queueName ?? QUEUE;
  let worker: Worker | undefined;
  const queue = new Queue(queueName, { connection });
  return {
    async start() {
      for (const job of repeatingJobs) {
        await queue.upsertJobScheduler(`repeat:${job.name}`, { every: job.everyMs }, { name: job.name, data: job.payload });
      }
      worker = new Worker(queueName, (job) => runHandler(handlers, job.name as JobName, job.data), {
        connection,
        concurrency: options.concurrency ?? 10,
      });
      worker.on('failed', (job, error) => logger.error({ err: error, job: job?.name, jobId: job?.id }, 'job failed'));
      worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
    },
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
