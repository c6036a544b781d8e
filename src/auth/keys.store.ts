import type { Queryable } from '../platform/index.ts';
import type { Role } from './principal.ts';

export interface ApiKeyRecord {
  id: string;
  listingId: string | null;
  role: Role;
  csrId: string | null;
  name: string;
  secretHash: string;
  rateLimitPerMinute: number | null;
  createdAt: Date;
  revokedAt: Date | null;
}

interface Row {
  id: string;
  listing_id: string | null;
  role: Role;
  csr_id: string | null;
  name: string;
  secret_hash: string;
  rate_limit_per_minute: number | null;
  created_at: Date;
  revoked_at: Date | null;
}

const toRecord = (row: Row): ApiKeyRecord => ({
  id: row.id,
  listingId: row.listing_id,
  role: row.role,
  csrId: row.csr_id,
  name: row.name,
  secretHash: row.secret_hash,
  rateLimitPerMinute: row.rate_limit_per_minute,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

export async function insertKey(db: Queryable, key: Omit<ApiKeyRecord, 'createdAt' | 'revokedAt'>): Promise<ApiKeyRecord> {
  const { rows } = await db.query<Row>(
    `INSERT INTO api_keys (id, listing_id, role, csr_id, name, secret_hash, rate_limit_per_minute)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [key.id, key.listingId, key.role, key.csrId, key.name, key.secretHash, key.rateLimitPerMinute],
  );
  return toRecord(rows[0]!);
}

export async function findKey(db: Queryable, id: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<Row>('SELECT * FROM api_keys WHERE id = $1', [id]);
  return rows[0] && toRecord(rows[0]);
}

/** Keys of one listing, or every key when listingId is undefined (admin view). */
export async function listKeys(db: Queryable, listingId: string | undefined): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<Row>(
    `SELECT * FROM api_keys WHERE ($1::text IS NULL OR listing_id = $1) ORDER BY created_at, id`,
    [listingId ?? null],
  );
  return rows.map(toRecord);
}

export async function markRevoked(db: Queryable, id: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<Row>(
    'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING *',
    [id],
  );
  return rows[0] && toRecord(rows[0]);
}
