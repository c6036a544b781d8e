import type { Queryable } from '../platform/index.ts';
import type { IvrSystemView } from './ivr.schemas.ts';

export interface IvrSystemRecord extends IvrSystemView {
  secretHash: string;
}

interface Row {
  id: string;
  listing_id: string;
  name: string;
  username: string;
  secret_hash: string;
  landline_patterns: string[];
  sms_template: string | null;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const toRecord = (row: Row): IvrSystemRecord => ({
  id: row.id,
  listingId: row.listing_id,
  name: row.name,
  username: row.username,
  secretHash: row.secret_hash,
  landlinePatterns: row.landline_patterns,
  smsTemplate: row.sms_template,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export async function insertSystem(
  db: Queryable,
  system: Pick<IvrSystemRecord, 'id' | 'listingId' | 'name' | 'username' | 'secretHash' | 'landlinePatterns' | 'smsTemplate'>,
): Promise<IvrSystemRecord> {
  const { rows } = await db.query<Row>(
    `INSERT INTO ivr_systems (id, listing_id, name, username, secret_hash, landline_patterns, sms_template)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [system.id, system.listingId, system.name, system.username, system.secretHash, system.landlinePatterns, system.smsTemplate],
  );
  return toRecord(rows[0]!);
}

/**
 * The one lookup not scoped by listing: a Basic-auth request names no tenant, and the
 * globally unique username is what identifies it.
 */
export async function findSystemByUsername(db: Queryable, username: string): Promise<IvrSystemRecord | undefined> {
  const { rows } = await db.query<Row>('SELECT * FROM ivr_systems WHERE username = $1', [username]);
  return rows[0] && toRecord(rows[0]);
}

export async function findSystem(db: Queryable, listingId: string, id: string, options: { forUpdate?: boolean } = {}) {
  const { rows } = await db.query<Row>(
    `SELECT * FROM ivr_systems WHERE listing_id = $1 AND id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [listingId, id],
  );
  return rows[0] && toRecord(rows[0]);
}

export async function listSystems(db: Queryable, listingId: string): Promise<IvrSystemRecord[]> {
  const { rows } = await db.query<Row>('SELECT * FROM ivr_systems WHERE listing_id = $1 ORDER BY created_at, id', [listingId]);
  return rows.map(toRecord);
}

export async function updateSystem(
  db: Queryable,
  listingId: string,
  id: string,
  patch: { name?: string | undefined; landlinePatterns?: string[] | undefined; smsTemplate?: string | null | undefined },
): Promise<IvrSystemRecord | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE ivr_systems
        SET name = COALESCE($3, name),
            landline_patterns = COALESCE($4, landline_patterns),
            sms_template = CASE WHEN $5::boolean THEN $6 ELSE sms_template END,
            updated_at = now()
      WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [listingId, id, patch.name ?? null, patch.landlinePatterns ?? null, patch.smsTemplate !== undefined, patch.smsTemplate ?? null],
  );
  return rows[0] && toRecord(rows[0]);
}

export async function markRevoked(db: Queryable, listingId: string, id: string): Promise<IvrSystemRecord | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE ivr_systems SET revoked_at = now(), updated_at = now()
      WHERE listing_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING *`,
    [listingId, id],
  );
  return rows[0] && toRecord(rows[0]);
}

export async function touchSystem(db: Queryable, listingId: string, id: string): Promise<void> {
  await db.query('UPDATE ivr_systems SET last_used_at = now() WHERE listing_id = $1 AND id = $2', [listingId, id]);
}
