-- Bot → live CSR hand-off (src/handoff) and auto-actions (src/auto-actions).

-- Per-listing hand-off tuning. No row: the defaults in src/handoff/assessment.ts apply.
CREATE TABLE handoff_settings (
  listing_id           text PRIMARY KEY REFERENCES listings(id) ON DELETE CASCADE,
  threshold            double precision NOT NULL CHECK (threshold > 0 AND threshold < 1),
  high_value_intents   text[] NOT NULL,
  high_value_keywords  text[] NOT NULL,
  -- Signal name → weight overrides of the default weights.
  weights              jsonb NOT NULL DEFAULT '{}',
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- One row per accepted hand-off. The idempotency key (the Idempotency-Key header, the bot's
-- conversation id, or a hash of the request) makes a bot's retry answer the first hand-off.
-- The transcript keeps the bot's original timestamps next to the imported messages' ids, since
-- the message core stamps messages with the time they were written.
CREATE TABLE handoffs (
  id               uuid PRIMARY KEY,
  listing_id       text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  idempotency_key  text NOT NULL,
  ticket_id        uuid NOT NULL,
  customer_id      uuid NOT NULL,
  ticket_created   boolean NOT NULL,
  intent           text,
  priority         integer NOT NULL,
  confidence       double precision NOT NULL,
  summary          text NOT NULL,
  reasons          jsonb NOT NULL,
  transcript       jsonb NOT NULL,
  actor            jsonb NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listing_id, idempotency_key),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);
CREATE INDEX handoffs_by_ticket ON handoffs (listing_id, ticket_id);

-- Expected wait = median time to first assignment of a listing's latest assigned tickets.
CREATE INDEX tickets_first_assigned ON tickets (listing_id, first_assigned_at DESC) WHERE first_assigned_at IS NOT NULL;

-- The listing-wide switch and cap of auto-actions. No row: enabled, 3 actions per customer a day.
CREATE TABLE auto_action_settings (
  listing_id                text PRIMARY KEY REFERENCES listings(id) ON DELETE CASCADE,
  enabled                   boolean NOT NULL,
  max_per_customer_per_day  integer NOT NULL CHECK (max_per_customer_per_day BETWEEN 1 AND 1000),
  updated_at                timestamptz NOT NULL DEFAULT now()
);

-- What a listing can offer. Deleting keeps the row (the action log refers to it).
CREATE TABLE auto_action_offers (
  id                    uuid PRIMARY KEY,
  listing_id            text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  name                  text NOT NULL,
  description           text NOT NULL DEFAULT '',
  kind                  text NOT NULL CHECK (kind IN ('discount', 'refund', 'escalate', 'other')),
  max_discount_percent  double precision CHECK (max_discount_percent > 0 AND max_discount_percent <= 100),
  code                  text,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  deleted_at            timestamptz,
  UNIQUE (listing_id, id)
);
CREATE UNIQUE INDEX auto_action_offers_name ON auto_action_offers (listing_id, lower(name)) WHERE deleted_at IS NULL;

-- When to act and how: conditions (jsonb, validated by src/auto-actions/auto-actions.schemas.ts),
-- the offer with its discount, propose or auto, the holdout share and the per-customer cap.
CREATE TABLE auto_action_policies (
  id                        uuid PRIMARY KEY,
  listing_id                text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  name                      text NOT NULL,
  description               text NOT NULL DEFAULT '',
  enabled                   boolean NOT NULL,
  priority                  integer NOT NULL DEFAULT 0,
  conditions                jsonb NOT NULL,
  offer_id                  uuid NOT NULL,
  discount_percent          double precision CHECK (discount_percent > 0 AND discount_percent <= 100),
  mode                      text NOT NULL CHECK (mode IN ('propose', 'auto')),
  holdout_percent           double precision NOT NULL CHECK (holdout_percent >= 0 AND holdout_percent <= 100),
  max_per_customer_per_day  integer NOT NULL CHECK (max_per_customer_per_day BETWEEN 1 AND 1000),
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now(),
  deleted_at                timestamptz,
  UNIQUE (listing_id, id),
  FOREIGN KEY (listing_id, offer_id) REFERENCES auto_action_offers(listing_id, id)
);
CREATE UNIQUE INDEX auto_action_policies_name ON auto_action_policies (listing_id, lower(name)) WHERE deleted_at IS NULL;

-- Every time a policy held for a ticket: treated (proposed / sent) or held out, with the reason
-- and the inputs it decided on. At most once per ticket and policy.
CREATE TABLE auto_action_log (
  id                uuid PRIMARY KEY,
  listing_id        text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ticket_id         uuid NOT NULL,
  customer_id       uuid NOT NULL,
  policy_id         uuid NOT NULL,
  offer_id          uuid NOT NULL,
  action            text NOT NULL CHECK (action IN ('discount', 'refund', 'escalate', 'other')),
  mode              text NOT NULL CHECK (mode IN ('propose', 'auto')),
  -- proposed → sent | dismissed (a CSR decides); sending → sent (auto); holdout never changes.
  status            text NOT NULL CHECK (status IN ('proposed', 'sending', 'sent', 'dismissed', 'holdout')),
  holdout           boolean NOT NULL,
  discount_percent  double precision,
  reason            text NOT NULL,
  inputs            jsonb NOT NULL,
  message_id        uuid,
  decided_by        jsonb,
  decided_at        timestamptz,
  -- The listing's local date when it was logged: what "per customer per day" caps count.
  local_day         date NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listing_id, id),
  UNIQUE (listing_id, ticket_id, policy_id),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE,
  FOREIGN KEY (listing_id, policy_id) REFERENCES auto_action_policies(listing_id, id)
);
CREATE INDEX auto_action_log_by_customer ON auto_action_log (listing_id, customer_id, local_day);
CREATE INDEX auto_action_log_by_policy ON auto_action_log (listing_id, policy_id, created_at);

-- A customer's answer to an offer message: with paid payment requests, what "converted" means
-- for a live ticket.
CREATE TABLE offer_responses (
  listing_id  text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  ticket_id   uuid NOT NULL,
  message_id  uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  accepted    boolean NOT NULL,
  actor       jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, message_id),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);
CREATE INDEX offer_responses_by_ticket ON offer_responses (listing_id, ticket_id);
