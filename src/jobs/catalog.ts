import { z } from 'zod';

/**
 * The one job catalog: names, queues and payload schemas. Payloads carry ids, never records;
 * new fields are optional so old jobs still parse after a deploy.
 */
export const QUEUE = 'loopwise';

export const jobPayloads = {
  'outbox.relay': z.object({ batchSize: z.number().int().min(1).max(5000).optional() }),
  // Automated messages (src/automation): one ticket's check, and the sweep that re-finds due tickets.
  'automated.check-ticket': z.object({ listingId: z.string().min(1), ticketId: z.uuid() }),
  'automated.sweep': z.object({ listingId: z.string().min(1).optional(), batchSize: z.number().int().min(1).max(5000).optional() }),
  // Live source (src/ingest): outbox events after the position stored in DuckDB → interaction records.
  'analytics.ingest-outbox': z.object({ batchSize: z.number().int().min(1).max(200_000).optional() }),
  // Outcome models (src/predictions): one ticket's live predictions, and a training run.
  'predictions.refresh-ticket': z.object({ listingId: z.string().min(1), ticketId: z.uuid() }),
  'models.train': z.object({ listingId: z.string().min(1), runId: z.uuid() }),
} as const;

export type JobName = keyof typeof jobPayloads;
export type JobPayload<N extends JobName> = z.output<(typeof jobPayloads)[N]>;

/** Repeating jobs and their period. */
export const repeatingJobs: Array<{ name: JobName; everyMs: number; payload: Record<string, unknown> }> = [
  { name: 'outbox.relay', everyMs: 1000, payload: {} },
  { name: 'automated.sweep', everyMs: 30_000, payload: {} },
  // Each run rewrites the header row and events of every conversation it touches (messages are
  // appended); a longer period amortises that under heavy message load. In embedded mode this
  // runs in the api process. Lag stays visible at /v1/analytics/ingest-status.
  { name: 'analytics.ingest-outbox', everyMs: 15_000, payload: {} },
];

export type JobHandlers = { [N in JobName]: (payload: JobPayload<N>) => Promise<unknown> };
