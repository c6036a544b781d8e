-- Interaction records (src/ingest/interaction.schemas.ts) and the ingest bookkeeping.
-- Every table carries listing_id: one tenant never sees another's rows.
-- No indexes beyond the interactions key: DuckDB scans with zone maps, and ART indexes slow the
-- bulk loads and deletes that ingest does.

CREATE TABLE IF NOT EXISTS interactions (
  listing_id VARCHAR NOT NULL,
  id VARCHAR NOT NULL,
  customer_id VARCHAR,
  csr_ids VARCHAR[],
  external_ids JSON,
  brand VARCHAR,
  queue VARCHAR,
  source_channel VARCHAR,
  source_app VARCHAR,
  created_at TIMESTAMPTZ,
  first_assigned_at TIMESTAMPTZ,
  first_csr_reply_at TIMESTAMPTZ,
  ended_at TIMESTAMPTZ,
  status VARCHAR,
  -- Outcome labels, also in `labels` (kind 'outcome'); here for convenient filtering.
  resolved BOOLEAN,
  abandoned BOOLEAN,
  satisfaction TINYINT,
  converted BOOLEAN,
  conversion VARCHAR,
  message_count INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  redacted BOOLEAN NOT NULL,
  -- sha256 of the stored (redacted) record: an unchanged record is not rewritten.
  content_hash VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  source_format VARCHAR NOT NULL,
  source_index BIGINT NOT NULL,
  source_line BIGINT,
  run_id VARCHAR NOT NULL,
  ingested_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (listing_id, id)
);

CREATE TABLE IF NOT EXISTS messages (
  listing_id VARCHAR NOT NULL,
  interaction_id VARCHAR NOT NULL,
  seq INTEGER NOT NULL,               -- 1-based position in the conversation
  role VARCHAR NOT NULL,              -- customer | csr | bot | system
  kind VARCHAR NOT NULL,              -- text | voice | image | video | file | offer | payment_request | form
  channel VARCHAR,
  ts TIMESTAMPTZ,
  text VARCHAR,
  transcript VARCHAR,
  external_id VARCHAR,
  csr_id VARCHAR,
  attachment JSON,
  meta JSON
);

-- Outcome labels (seq NULL, kind 'outcome' or 'custom') and per-turn labels (seq set, kind 'turn').
-- Booleans are value_num 1/0 with value_text 'true'/'false'; strings only value_text.
CREATE TABLE IF NOT EXISTS labels (
  listing_id VARCHAR NOT NULL,
  interaction_id VARCHAR NOT NULL,
  seq INTEGER,
  kind VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  value_num DOUBLE,
  value_text VARCHAR
);

CREATE TABLE IF NOT EXISTS interaction_events (
  listing_id VARCHAR NOT NULL,
  interaction_id VARCHAR NOT NULL,
  position INTEGER NOT NULL,          -- 1-based order among the interaction's events
  type VARCHAR NOT NULL,
  ts TIMESTAMPTZ,
  seq INTEGER,                        -- the message the event follows
  name VARCHAR,
  from_channel VARCHAR,
  to_channel VARCHAR,
  csr_id VARCHAR,
  data JSON
);

-- Every rejected record, keyed by where it was: re-ingesting the same source replaces its rows.
CREATE TABLE IF NOT EXISTS quarantine (
  listing_id VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  source_format VARCHAR,
  record_index BIGINT NOT NULL,       -- 0-based ordinal of the record in the source
  line BIGINT,
  byte_offset BIGINT,
  reason VARCHAR NOT NULL,
  detail VARCHAR NOT NULL,
  excerpt VARCHAR NOT NULL,           -- redacted like the records, at most 1,000 characters
  run_id VARCHAR NOT NULL,
  quarantined_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS ingest_runs (
  run_id VARCHAR PRIMARY KEY,
  listing_id VARCHAR NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ,
  status VARCHAR NOT NULL,            -- running | completed | interrupted | failed
  sources JSON NOT NULL,
  redact BOOLEAN NOT NULL,
  records BIGINT NOT NULL DEFAULT 0,
  accepted BIGINT NOT NULL DEFAULT 0,
  updated BIGINT NOT NULL DEFAULT 0,
  unchanged BIGINT NOT NULL DEFAULT 0,
  quarantined BIGINT NOT NULL DEFAULT 0,
  messages BIGINT NOT NULL DEFAULT 0,
  error VARCHAR
);

-- How far each source has been loaded, committed with each batch: a rerun after a kill resumes
-- after the last committed batch (same fingerprint), or starts over when the file changed.
CREATE TABLE IF NOT EXISTS ingest_checkpoints (
  listing_id VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL,
  source_format VARCHAR NOT NULL,
  redact BOOLEAN NOT NULL,
  next_index BIGINT NOT NULL,
  next_line BIGINT NOT NULL,
  next_offset BIGINT NOT NULL,
  completed BOOLEAN NOT NULL,
  run_id VARCHAR NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (listing_id, source)
);
