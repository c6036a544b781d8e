-- Keyword AI rules (src/suggest/rules) and the suggestion log with its feedback (src/suggest/log).

-- A rule's current state; every saved definition is a row of rule_versions. `latest_version` is
-- what an update builds on, `published_version` what the suggest API evaluates (they differ while
-- edits are unpublished). name/description/priority/stop_processing mirror the latest version for
-- listing and sorting. Deleting keeps the rows (status 'deleted') for history and analytics.
CREATE TABLE rules (
  id                 uuid PRIMARY KEY,
  listing_id         text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  name               text NOT NULL,
  description        text NOT NULL DEFAULT '',
  status             text NOT NULL CHECK (status IN ('draft', 'published', 'deleted')),
  priority           integer NOT NULL,
  stop_processing    boolean NOT NULL,
  latest_version     integer NOT NULL CHECK (latest_version >= 1),
  published_version  integer CHECK (published_version >= 1 AND published_version <= latest_version),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  published_at       timestamptz,
  deleted_at         timestamptz,
  UNIQUE (listing_id, id),
  CHECK (status = 'deleted' OR (status = 'published') = (published_version IS NOT NULL))
);
CREATE INDEX rules_by_listing ON rules (listing_id, status, priority DESC);

CREATE TABLE rule_versions (
  listing_id     text NOT NULL,
  rule_id        uuid NOT NULL,
  version        integer NOT NULL CHECK (version >= 1),
  -- The whole definition (src/suggest/rules/rules.schemas.ts ruleDefinition), defaults applied.
  definition     jsonb NOT NULL,
  -- A rollback saves a copy of an earlier version as the next one; this names the original.
  restored_from  integer,
  actor          jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, rule_id, version),
  FOREIGN KEY (listing_id, rule_id) REFERENCES rules(listing_id, id) ON DELETE CASCADE
);

-- Bumped in the transaction of every change to a listing's published set (publish, rollback of
-- a published rule, delete of a published rule). Each api process compiles the published set
-- once and re-reads this single row at most every RULES_REFRESH_MS to notice changes made by
-- other processes.
CREATE TABLE rule_sets (
  listing_id  text PRIMARY KEY REFERENCES listings(id) ON DELETE CASCADE,
  revision    bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every suggestion shown to a CSR, whatever produced it, and what the CSR did with it. rule_id
-- and rule_version name the rule behind a rule's reply or canned content. No foreign keys: the
-- log is written on the suggest path and must not block deleting a ticket.
CREATE TABLE suggestions (
  id                   uuid PRIMARY KEY,
  listing_id           text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ticket_id            uuid,
  source               text NOT NULL CHECK (source IN ('rule', 'canned', 'learned', 'llm')),
  rule_id              uuid,
  rule_version         integer,
  canned_response_id   uuid,
  text                 text NOT NULL,
  score                double precision,
  created_at           timestamptz NOT NULL DEFAULT now(),
  feedback             text CHECK (feedback IN ('used', 'edited', 'ignored')),
  edited_text          text,
  feedback_at          timestamptz,
  UNIQUE (listing_id, id),
  CHECK ((rule_id IS NULL) = (rule_version IS NULL)),
  CHECK (source <> 'rule' OR rule_id IS NOT NULL),
  CHECK ((feedback IS NULL) = (feedback_at IS NULL)),
  CHECK (edited_text IS NULL OR feedback = 'edited')
);
CREATE INDEX suggestions_by_rule ON suggestions (listing_id, rule_id, created_at) WHERE rule_id IS NOT NULL;
CREATE INDEX suggestions_by_ticket ON suggestions (listing_id, ticket_id) WHERE ticket_id IS NOT NULL;

-- How often each rule version fired, per UTC day: a counter, since a rule fires on far more
-- requests than anyone looks at the rows (one upsert per batch of suggest requests).
CREATE TABLE rule_firings_daily (
  listing_id    text NOT NULL,
  rule_id       uuid NOT NULL,
  rule_version  integer NOT NULL,
  day           date NOT NULL,
  fired         bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (listing_id, rule_id, day, rule_version)
);
