-- The operational core: tenants, people, tickets, messages and the domain-event outbox.
-- Plain PostgreSQL that PGlite runs too. Every table carries listing_id: nothing is loaded by a
-- bare id, so tenant scope is part of every index a query uses.

CREATE TABLE listings (
  id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name         text NOT NULL,
  ref_prefix   text NOT NULL CHECK (ref_prefix ~ '^[A-Z0-9]{1,12}$'),
  ticket_seq   bigint NOT NULL DEFAULT 0,
  timezone     text NOT NULL DEFAULT 'UTC',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE csrs (
  id           uuid PRIMARY KEY,
  listing_id   text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  name         text NOT NULL,
  email        text,
  external_id  text,
  presence     text NOT NULL DEFAULT 'offline' CHECK (presence IN ('online', 'away', 'offline')),
  capacity     integer NOT NULL DEFAULT 5 CHECK (capacity BETWEEN 0 AND 1000),
  skills       text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listing_id, id),
  UNIQUE (listing_id, email),
  UNIQUE (listing_id, external_id)
);

CREATE TABLE api_keys (
  id                    text PRIMARY KEY,
  listing_id            text REFERENCES listings(id) ON DELETE CASCADE,
  role                  text NOT NULL CHECK (role IN ('admin', 'manager', 'csr', 'developer', 'bot')),
  csr_id                uuid REFERENCES csrs(id) ON DELETE CASCADE,
  name                  text NOT NULL DEFAULT '',
  secret_hash           text NOT NULL,
  rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  revoked_at            timestamptz,
  CHECK ((role = 'admin') = (listing_id IS NULL)),
  CHECK (csr_id IS NULL OR role = 'csr')
);
CREATE INDEX api_keys_listing ON api_keys (listing_id);

CREATE TABLE customers (
  id            uuid PRIMARY KEY,
  listing_id    text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  display_name  text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listing_id, id)
);

-- One person reached over several channels is one customer: each identity (a phone number, an
-- e-mail address, an id in another system) points at exactly one customer of the listing.
CREATE TABLE customer_identities (
  listing_id   text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('phone', 'email', 'external')),
  value        text NOT NULL,
  customer_id  uuid NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, kind, value),
  FOREIGN KEY (listing_id, customer_id) REFERENCES customers(listing_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_identities_customer ON customer_identities (listing_id, customer_id);

CREATE TABLE tickets (
  id                   uuid PRIMARY KEY,
  listing_id           text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ref                  text NOT NULL,
  customer_id          uuid NOT NULL,
  csr_id               uuid,
  status               text NOT NULL CHECK (status IN ('waiting', 'assigned', 'resolved', 'abandoned')),
  source_app           text NOT NULL,
  source_channel       text NOT NULL CHECK (source_channel IN ('app', 'website', 'social', 'ivr', 'email', 'sms', 'livechat', 'bot')),
  subject              text,
  required_skills      text[] NOT NULL DEFAULT '{}',
  priority             integer NOT NULL DEFAULT 0,
  -- Pull order: lower first. New tickets get their creation time; a released ticket gets a
  -- negative key so it goes back to the front of the queue.
  queue_key            double precision NOT NULL,
  message_count        integer NOT NULL DEFAULT 0,
  created_at           timestamptz NOT NULL DEFAULT now(),
  first_assigned_at    timestamptz,
  assigned_at          timestamptz,
  first_csr_reply_at   timestamptz,
  last_message_at      timestamptz,
  ended_at             timestamptz,
  rating               smallint CHECK (rating BETWEEN 1 AND 5),
  rating_comment       text,
  rated_at             timestamptz,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  metadata             jsonb NOT NULL DEFAULT '{}',
  UNIQUE (listing_id, id),
  UNIQUE (listing_id, ref),
  FOREIGN KEY (listing_id, customer_id) REFERENCES customers(listing_id, id),
  FOREIGN KEY (listing_id, csr_id) REFERENCES csrs(listing_id, id)
);
-- A customer has at most one open ticket per listing; creating another returns the open one.
CREATE UNIQUE INDEX tickets_one_open_per_customer ON tickets (listing_id, customer_id)
  WHERE status IN ('waiting', 'assigned');
CREATE INDEX tickets_queue ON tickets (listing_id, priority DESC, queue_key) WHERE status = 'waiting';
CREATE INDEX tickets_by_csr ON tickets (listing_id, csr_id, status);
CREATE INDEX tickets_by_customer ON tickets (listing_id, customer_id, created_at DESC);
CREATE INDEX tickets_by_created ON tickets (listing_id, created_at DESC, id DESC);

CREATE TABLE attachments (
  id            uuid PRIMARY KEY,
  listing_id    text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ticket_id     uuid NOT NULL,
  filename      text NOT NULL,
  content_type  text NOT NULL,
  size_bytes    integer NOT NULL,
  sha256        text NOT NULL,
  storage_key   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listing_id, id),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);

-- Payment requests live beside the thread; the thread's message holds only this record's id and
-- display fields. Card data is never stored anywhere in Loopwise.
CREATE TABLE payment_requests (
  id              uuid PRIMARY KEY,
  listing_id      text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ticket_id       uuid NOT NULL,
  amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  invoice_number  text NOT NULL,
  description     text NOT NULL DEFAULT '',
  status          text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'paid', 'cancelled')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listing_id, id),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);

CREATE TABLE messages (
  id             uuid PRIMARY KEY,
  listing_id     text NOT NULL,
  ticket_id      uuid NOT NULL,
  seq            integer NOT NULL,
  sender_role    text NOT NULL CHECK (sender_role IN ('customer', 'csr', 'bot', 'system')),
  csr_id         uuid,
  kind           text NOT NULL CHECK (kind IN ('text', 'voice', 'image', 'video', 'file', 'offer', 'payment_request', 'form')),
  channel        text NOT NULL,
  text           text,
  content        jsonb NOT NULL DEFAULT '{}',
  attachment_id  uuid,
  client_message_id text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (ticket_id, seq),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE,
  FOREIGN KEY (listing_id, attachment_id) REFERENCES attachments(listing_id, id)
);
CREATE INDEX messages_by_ticket ON messages (listing_id, ticket_id, seq);
-- Lets a client retry a post after a timeout without duplicating the message.
CREATE UNIQUE INDEX messages_client_id ON messages (ticket_id, client_message_id) WHERE client_message_id IS NOT NULL;

-- Transactional outbox: written in the same transaction as the change it describes; the
-- analytics pipeline and realtime fan-out read it afterwards, in id order.
CREATE TABLE events (
  id              bigserial PRIMARY KEY,
  listing_id      text NOT NULL,
  name            text NOT NULL,
  aggregate_type  text NOT NULL,
  aggregate_id    text NOT NULL,
  payload         jsonb NOT NULL,
  actor           jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  dispatched_at   timestamptz
);
CREATE INDEX events_by_listing ON events (listing_id, id);
CREATE INDEX events_undispatched ON events (id) WHERE dispatched_at IS NULL;
