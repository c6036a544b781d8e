-- Listing configuration: business hours, holidays, automated messages and canned content.
-- The listing's time zone stays in listings.timezone: the schedule and the holidays are read in it.

-- Weekly opening hours. No row = no schedule = open around the clock (holidays still close).
CREATE TABLE listing_schedules (
  listing_id   text PRIMARY KEY REFERENCES listings(id) ON DELETE CASCADE,
  -- {"mon": [{"open": "09:00", "close": "17:30"}], "tue": [...], ...}: validated by the API's schema.
  weekly       jsonb NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- A holiday closes the whole local day (in the listing's time zone).
CREATE TABLE listing_holidays (
  id           uuid PRIMARY KEY,
  listing_id   text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  day          date NOT NULL,
  name         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (listing_id, id),
  UNIQUE (listing_id, day)
);

-- The listing's automated messages; a PUT replaces the whole set. The key names one message
-- stably across edits: 'welcome', 'offline', 'after_hours', 'inactivity:<minutes>'.
CREATE TABLE automated_messages (
  listing_id     text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  key            text NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('welcome', 'inactivity', 'offline', 'after_hours')),
  after_minutes  integer CHECK (after_minutes BETWEEN 1 AND 10080),
  text           text NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, key),
  CHECK ((kind = 'inactivity') = (after_minutes IS NOT NULL))
);

-- What automation did to a ticket. The primary key is what makes each message go out at most
-- once per ticket, however many workers, retries and sweeps race for it. 'superseded' marks an
-- inactivity message that fell due together with a later one and was skipped in its favour.
CREATE TABLE automated_message_sends (
  listing_id   text NOT NULL,
  ticket_id    uuid NOT NULL,
  key          text NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('sent', 'superseded')),
  message_id   uuid,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, ticket_id, key),
  CHECK ((outcome = 'sent') = (message_id IS NOT NULL)),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);

-- When automation last looked at an open ticket and when it must look again. The sweep re-checks
-- tickets never checked, due, or changed since (checked_at and tickets.updated_at are both
-- database time). next_check_at NULL: nothing left unless the ticket or the configuration changes.
CREATE TABLE automation_checks (
  listing_id     text NOT NULL,
  ticket_id      uuid NOT NULL,
  checked_at     timestamptz NOT NULL DEFAULT now(),
  next_check_at  timestamptz,
  PRIMARY KEY (listing_id, ticket_id),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);
CREATE INDEX automation_checks_due ON automation_checks (next_check_at) WHERE next_check_at IS NOT NULL;

-- Canned content: the current snapshot, and every snapshot ever saved (version 1 = as created).
-- Deleting keeps the rows (deleted_at) so the history and references from old threads survive.
CREATE TABLE canned_responses (
  id           uuid PRIMARY KEY,
  listing_id   text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  version      integer NOT NULL CHECK (version >= 1),
  title        text NOT NULL,
  text         text NOT NULL,
  shortcut     text,
  tags         text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz,
  UNIQUE (listing_id, id)
);
CREATE UNIQUE INDEX canned_responses_shortcut ON canned_responses (listing_id, shortcut)
  WHERE shortcut IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX canned_responses_by_listing ON canned_responses (listing_id, title, id) WHERE deleted_at IS NULL;

CREATE TABLE canned_response_versions (
  listing_id          text NOT NULL,
  canned_response_id  uuid NOT NULL,
  version             integer NOT NULL,
  title               text NOT NULL,
  text                text NOT NULL,
  shortcut            text,
  tags                text[] NOT NULL,
  actor               jsonb NOT NULL DEFAULT '{}',
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, canned_response_id, version),
  FOREIGN KEY (listing_id, canned_response_id) REFERENCES canned_responses(listing_id, id) ON DELETE CASCADE
);
