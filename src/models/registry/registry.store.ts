import type { Queryable } from '../../platform/index.ts';
import type { ModelVersion, ModelVersionMetadata } from './registry.types.ts';

interface VersionRow {
  listing_id: string;
  target: string;
  version: number;
  kind: string;
  feature_set: string;
  metadata: ModelVersionMetadata;
  size_bytes: number;
  created_at: Date;
  promoted: boolean;
}

const VERSION_COLUMNS = `v.listing_id, v.target, v.version, v.kind, v.feature_set, v.metadata, v.size_bytes, v.created_at`;

/** The promoted version of each (listing, target): the latest promotion row. */
const PROMOTED = `(SELECT DISTINCT ON (listing_id, target) listing_id, target, version
                     FROM model_promotions WHERE listing_id = $1
                    ORDER BY listing_id, target, id DESC)`;

const toVersion = (row: VersionRow): ModelVersion => ({
  listingId: row.listing_id,
  target: row.target,
  version: row.version,
  kind: row.kind,
  featureSet: row.feature_set,
  metadata: row.metadata,
  sizeBytes: row.size_bytes,
  createdAt: row.created_at,
  promoted: row.promoted,
});

/**
 * Artifacts are stored and read in pieces of this size, one per statement (migration 011): each
 * statement's result is parsed in one synchronous step, ~3 ms per piece on PostgreSQL and ~40 ms
 * on PGlite, so the process reading a large model keeps serving in between (on PGlite, because its
 * adapter pauses between statements: platform/db/pglite.ts).
 */
export const ARTIFACT_CHUNK_BYTES = 512 * 1024;

export async function insertVersion(
  tx: Queryable,
  listingId: string,
  target: string,
  metadata: ModelVersionMetadata,
  bytes: Uint8Array,
): Promise<ModelVersion> {
  // The (listing, target) lock serialises numbering: two trainers finishing together get
  // consecutive versions rather than a primary-key violation.
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`model_versions:${listingId}:${target}`]);
  const { rows } = await tx.query<VersionRow>(
    `INSERT INTO model_versions AS v (listing_id, target, version, kind, feature_set, metadata, size_bytes)
     SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, $5::jsonb, $6
       FROM model_versions WHERE listing_id = $1 AND target = $2
     RETURNING ${VERSION_COLUMNS}, false AS promoted`,
    [listingId, target, metadata.kind, metadata.featureSet, JSON.stringify(metadata), bytes.byteLength],
  );
  const saved = toVersion(rows[0]!);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pieces = Math.max(1, Math.ceil(bytes.byteLength / ARTIFACT_CHUNK_BYTES));
  for (let seq = 0; seq < pieces; seq++) {
    await tx.query(
      'INSERT INTO model_artifact_chunks (listing_id, target, version, seq, bytes) VALUES ($1, $2, $3, $4, $5)',
      [listingId, target, saved.version, seq, buffer.subarray(seq * ARTIFACT_CHUNK_BYTES, (seq + 1) * ARTIFACT_CHUNK_BYTES)],
    );
  }
  return saved;
}

export async function listVersions(db: Queryable, listingId: string, target?: string): Promise<ModelVersion[]> {
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS}, (p.version IS NOT NULL) AS promoted
       FROM model_versions v
       LEFT JOIN ${PROMOTED} p ON p.listing_id = v.listing_id AND p.target = v.target AND p.version = v.version
      WHERE v.listing_id = $1 AND ($2::text IS NULL OR v.target = $2)
      ORDER BY v.target, v.version DESC`,
    [listingId, target ?? null],
  );
  return rows.map(toVersion);
}

/** A version's row (not its artifact), with whether it is the promoted one. */
export async function findVersion(db: Queryable, listingId: string, target: string, version: number): Promise<ModelVersion | undefined> {
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS}, (p.version IS NOT NULL) AS promoted
       FROM model_versions v
       LEFT JOIN ${PROMOTED} p ON p.listing_id = v.listing_id AND p.target = v.target AND p.version = v.version
      WHERE v.listing_id = $1 AND v.target = $2 AND v.version = $3`,
    [listingId, target, version],
  );
  const row = rows[0];
  return row && toVersion(row);
}

/**
 * A version's artifact, read a piece per statement. Versions are never changed once committed, so
 * the pieces need no transaction around them; their total must match the recorded size.
 */
export async function readArtifact(db: Queryable, version: ModelVersion): Promise<Uint8Array> {
  const bytes = new Uint8Array(version.sizeBytes);
  const missing = (detail: string) => new Error(`model ${version.target} version ${version.version}: ${detail} (${version.sizeBytes} bytes recorded)`);
  let filled = 0;
  for (let seq = 0; filled < bytes.byteLength; seq++) {
    const { rows } = await db.query<{ bytes: Uint8Array }>(
      'SELECT bytes FROM model_artifact_chunks WHERE listing_id = $1 AND target = $2 AND version = $3 AND seq = $4',
      [version.listingId, version.target, version.version, seq],
    );
    const piece = rows[0]?.bytes;
    if (!piece || piece.byteLength === 0) throw missing(`artifact piece ${seq} missing after ${filled} bytes`);
    if (filled + piece.byteLength > bytes.byteLength) throw missing('artifact pieces longer than recorded');
    bytes.set(piece, filled);
    filled += piece.byteLength;
  }
  return bytes;
}

/** The promotion history of a target, newest first. */
export async function promotionHistory(db: Queryable, listingId: string, target: string, limit = 2): Promise<number[]> {
  const { rows } = await db.query<{ version: number }>(
    'SELECT version FROM model_promotions WHERE listing_id = $1 AND target = $2 ORDER BY id DESC LIMIT $3',
    [listingId, target, limit],
  );
  return rows.map((row) => row.version);
}

export async function insertPromotion(
  tx: Queryable,
  listingId: string,
  target: string,
  version: number,
  reason: 'promote' | 'rollback',
  actor: unknown,
): Promise<void> {
  await tx.query(
    'INSERT INTO model_promotions (listing_id, target, version, reason, actor) VALUES ($1, $2, $3, $4, $5::jsonb)',
    [listingId, target, version, reason, JSON.stringify(actor ?? {})],
  );
}

/** Lock for promotions of one (listing, target), held to the end of the transaction. */
export async function lockPromotions(tx: Queryable, listingId: string, target: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`model_promotions:${listingId}:${target}`]);
}
