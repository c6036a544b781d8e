export { createIngestStatusService, OUTBOX_INGEST_CURSOR, type IngestStatusService } from './ingest-status.service.ts';
export { ingestStatusView, adminIngestBody, ingestSummaryView, type IngestStatusView, type AdminIngestInput } from './ingest-status.schemas.ts';
