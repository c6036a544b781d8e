import type { AnalyticsOwner } from '../analytics-store/index.ts';
import { AppError, newId as defaultNewId, systemClock, type Clock } from '../platform/index.ts';
import { createIngestService, type IngestSummary } from './ingest.service.ts';
import type { AdminIngestInput } from '../ingest-status/index.ts';
import { checkFormatName } from './formats.ts';

/**
 * `loopwise ingest` handed to the process that owns the analytics store (POST /v1/admin/ingest):
 * the same ingest service, run over the owner's open database, taking turns with the live source.
 */
export function createServerIngestService(deps: { analytics: AnalyticsOwner; rawTextListings: readonly string[]; clock?: Clock; newId?: () => string }) {
  const clock = deps.clock ?? systemClock;
  const newId = deps.newId ?? defaultNewId;
  return {
    async ingest(input: AdminIngestInput, signal?: AbortSignal): Promise<IngestSummary> {
      if (!input.redact && !deps.rawTextListings.includes(input.listingId)) {
        throw new AppError('forbidden', `listing ${input.listingId} does not allow raw text: redaction stays on unless the listing is in INGEST_RAW_TEXT_LISTINGS`);
      }
      return deps.analytics.use((db) =>
        createIngestService({ db, clock, newId }).ingest({
          listingId: input.listingId,
          paths: input.paths,
          redact: input.redact,
          ...(input.format ? { format: checkFormatName(input.format) } : {}),
          ...(input.interactions ? { interactions: input.interactions } : {}),
          ...(input.idPrefix ? { idPrefix: input.idPrefix } : {}),
          ...(input.batchSize ? { batchSize: input.batchSize } : {}),
          ...(input.maxRecordBytes ? { maxRecordBytes: input.maxRecordBytes } : {}),
          ...(signal ? { signal } : {}),
          shareEventLoop: true,
        }),
      );
    },
  };
}

export type ServerIngestService = ReturnType<typeof createServerIngestService>;
