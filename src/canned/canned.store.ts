import type { Actor } from '../events/index.ts';
import type { Queryable } from '../platform/index.ts';
import type { CannedResponseView, CannedVersionView, ListCannedQuery } from './canned.schemas.ts';

interface CannedRow {
  id: string;
  listing_id: string;
  version: number;
  title: string;
  text: string;
  shortcut: string | null;
  tags: string[];
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export const toCannedView = (row: CannedRow): CannedResponseView => ({
  id: row.id,
  listingId: row.listing_id,
  version: row.version,
  title: row.title,
  text: row.text,
  shortcut: row.shortcut,
  tags: row.tags,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface CannedSnapshot {
  title: string;
  text: string;
  shortcut: string | null;
  tags: string[];
}

/** The live (not deleted) canned response, optionally locked for an update. */
export async function findCanned(db: Queryable, listingId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<CannedRow | undefined> {
  const { rows } = await db.query<CannedRow>(
    `SELECT * FROM canned_responses WHERE listing_id = $1 AND id = $2 AND deleted_at IS NULL${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [listingId, id],
  );
  return rows[0];
}

export async function insertCanned(db: Queryable, listingId: string, id: string, snapshot: CannedSnapshot): Promise<CannedRow> {
  const { rows } = await db.query<CannedRow>(
    `INSERT INTO canned_responses (id, listing_id, version, title, text, shortcut, tags) VALUES ($1, $2, 1, $3, $4, $5, $6) RETURNING *`,
    [id, listingId, snapshot.title, snapshot.text, snapshot.shortcut, snapshot.tags],
  );
  return rows[0]!;
}

export async function replaceCanned(db: Queryable, listingId: string, id: string, version: number, snapshot: CannedSnapshot): Promise<CannedRow> {
  const { rows } = await db.query<CannedRow>(
    `UPDATE canned_responses SET version = $3, title = $4, text = $5, shortcut = $6, tags = $7, updated_at = now()
      WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [listingId, id, version, snapshot.title, snapshot.text, snapshot.shortcut, snapshot.tags],
  );
  return rows[0]!;
}

export async function markCannedDeleted(db: Queryable, listingId: string, id: string): Promise<void> {
  await db.query('UPDATE canned_responses SET deleted_at = now(), updated_at = now() WHERE listing_id = $1 AND id = $2', [listingId, id]);
}

export async function insertCannedVersion(db: Queryable, row: CannedRow, actor: Actor): Promise<void> {
  await db.query(
    `INSERT INTO canned_response_versions (listing_id, canned_response_id, version, title, text, shortcut, tags, actor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [row.listing_id, row.id, row.version, row.title, row.text, row.shortcut, row.tags, JSON.stringify(actor)],
  );
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

export async function listCanned(db: Queryable, listingId: string, query: ListCannedQuery): Promise<CannedResponseView[]> {
  const { rows } = await db.query<CannedRow>(
    `SELECT * FROM canned_responses
      WHERE listing_id = $1 AND deleted_at IS NULL
        AND ($2::text IS NULL OR title ILIKE $2 OR text ILIKE $2 OR shortcut ILIKE $2)
        AND ($3::text IS NULL OR $3 = ANY(tags))
      ORDER BY title, id LIMIT $4`,
    [listingId, query.q ? likePattern(query.q) : null, query.tag ?? null, query.limit],
  );
  return rows.map(toCannedView);
}

interface VersionRow {
  version: number;
  title: string;
  text: string;
  shortcut: string | null;
  tags: string[];
  actor: Actor;
  created_at: Date;
}

export async function listCannedVersions(db: Queryable, listingId: string, id: string): Promise<CannedVersionView[]> {
  const { rows } = await db.query<VersionRow>(
    `SELECT version, title, text, shortcut, tags, actor, created_at FROM canned_response_versions
      WHERE listing_id = $1 AND canned_response_id = $2 ORDER BY version`,
    [listingId, id],
  );
  return rows.map((row) => ({
    version: row.version,
    title: row.title,
    text: row.text,
    shortcut: row.shortcut,
    tags: row.tags,
    changedBy: { ...(row.actor.keyId ? { keyId: row.actor.keyId } : {}), ...(row.actor.role ? { role: row.actor.role } : {}) },
    createdAt: row.created_at,
  }));
}
