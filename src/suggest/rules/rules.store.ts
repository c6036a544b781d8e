import type { Actor } from '../../events/index.ts';
import type { Queryable } from '../../platform/index.ts';
import type { ListRulesInput, RuleDefinition, RuleStatus, RuleVersionView, RuleView } from './rules.schemas.ts';

export interface RuleRow {
  id: string;
  listing_id: string;
  name: string;
  description: string;
  status: RuleStatus;
  priority: number;
  stop_processing: boolean;
  latest_version: number;
  published_version: number | null;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
}

const RULE_COLUMNS = 'id, listing_id, name, description, status, priority, stop_processing, latest_version, published_version, created_at, updated_at, published_at';

export const toRuleView = (row: RuleRow, definition: RuleDefinition): RuleView => ({
  id: row.id,
  listingId: row.listing_id,
  name: row.name,
  description: row.description,
  status: row.status,
  priority: row.priority,
  stopProcessing: row.stop_processing,
  latestVersion: row.latest_version,
  publishedVersion: row.published_version,
  unpublishedChanges: row.published_version !== null && row.published_version !== row.latest_version,
  definition,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  publishedAt: row.published_at,
});

/** A live (not deleted) rule of the listing, optionally locked for a change. */
export async function findRule(db: Queryable, listingId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<RuleRow | undefined> {
  const { rows } = await db.query<RuleRow>(
    `SELECT ${RULE_COLUMNS} FROM rules WHERE listing_id = $1 AND id = $2 AND status <> 'deleted'${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [listingId, id],
  );
  return rows[0];
}

export async function insertRule(db: Queryable, listingId: string, id: string, definition: RuleDefinition): Promise<RuleRow> {
  const { rows } = await db.query<RuleRow>(
    `INSERT INTO rules (id, listing_id, name, description, status, priority, stop_processing, latest_version)
     VALUES ($1, $2, $3, $4, 'draft', $5, $6, 1) RETURNING ${RULE_COLUMNS}`,
    [id, listingId, definition.name, definition.description, definition.priority, definition.stopProcessing],
  );
  return rows[0]!;
}

/** Records a new latest version on the rule row (and, when `publish`, makes it the published one). */
export async function advanceRule(db: Queryable, listingId: string, id: string, version: number, definition: RuleDefinition, publish: boolean): Promise<RuleRow> {
  const { rows } = await db.query<RuleRow>(
    `UPDATE rules SET latest_version = $3, name = $4, description = $5, priority = $6, stop_processing = $7, updated_at = now(),
            published_version = CASE WHEN $8::boolean THEN $3 ELSE published_version END,
            published_at = CASE WHEN $8::boolean THEN now() ELSE published_at END
      WHERE listing_id = $1 AND id = $2 RETURNING ${RULE_COLUMNS}`,
    [listingId, id, version, definition.name, definition.description, definition.priority, definition.stopProcessing, publish],
  );
  return rows[0]!;
}

export async function setPublished(db: Queryable, listingId: string, id: string, version: number): Promise<RuleRow> {
  const { rows } = await db.query<RuleRow>(
    `UPDATE rules SET status = 'published', published_version = $3, published_at = now(), updated_at = now()
      WHERE listing_id = $1 AND id = $2 RETURNING ${RULE_COLUMNS}`,
    [listingId, id, version],
  );
  return rows[0]!;
}

export async function markRuleDeleted(db: Queryable, listingId: string, id: string): Promise<void> {
  await db.query(`UPDATE rules SET status = 'deleted', deleted_at = now(), updated_at = now() WHERE listing_id = $1 AND id = $2`, [listingId, id]);
}

export async function insertRuleVersion(
  db: Queryable,
  row: { listingId: string; ruleId: string; version: number; definition: RuleDefinition; restoredFrom?: number; actor: Actor },
): Promise<void> {
  await db.query(
    `INSERT INTO rule_versions (listing_id, rule_id, version, definition, restored_from, actor) VALUES ($1, $2, $3, $4::jsonb, $5, $6::jsonb)`,
    [row.listingId, row.ruleId, row.version, JSON.stringify(row.definition), row.restoredFrom ?? null, JSON.stringify(row.actor)],
  );
}

export async function findRuleVersion(db: Queryable, listingId: string, ruleId: string, version: number): Promise<RuleDefinition | undefined> {
  const { rows } = await db.query<{ definition: RuleDefinition }>(
    'SELECT definition FROM rule_versions WHERE listing_id = $1 AND rule_id = $2 AND version = $3',
    [listingId, ruleId, version],
  );
  return rows[0]?.definition;
}

interface VersionRow {
  version: number;
  definition: RuleDefinition;
  restored_from: number | null;
  actor: Actor;
  created_at: Date;
}

export async function listRuleVersions(db: Queryable, listingId: string, ruleId: string, publishedVersion: number | null): Promise<RuleVersionView[]> {
  const { rows } = await db.query<VersionRow>(
    `SELECT version, definition, restored_from, actor, created_at FROM rule_versions WHERE listing_id = $1 AND rule_id = $2 ORDER BY version`,
    [listingId, ruleId],
  );
  return rows.map((row) => ({
    version: row.version,
    definition: row.definition,
    restoredFrom: row.restored_from,
    published: row.version === publishedVersion,
    changedBy: { ...(row.actor.keyId ? { keyId: row.actor.keyId } : {}), ...(row.actor.role ? { role: row.actor.role } : {}) },
    createdAt: row.created_at,
  }));
}

const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

/** Live rules with their latest definitions, in evaluation order. */
export async function listRules(db: Queryable, listingId: string, query: Required<Pick<ListRulesInput, 'limit'>> & ListRulesInput): Promise<Array<{ row: RuleRow; definition: RuleDefinition }>> {
  const { rows } = await db.query<RuleRow & { definition: RuleDefinition }>(
    `SELECT ${RULE_COLUMNS.split(', ').map((column) => `r.${column}`).join(', ')}, v.definition
       FROM rules r JOIN rule_versions v ON v.listing_id = r.listing_id AND v.rule_id = r.id AND v.version = r.latest_version
      WHERE r.listing_id = $1 AND r.status <> 'deleted'
        AND ($2::text IS NULL OR r.status = $2)
        AND ($3::text IS NULL OR r.name ILIKE $3 OR r.description ILIKE $3)
      ORDER BY r.priority DESC, r.name, r.id LIMIT $4`,
    [listingId, query.status ?? null, query.q ? likePattern(query.q) : null, query.limit],
  );
  return rows.map(({ definition, ...row }) => ({ row, definition }));
}

/** The published version of every live published rule of the listing. */
export async function loadPublishedVersions(db: Queryable, listingId: string): Promise<Array<{ ruleId: string; version: number; definition: RuleDefinition }>> {
  const { rows } = await db.query<{ rule_id: string; version: number; definition: RuleDefinition }>(
    `SELECT r.id AS rule_id, v.version, v.definition
       FROM rules r JOIN rule_versions v ON v.listing_id = r.listing_id AND v.rule_id = r.id AND v.version = r.published_version
      WHERE r.listing_id = $1 AND r.status = 'published'`,
    [listingId],
  );
  return rows.map((row) => ({ ruleId: row.rule_id, version: row.version, definition: row.definition }));
}

/** The latest versions of the given live rules (the test endpoint's drafts). */
export async function loadLatestVersions(db: Queryable, listingId: string, ids: readonly string[]): Promise<Array<{ ruleId: string; version: number; definition: RuleDefinition }>> {
  const { rows } = await db.query<{ rule_id: string; version: number; definition: RuleDefinition }>(
    `SELECT r.id AS rule_id, v.version, v.definition
       FROM rules r JOIN rule_versions v ON v.listing_id = r.listing_id AND v.rule_id = r.id AND v.version = r.latest_version
      WHERE r.listing_id = $1 AND r.status <> 'deleted' AND r.id = ANY($2::uuid[])`,
    [listingId, ids],
  );
  return rows.map((row) => ({ ruleId: row.rule_id, version: row.version, definition: row.definition }));
}

/** Marks a change of the listing's published set; returns the new revision. */
export async function bumpRuleSetRevision(db: Queryable, listingId: string): Promise<number> {
  const { rows } = await db.query<{ revision: string | number }>(
    `INSERT INTO rule_sets (listing_id, revision) VALUES ($1, 1)
     ON CONFLICT (listing_id) DO UPDATE SET revision = rule_sets.revision + 1, updated_at = now()
     RETURNING revision`,
    [listingId],
  );
  return Number(rows[0]!.revision);
}

export async function ruleSetRevision(db: Queryable, listingId: string): Promise<number> {
  const { rows } = await db.query<{ revision: string | number }>('SELECT revision FROM rule_sets WHERE listing_id = $1', [listingId], { prepare: 'rules.revision' });
  return rows[0] ? Number(rows[0].revision) : 0;
}
