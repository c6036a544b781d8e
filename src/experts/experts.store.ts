import type { Actor } from '../events/index.ts';
import type { Queryable } from '../platform/index.ts';
import type { ExpertGroupView, ExpertRequestStatus, ExpertRequestView } from './experts.schemas.ts';

interface GroupRow {
  id: string;
  listing_id: string;
  name: string;
  description: string | null;
  member_ids: string[];
  created_at: Date;
  updated_at: Date;
}

const toGroupView = (row: GroupRow): ExpertGroupView => ({
  id: row.id,
  listingId: row.listing_id,
  name: row.name,
  description: row.description,
  memberIds: row.member_ids,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const SELECT_GROUP = `SELECT g.id, g.listing_id, g.name, g.description, g.created_at, g.updated_at,
  ARRAY(SELECT m.csr_id::text FROM expert_group_members m
         WHERE m.listing_id = g.listing_id AND m.group_id = g.id ORDER BY m.csr_id) AS member_ids
  FROM expert_groups g`;

export async function insertGroup(db: Queryable, group: { id: string; listingId: string; name: string; description: string | null }) {
  await db.query('INSERT INTO expert_groups (id, listing_id, name, description) VALUES ($1, $2, $3, $4)', [
    group.id,
    group.listingId,
    group.name,
    group.description,
  ]);
}

/** A live (not deleted) group; `forUpdate` locks it against concurrent edits and deletion. */
export async function findGroup(db: Queryable, listingId: string, id: string, options: { forUpdate?: boolean } = {}) {
  if (options.forUpdate) {
    await db.query('SELECT 1 FROM expert_groups WHERE listing_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE', [listingId, id]);
  }
  const { rows } = await db.query<GroupRow>(`${SELECT_GROUP} WHERE g.listing_id = $1 AND g.id = $2 AND g.deleted_at IS NULL`, [listingId, id]);
  return rows[0] && toGroupView(rows[0]);
}

export async function listGroups(db: Queryable, listingId: string, filter: { memberId?: string | undefined }) {
  const { rows } = await db.query<GroupRow>(
    `${SELECT_GROUP}
      WHERE g.listing_id = $1 AND g.deleted_at IS NULL
        AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM expert_group_members m
                                          WHERE m.listing_id = g.listing_id AND m.group_id = g.id AND m.csr_id = $2))
      ORDER BY lower(g.name), g.id`,
    [listingId, filter.memberId ?? null],
  );
  return rows.map(toGroupView);
}

export async function updateGroup(
  db: Queryable,
  listingId: string,
  id: string,
  patch: { name?: string | undefined; description?: string | null | undefined },
) {
  await db.query(
    `UPDATE expert_groups
        SET name = COALESCE($3, name),
            description = CASE WHEN $4::boolean THEN $5 ELSE description END,
            updated_at = now()
      WHERE listing_id = $1 AND id = $2`,
    [listingId, id, patch.name ?? null, patch.description !== undefined, patch.description ?? null],
  );
}

export async function markGroupDeleted(db: Queryable, listingId: string, id: string) {
  await db.query('UPDATE expert_groups SET deleted_at = now(), updated_at = now() WHERE listing_id = $1 AND id = $2', [listingId, id]);
}

/** Makes the member list exactly `csrIds`. */
export async function setMembers(db: Queryable, listingId: string, groupId: string, csrIds: readonly string[]) {
  await db.query('DELETE FROM expert_group_members WHERE listing_id = $1 AND group_id = $2 AND NOT (csr_id = ANY($3::uuid[]))', [
    listingId,
    groupId,
    csrIds,
  ]);
  await db.query(
    `INSERT INTO expert_group_members (listing_id, group_id, csr_id)
     SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING`,
    [listingId, groupId, csrIds],
  );
}

/** Which of these ids are not CSRs of the listing. */
export async function missingCsrs(db: Queryable, listingId: string, csrIds: readonly string[]): Promise<string[]> {
  if (csrIds.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `SELECT wanted.id::text AS id FROM unnest($2::uuid[]) AS wanted(id)
      WHERE NOT EXISTS (SELECT 1 FROM csrs c WHERE c.listing_id = $1 AND c.id = wanted.id)`,
    [listingId, csrIds],
  );
  return rows.map((row) => row.id);
}

export async function isMember(db: Queryable, listingId: string, groupId: string, csrId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM expert_group_members WHERE listing_id = $1 AND group_id = $2 AND csr_id = $3', [
    listingId,
    groupId,
    csrId,
  ]);
  return rowCount > 0;
}

export async function countUnresolved(db: Queryable, listingId: string, groupId: string): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM expert_requests WHERE listing_id = $1 AND group_id = $2 AND status <> 'closed'`,
    [listingId, groupId],
  );
  return rows[0]?.count ?? 0;
}

export interface RequestRow {
  id: string;
  listing_id: string;
  ticket_id: string;
  group_id: string;
  requested_by_csr_id: string | null;
  question: string;
  status: ExpertRequestStatus;
  expert_csr_id: string | null;
  answer: string | null;
  created_at: Date;
  accepted_at: Date | null;
  answered_at: Date | null;
  closed_at: Date | null;
}

export const toRequestView = (row: RequestRow): ExpertRequestView => ({
  id: row.id,
  listingId: row.listing_id,
  ticketId: row.ticket_id,
  groupId: row.group_id,
  question: row.question,
  status: row.status,
  requestedByCsrId: row.requested_by_csr_id,
  expertCsrId: row.expert_csr_id,
  answer: row.answer,
  createdAt: row.created_at,
  acceptedAt: row.accepted_at,
  answeredAt: row.answered_at,
  closedAt: row.closed_at,
});

export async function insertRequest(
  db: Queryable,
  request: { id: string; listingId: string; ticketId: string; groupId: string; requestedByCsrId: string | null; requestedBy: Actor; question: string },
): Promise<RequestRow> {
  const { rows } = await db.query<RequestRow>(
    `INSERT INTO expert_requests (id, listing_id, ticket_id, group_id, requested_by_csr_id, requested_by, question)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [
      request.id,
      request.listingId,
      request.ticketId,
      request.groupId,
      request.requestedByCsrId,
      JSON.stringify(request.requestedBy),
      request.question,
    ],
  );
  return rows[0]!;
}

/**
 * Who a CSR may see: requests they asked or took, requests to their groups, and requests on
 * the ticket they now hold (the answer is a note on that ticket). `csrId` null = everything.
 */
const VISIBLE_TO = `($2::uuid IS NULL OR r.requested_by_csr_id = $2 OR r.expert_csr_id = $2
  OR EXISTS (SELECT 1 FROM expert_group_members m WHERE m.listing_id = r.listing_id AND m.group_id = r.group_id AND m.csr_id = $2)
  OR EXISTS (SELECT 1 FROM tickets t WHERE t.listing_id = r.listing_id AND t.id = r.ticket_id AND t.csr_id = $2 AND t.status = 'assigned'))`;

export async function findRequest(db: Queryable, listingId: string, id: string, options: { forUpdate?: boolean } = {}) {
  const { rows } = await db.query<RequestRow>(
    `SELECT * FROM expert_requests WHERE listing_id = $1 AND id = $2${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [listingId, id],
  );
  return rows[0];
}

export async function isVisibleTo(db: Queryable, listingId: string, id: string, csrId: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM expert_requests r WHERE r.listing_id = $1 AND ${VISIBLE_TO} AND r.id = $3`, [
    listingId,
    csrId,
    id,
  ]);
  return rowCount > 0;
}

export async function listRequests(
  db: Queryable,
  listingId: string,
  filter: { visibleTo: string | null; status?: readonly ExpertRequestStatus[] | undefined; groupId?: string | undefined; ticketId?: string | undefined; limit: number },
): Promise<RequestRow[]> {
  const { rows } = await db.query<RequestRow>(
    `SELECT r.* FROM expert_requests r
      WHERE r.listing_id = $1 AND ${VISIBLE_TO}
        AND ($3::text[] IS NULL OR r.status = ANY($3))
        AND ($4::uuid IS NULL OR r.group_id = $4)
        AND ($5::uuid IS NULL OR r.ticket_id = $5)
      ORDER BY r.created_at, r.id
      LIMIT $6`,
    [listingId, filter.visibleTo, filter.status ?? null, filter.groupId ?? null, filter.ticketId ?? null, filter.limit],
  );
  return rows;
}

export async function applyTransition(
  db: Queryable,
  listingId: string,
  id: string,
  change:
    | { to: 'accepted'; expertCsrId: string }
    | { to: 'answered'; answer: string }
    | { to: 'closed'; closedBy: Actor },
): Promise<RequestRow> {
  const { rows } = await db.query<RequestRow>(
    `UPDATE expert_requests
        SET status = $3,
            expert_csr_id = COALESCE($4, expert_csr_id),
            accepted_at = CASE WHEN $3 = 'accepted' THEN now() ELSE accepted_at END,
            answer = COALESCE($5, answer),
            answered_at = CASE WHEN $3 = 'answered' THEN now() ELSE answered_at END,
            closed_at = CASE WHEN $3 = 'closed' THEN now() ELSE closed_at END,
            closed_by = COALESCE($6::jsonb, closed_by)
      WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [
      listingId,
      id,
      change.to,
      change.to === 'accepted' ? change.expertCsrId : null,
      change.to === 'answered' ? change.answer : null,
      change.to === 'closed' ? JSON.stringify(change.closedBy) : null,
    ],
  );
  return rows[0]!;
}
