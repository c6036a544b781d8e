-- Model artifacts in pieces of 512 KiB, one piece per statement, instead of one bytea column: a
-- reply model over a large history is tens of MB, and reading it in one statement parsed it all
-- in one synchronous step of the reading process (~0.3 s on PostgreSQL, ~5 s on PGlite for 63 MB)
-- — the api's event loop, when it loads a newly promoted model. Pieces keep each step short.

CREATE TABLE model_artifact_chunks (
  listing_id   text NOT NULL,
  target       text NOT NULL,
  version      integer NOT NULL,
  seq          integer NOT NULL CHECK (seq >= 0),
  bytes        bytea NOT NULL,
  PRIMARY KEY (listing_id, target, version, seq),
  FOREIGN KEY (listing_id, target, version) REFERENCES model_versions(listing_id, target, version) ON DELETE CASCADE
);

INSERT INTO model_artifact_chunks (listing_id, target, version, seq, bytes)
SELECT v.listing_id, v.target, v.version, s.seq, substring(v.artifact FROM s.seq * 524288 + 1 FOR 524288)
  FROM model_versions v
  CROSS JOIN LATERAL generate_series(0, GREATEST(0, (length(v.artifact) - 1) / 524288)) AS s(seq);

ALTER TABLE model_versions DROP COLUMN artifact;
