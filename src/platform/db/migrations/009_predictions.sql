-- Outcome models at work (src/predictions): training runs requested through the API, and each
-- open ticket's latest predictions, refreshed after its messages by a job.

-- A training run: queued by the API, run by the process that owns the analytics store (the
-- embedded server, or the worker), which writes progress here so any api process can answer.
CREATE TABLE model_training_runs (
  id           uuid PRIMARY KEY,
  listing_id   text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  target       text NOT NULL,
  options      jsonb NOT NULL,
  status       text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  progress     jsonb NOT NULL DEFAULT '{}',
  result       jsonb,
  error        text,
  actor        jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  UNIQUE (listing_id, id)
);
CREATE INDEX model_training_runs_by_listing ON model_training_runs (listing_id, created_at DESC);

-- The latest prediction of each promoted outcome model for a ticket. `at_seq` is the ticket's
-- last message the prediction has seen: a late job never overwrites a newer prediction.
CREATE TABLE ticket_predictions (
  listing_id     text NOT NULL,
  ticket_id      uuid NOT NULL,
  target         text NOT NULL,
  model_version  integer NOT NULL,
  at_seq         integer NOT NULL,
  -- {"p": 0.31} for a binary target, {"probs": [...], "classes": [...]} for a multi-class one.
  prediction     jsonb NOT NULL,
  -- The probability of the bad outcome (not resolved, dissatisfied, not converted).
  risk           double precision NOT NULL,
  drivers        jsonb NOT NULL DEFAULT '[]',
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, ticket_id, target),
  FOREIGN KEY (listing_id, ticket_id) REFERENCES tickets(listing_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_predictions_by_risk ON ticket_predictions (listing_id, target, risk DESC);
