-- The model registry (src/models/registry): versioned artifacts per listing and target, in the
-- ticket database so every api, worker and CLI process sees the same versions and the same
-- promoted one. Artifacts are small (compiled weights, a reply index: kilobytes to a few MB).

CREATE TABLE model_versions (
  listing_id   text NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  target       text NOT NULL,
  version      integer NOT NULL CHECK (version >= 1),
  kind         text NOT NULL,
  feature_set  text NOT NULL,
  metadata     jsonb NOT NULL,
  artifact     bytea NOT NULL,
  size_bytes   integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, target, version)
);

-- Every promotion, newest last: the promoted version of a target is its latest row, and a
-- rollback appends the version that was promoted before the current one (so a rollback is
-- itself in the history, and rolling back twice toggles rather than walking off the end).
CREATE TABLE model_promotions (
  id           bigserial PRIMARY KEY,
  listing_id   text NOT NULL,
  target       text NOT NULL,
  version      integer NOT NULL,
  reason       text NOT NULL CHECK (reason IN ('promote', 'rollback')),
  actor        jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (listing_id, target, version) REFERENCES model_versions(listing_id, target, version) ON DELETE CASCADE
);
CREATE INDEX model_promotions_latest ON model_promotions (listing_id, target, id DESC);
