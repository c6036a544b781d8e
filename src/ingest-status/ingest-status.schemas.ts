import { z } from 'zod';

// No imports from src/ingest here: loading it registers the interaction schemas (ids such as
// Attachment) in zod's global registry, which the api's OpenAPI document is built from.
import { listingIdSchema } from '../listings/index.ts';

/** GET /v1/analytics/ingest-status: how far the live source (outbox → DuckDB) has come. */
export const ingestStatusView = z
  .object({
    scope: z.enum(['listing', 'all']).describe('listing: the counts are the caller listing’s events; all: every listing’s (admin keys)'),
    listingId: z.string().optional(),
    lastAppliedEventId: z.number().describe('Id of the last outbox event applied to the analytics store (0 before the first)'),
    newestEventId: z.number().describe('Newest outbox event id in scope'),
    lagEvents: z.number().describe('Outbox events in scope committed after lastAppliedEventId'),
    lagSeconds: z.number().describe('Age of the oldest of those events; 0 when caught up'),
    positionUpdatedAt: z.date().nullable().describe('When the live source last moved its position; null before its first run'),
    checkedAt: z.date(),
  })
  .meta({ id: 'IngestStatus' });

export type IngestStatusView = z.output<typeof ingestStatusView>;

/** POST /v1/admin/ingest: `loopwise ingest` run by the process that owns the analytics store. */
export const adminIngestBody = z
  .object({
    listingId: listingIdSchema,
    paths: z
      .array(z.string().min(1).max(4096).refine((value) => value.startsWith('/'), 'an absolute path on the server'))
      .min(1)
      .max(1000)
      .describe('Files on the server’s disk (absolute paths; .gz accepted). The CLI resolves relative paths before sending.'),
    format: z.string().max(32).optional().describe('jsonl, json, csv, uss, ibm-twitter or abcd; default: inferred from each file’s extension or content'),
    interactions: z.string().min(1).max(4096).refine((value) => value.startsWith('/'), 'an absolute path on the server').optional(),
    redact: z.boolean().default(true).describe('false only for listings in INGEST_RAW_TEXT_LISTINGS'),
    idPrefix: z.string().min(1).max(200).optional(),
    batchSize: z.number().int().min(1).max(100_000).optional(),
    maxRecordBytes: z.number().int().min(1).max(1024 * 1024 * 1024).optional(),
  })
  .strict();

export type AdminIngestInput = z.output<typeof adminIngestBody>;

const totals = {
  records: z.number(),
  accepted: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  quarantined: z.number(),
  messages: z.number(),
};

export const ingestSummaryView = z
  .object({
    runId: z.string(),
    listingId: z.string(),
    redact: z.boolean(),
    status: z.enum(['completed', 'interrupted']),
    ...totals,
    sources: z.array(
      z.object({
        source: z.string(),
        format: z.string().nullable(),
        status: z.enum(['completed', 'empty', 'interrupted']),
        ...totals,
        resumedAfter: z.number(),
        superseded: z.number(),
        reasons: z.record(z.string(), z.number().optional()),
        redactions: z.record(z.string(), z.number()),
        bytes: z.number(),
        seconds: z.number(),
      }),
    ),
    seconds: z.number(),
    messagesPerSecond: z.number(),
  })
  .meta({ id: 'IngestSummary' });
