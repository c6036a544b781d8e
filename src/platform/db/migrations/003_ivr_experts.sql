-- IVR → chat (credentials per IVR system), chat-session links, the SMS outbox and expert help.
-- Plain PostgreSQL that PGlite runs too; every table carries listing_id.

-- An IVR system authenticates with HTTP Basic credentials. The username is globally unique
-- because a Basic request names no listing: the username is what finds the tenant. Only a
-- SHA-256 of the password is kept (it has 256 bits of entropy; a slow hash buys nothing).
CREATE TABLE ivr_systems (
  id                 uuid PRIMARY KEY,
  listing_id         text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  name               text NOT NULL,
  username           text NOT NULL UNIQUE,
  secret_hash        text NOT NULL,
  -- Caller-id patterns ("+1800", "+4930XXXX": X is any digit, matched as a prefix) that are
  -- landlines: those callers cannot take an SMS and are answered with a live-call fallback.
  landline_patterns  text[] NOT NULL DEFAULT '{}',
  -- The text sent with the chat link; NULL → the built-in default.
  sms_template       text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  last_used_at       timestamptz,
  revoked_at         timestamptz,
  UNIQUE (listing_id, id)
);
CREATE INDEX ivr_systems_listing ON ivr_systems (listing_id, created_at, id);

-- Where a listing's chat sessions live, and how its short links behave.
CREATE TABLE chat_settings (
  listing_id        text PRIMARY KEY REFERENCES listings(id) ON DELETE CASCADE,
  chat_url_base     text NOT NULL,
  short_url_base    text,
  link_ttl_seconds  integer NOT NULL CHECK (link_ttl_seconds BETWEEN 60 AND 2592000),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Short links to a ticket's chat session. The code is the primary key because /c/{code} is
-- public and names no listing; it is random (96 bits), so it doubles as the capability.
CREATE TABLE chat_links (
  code             text PRIMARY KEY,
  listing_id       text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ticket_id        uuid NOT NULL,
  customer_id      uuid NOT NULL,
  channel          text NOT NULL,
  url              text NOT NULL,
  target_url       text NOT NULL,
  created_at       timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  open_count       integer NOT NULL DEFAULT 0,
  first_opened_at  timestamptz,
  last_opened_at   timestamptz,
  created_by       jsonb NOT NULL DEFAULT '{}',
  CHECK (expires_at > created_at),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);
CREATE INDEX chat_links_by_ticket ON chat_links (listing_id, ticket_id, created_at DESC);

-- Every SMS Loopwise sends, whatever delivers it. The default sender only queues here; a
-- provider-backed sender records the provider's id and the outcome.
CREATE TABLE sms_outbox (
  id                   uuid PRIMARY KEY,
  listing_id           text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ticket_id            uuid,
  to_number            text NOT NULL,
  body                 text NOT NULL,
  status               text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  provider             text,
  provider_message_id  text,
  error                text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listing_id, id),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);
CREATE INDEX sms_outbox_by_listing ON sms_outbox (listing_id, created_at DESC, id DESC);
CREATE INDEX sms_outbox_queued ON sms_outbox (created_at, id) WHERE status = 'queued';

-- Expert groups are soft-deleted: answered requests keep pointing at the group they went to.
CREATE TABLE expert_groups (
  id           uuid PRIMARY KEY,
  listing_id   text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  name         text NOT NULL,
  description  text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz,
  UNIQUE (listing_id, id)
);
CREATE UNIQUE INDEX expert_groups_name ON expert_groups (listing_id, lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE expert_group_members (
  listing_id  text NOT NULL,
  group_id    uuid NOT NULL,
  csr_id      uuid NOT NULL,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, group_id, csr_id),
  FOREIGN KEY (listing_id, group_id) REFERENCES expert_groups(listing_id, id) ON DELETE CASCADE,
  FOREIGN KEY (listing_id, csr_id) REFERENCES csrs(listing_id, id) ON DELETE CASCADE
);
CREATE INDEX expert_group_members_by_csr ON expert_group_members (listing_id, csr_id);

-- open → accepted (one expert) → answered → closed; any unclosed state may also be closed.
CREATE TABLE expert_requests (
  id                   uuid PRIMARY KEY,
  listing_id           text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ticket_id            uuid NOT NULL,
  group_id             uuid NOT NULL,
  requested_by_csr_id  uuid,
  requested_by         jsonb NOT NULL DEFAULT '{}',
  question             text NOT NULL,
  status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'answered', 'closed')),
  expert_csr_id        uuid,
  answer               text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  accepted_at          timestamptz,
  answered_at          timestamptz,
  closed_at            timestamptz,
  closed_by            jsonb,
  UNIQUE (listing_id, id),
  CHECK (status IN ('open', 'closed') OR expert_csr_id IS NOT NULL),
  CHECK ((answer IS NULL) = (answered_at IS NULL)),
  CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE,
  FOREIGN KEY (listing_id, group_id) REFERENCES expert_groups(listing_id, id),
  FOREIGN KEY (listing_id, requested_by_csr_id) REFERENCES csrs(listing_id, id),
  FOREIGN KEY (listing_id, expert_csr_id) REFERENCES csrs(listing_id, id)
);
-- One unresolved question per ticket and group: asking again while one is pending is a conflict.
CREATE UNIQUE INDEX expert_requests_one_unresolved ON expert_requests (listing_id, ticket_id, group_id)
  WHERE status <> 'closed';
CREATE INDEX expert_requests_by_group ON expert_requests (listing_id, group_id, status, created_at);
CREATE INDEX expert_requests_by_ticket ON expert_requests (listing_id, ticket_id, created_at);
