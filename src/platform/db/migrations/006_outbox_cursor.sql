-- The outbox relay keeps a cursor instead of stamping every event row as dispatched: stamping
-- rewrote each event once more (and maintained an index for it) on the hottest table. Consumers
-- of the outbox each keep their own cursor here.
CREATE TABLE outbox_cursors (
  name        text PRIMARY KEY,
  last_id     bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Events stamped by the old relay were published already; start after them.
INSERT INTO outbox_cursors (name, last_id)
SELECT 'relay', COALESCE(max(id), 0) FROM events WHERE dispatched_at IS NOT NULL;

DROP INDEX events_undispatched;
ALTER TABLE events DROP COLUMN dispatched_at;
