import type { Queryable } from '../platform/index.ts';
import type { ActionMode, ActionStatus, ActionView, OfferKind, OfferView, PolicyConditions, PolicyView } from './auto-actions.schemas.ts';

// ---------------------------------------------------------------------------------------------
// Settings

export interface SettingsRow {
  enabled: boolean;
  max_per_customer_per_day: number;
  updated_at: Date;
}

export async function findSettings(db: Queryable, listingId: string): Promise<SettingsRow | undefined> {
  const { rows } = await db.query<SettingsRow>('SELECT enabled, max_per_customer_per_day, updated_at FROM auto_action_settings WHERE listing_id = $1', [listingId]);
  return rows[0];
}

export async function upsertSettings(db: Queryable, listingId: string, enabled: boolean, maxPerCustomerPerDay: number): Promise<SettingsRow> {
  const { rows } = await db.query<SettingsRow>(
    `INSERT INTO auto_action_settings (listing_id, enabled, max_per_customer_per_day) VALUES ($1, $2, $3)
     ON CONFLICT (listing_id) DO UPDATE SET enabled = EXCLUDED.enabled, max_per_customer_per_day = EXCLUDED.max_per_customer_per_day, updated_at = now()
     RETURNING enabled, max_per_customer_per_day, updated_at`,
    [listingId, enabled, maxPerCustomerPerDay],
  );
  return rows[0]!;
}

// ---------------------------------------------------------------------------------------------
// Offers

export interface OfferRow {
  id: string;
  name: string;
  description: string;
  kind: OfferKind;
  max_discount_percent: number | null;
  code: string | null;
  created_at: Date;
  updated_at: Date;
}

const OFFER_COLUMNS = 'id, name, description, kind, max_discount_percent, code, created_at, updated_at';

export const toOfferView = (row: OfferRow): OfferView => ({
  id: row.id,
  name: row.name,
  description: row.description,
  kind: row.kind,
  maxDiscountPercent: row.max_discount_percent,
  code: row.code,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface OfferFields {
  name: string;
  description: string;
  kind: OfferKind;
  maxDiscountPercent: number | null;
  code: string | null;
}

export async function insertOffer(db: Queryable, listingId: string, id: string, offer: OfferFields): Promise<OfferRow> {
  const { rows } = await db.query<OfferRow>(
    `INSERT INTO auto_action_offers (id, listing_id, name, description, kind, max_discount_percent, code)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${OFFER_COLUMNS}`,
    [id, listingId, offer.name, offer.description, offer.kind, offer.maxDiscountPercent, offer.code],
  );
  return rows[0]!;
}

export async function updateOffer(db: Queryable, listingId: string, id: string, offer: OfferFields): Promise<OfferRow | undefined> {
  const { rows } = await db.query<OfferRow>(
    `UPDATE auto_action_offers SET name = $3, description = $4, kind = $5, max_discount_percent = $6, code = $7, updated_at = now()
      WHERE listing_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${OFFER_COLUMNS}`,
    [listingId, id, offer.name, offer.description, offer.kind, offer.maxDiscountPercent, offer.code],
  );
  return rows[0];
}

export async function findOffer(db: Queryable, listingId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<OfferRow | undefined> {
  const { rows } = await db.query<OfferRow>(
    `SELECT ${OFFER_COLUMNS} FROM auto_action_offers WHERE listing_id = $1 AND id = $2 AND deleted_at IS NULL${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [listingId, id],
  );
  return rows[0];
}

export async function listOffers(db: Queryable, listingId: string): Promise<OfferRow[]> {
  const { rows } = await db.query<OfferRow>(`SELECT ${OFFER_COLUMNS} FROM auto_action_offers WHERE listing_id = $1 AND deleted_at IS NULL ORDER BY lower(name)`, [listingId]);
  return rows;
}

export async function policiesUsingOffer(db: Queryable, listingId: string, offerId: string): Promise<Array<{ id: string; name: string; mode: ActionMode; discount_percent: number | null }>> {
  const { rows } = await db.query<{ id: string; name: string; mode: ActionMode; discount_percent: number | null }>(
    'SELECT id, name, mode, discount_percent FROM auto_action_policies WHERE listing_id = $1 AND offer_id = $2 AND deleted_at IS NULL ORDER BY lower(name)',
    [listingId, offerId],
  );
  return rows;
}

export async function markOfferDeleted(db: Queryable, listingId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE auto_action_offers SET deleted_at = now(), updated_at = now() WHERE listing_id = $1 AND id = $2 AND deleted_at IS NULL', [listingId, id]);
  return rowCount > 0;
}

// ---------------------------------------------------------------------------------------------
// Policies

export interface PolicyRow {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  priority: number;
  conditions: PolicyConditions;
  offer_id: string;
  discount_percent: number | null;
  mode: ActionMode;
  holdout_percent: number;
  max_per_customer_per_day: number;
  created_at: Date;
  updated_at: Date;
}

const POLICY_COLUMNS = `id, name, description, enabled, priority, conditions, offer_id, discount_percent, mode, holdout_percent,
  max_per_customer_per_day, created_at, updated_at`;

export const toPolicyView = (row: PolicyRow): PolicyView => ({
  id: row.id,
  name: row.name,
  description: row.description,
  enabled: row.enabled,
  priority: row.priority,
  conditions: row.conditions,
  offerId: row.offer_id,
  discountPercent: row.discount_percent,
  mode: row.mode,
  holdoutPercent: row.holdout_percent,
  maxPerCustomerPerDay: row.max_per_customer_per_day,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface PolicyFields {
  name: string;
  description: string;
  enabled: boolean;
  priority: number;
  conditions: PolicyConditions;
  offerId: string;
  discountPercent: number | null;
  mode: ActionMode;
  holdoutPercent: number;
  maxPerCustomerPerDay: number;
}

const policyParams = (policy: PolicyFields) => [
  policy.name,
  policy.description,
  policy.enabled,
  policy.priority,
  JSON.stringify(policy.conditions),
  policy.offerId,
  policy.discountPercent,
  policy.mode,
  policy.holdoutPercent,
  policy.maxPerCustomerPerDay,
];

export async function insertPolicy(db: Queryable, listingId: string, id: string, policy: PolicyFields): Promise<PolicyRow> {
  const { rows } = await db.query<PolicyRow>(
    `INSERT INTO auto_action_policies (id, listing_id, name, description, enabled, priority, conditions, offer_id, discount_percent, mode,
                                       holdout_percent, max_per_customer_per_day)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12) RETURNING ${POLICY_COLUMNS}`,
    [id, listingId, ...policyParams(policy)],
  );
  return rows[0]!;
}

export async function updatePolicy(db: Queryable, listingId: string, id: string, policy: PolicyFields): Promise<PolicyRow | undefined> {
  const { rows } = await db.query<PolicyRow>(
    `UPDATE auto_action_policies SET name = $3, description = $4, enabled = $5, priority = $6, conditions = $7::jsonb, offer_id = $8,
            discount_percent = $9, mode = $10, holdout_percent = $11, max_per_customer_per_day = $12, updated_at = now()
      WHERE listing_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${POLICY_COLUMNS}`,
    [listingId, id, ...policyParams(policy)],
  );
  return rows[0];
}

export async function findPolicy(db: Queryable, listingId: string, id: string): Promise<PolicyRow | undefined> {
  const { rows } = await db.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM auto_action_policies WHERE listing_id = $1 AND id = $2 AND deleted_at IS NULL`, [listingId, id]);
  return rows[0];
}

export async function listPolicies(db: Queryable, listingId: string): Promise<PolicyRow[]> {
  const { rows } = await db.query<PolicyRow>(
    `SELECT ${POLICY_COLUMNS} FROM auto_action_policies WHERE listing_id = $1 AND deleted_at IS NULL ORDER BY priority DESC, lower(name)`,
    [listingId],
  );
  return rows;
}

export async function markPolicyDeleted(db: Queryable, listingId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE auto_action_policies SET deleted_at = now(), updated_at = now() WHERE listing_id = $1 AND id = $2 AND deleted_at IS NULL', [listingId, id]);
  return rowCount > 0;
}

export interface ActivePolicy extends PolicyRow {
  offer_name: string;
  offer_description: string;
  offer_kind: OfferKind;
  offer_max_discount_percent: number | null;
  offer_code: string | null;
}

/** The listing's switch, cap and enabled policies with their offers, in evaluation order: one query. */
export async function loadActive(db: Queryable, listingId: string): Promise<{ settings: SettingsRow | undefined; policies: ActivePolicy[] }> {
  const { rows } = await db.query<ActivePolicy & { s_enabled: boolean | null; s_max: number | null; s_updated_at: Date | null }>(
    `SELECT s.enabled AS s_enabled, s.max_per_customer_per_day AS s_max, s.updated_at AS s_updated_at,
            p.id, p.name, p.description, p.enabled, p.priority, p.conditions, p.offer_id, p.discount_percent, p.mode, p.holdout_percent,
            p.max_per_customer_per_day, p.created_at, p.updated_at,
            o.name AS offer_name, o.description AS offer_description, o.kind AS offer_kind,
            o.max_discount_percent AS offer_max_discount_percent, o.code AS offer_code
       FROM listings l
       LEFT JOIN auto_action_settings s ON s.listing_id = l.id
       LEFT JOIN auto_action_policies p ON p.listing_id = l.id AND p.enabled AND p.deleted_at IS NULL
       LEFT JOIN auto_action_offers o ON o.listing_id = p.listing_id AND o.id = p.offer_id
      WHERE l.id = $1
      ORDER BY p.priority DESC, lower(p.name)`,
    [listingId],
    { prepare: 'auto_actions.load_active' },
  );
  const first = rows[0];
  const settings = first && first.s_enabled !== null ? { enabled: first.s_enabled, max_per_customer_per_day: first.s_max!, updated_at: first.s_updated_at! } : undefined;
  return { settings, policies: rows.filter((row) => row.id !== null) };
}

// ---------------------------------------------------------------------------------------------
// Ticket facts

export interface TicketFactsRow {
  status: string;
  customer_id: string;
  timezone: string;
  last_customer_text: string | null;
  last_customer_seq: number | null;
  turns: number;
}

/** The ticket's state, its listing's time zone, the last customer message and the customer turns so far. */
export async function loadTicketFacts(db: Queryable, listingId: string, ticketId: string): Promise<TicketFactsRow | undefined> {
  const { rows } = await db.query<TicketFactsRow>(
    `SELECT t.status, t.customer_id, l.timezone,
            last.text AS last_customer_text, last.seq AS last_customer_seq,
            (SELECT count(*)::int FROM (
               SELECT m.sender_role, lag(m.sender_role) OVER (ORDER BY m.seq) AS previous
                 FROM messages m WHERE m.listing_id = t.listing_id AND m.ticket_id = t.id) runs
              WHERE runs.sender_role = 'customer' AND runs.previous IS DISTINCT FROM 'customer') AS turns
       FROM tickets t
       JOIN listings l ON l.id = t.listing_id
       LEFT JOIN LATERAL (SELECT m.text, m.seq FROM messages m
                           WHERE m.listing_id = t.listing_id AND m.ticket_id = t.id AND m.sender_role = 'customer'
                           ORDER BY m.seq DESC LIMIT 1) last ON true
      WHERE t.listing_id = $1 AND t.id = $2`,
    [listingId, ticketId],
  );
  return rows[0];
}

// ---------------------------------------------------------------------------------------------
// The action log

/** Serialises every evaluation for one customer of one listing: caps are counted and taken under it. */
export async function lockCustomer(tx: Queryable, listingId: string, customerId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`auto-actions:${listingId}:${customerId}`]);
}

export async function countToday(db: Queryable, listingId: string, customerId: string, policyId: string, localDay: string) {
  const { rows } = await db.query<{ customer_today: number; policy_today: number }>(
    `SELECT count(*)::int AS customer_today, (count(*) FILTER (WHERE policy_id = $3))::int AS policy_today
       FROM auto_action_log WHERE listing_id = $1 AND customer_id = $2 AND local_day = $4::date`,
    [listingId, customerId, policyId, localDay],
  );
  return { customerToday: rows[0]?.customer_today ?? 0, policyToday: rows[0]?.policy_today ?? 0 };
}

export async function hasActed(db: Queryable, listingId: string, ticketId: string, policyId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM auto_action_log WHERE listing_id = $1 AND ticket_id = $2 AND policy_id = $3', [listingId, ticketId, policyId]);
  return rowCount > 0;
}

export interface ActionRow {
  id: string;
  ticket_id: string;
  customer_id: string;
  policy_id: string;
  policy_name: string;
  offer_id: string;
  offer_name: string;
  offer_description: string;
  offer_kind: OfferKind;
  offer_code: string | null;
  action: OfferKind;
  mode: ActionMode;
  status: ActionStatus;
  holdout: boolean;
  discount_percent: number | null;
  reason: string;
  inputs: Record<string, unknown>;
  message_id: string | null;
  decided_at: Date | null;
  created_at: Date;
}

export const toActionView = (row: ActionRow): ActionView => ({
  id: row.id,
  ticketId: row.ticket_id,
  customerId: row.customer_id,
  policyId: row.policy_id,
  policyName: row.policy_name,
  offer: { id: row.offer_id, name: row.offer_name, description: row.offer_description, kind: row.offer_kind, code: row.offer_code },
  action: row.action,
  mode: row.mode,
  status: row.status,
  holdout: row.holdout,
  discountPercent: row.discount_percent,
  reason: row.reason,
  inputs: row.inputs,
  messageId: row.message_id,
  decidedAt: row.decided_at,
  createdAt: row.created_at,
});

const ACTION_SELECT = `SELECT a.id, a.ticket_id, a.customer_id, a.policy_id, p.name AS policy_name, a.offer_id, o.name AS offer_name,
       o.description AS offer_description, o.kind AS offer_kind, o.code AS offer_code, a.action, a.mode, a.status, a.holdout,
       a.discount_percent, a.reason, a.inputs, a.message_id, a.decided_at, a.created_at
  FROM auto_action_log a
  JOIN auto_action_policies p ON p.listing_id = a.listing_id AND p.id = a.policy_id
  JOIN auto_action_offers o ON o.listing_id = a.listing_id AND o.id = a.offer_id`;

export interface NewAction {
  id: string;
  listingId: string;
  ticketId: string;
  customerId: string;
  policyId: string;
  offerId: string;
  action: OfferKind;
  mode: ActionMode;
  status: ActionStatus;
  holdout: boolean;
  discountPercent: number | null;
  reason: string;
  inputs: Record<string, unknown>;
  localDay: string;
}

export async function insertAction(db: Queryable, action: NewAction): Promise<void> {
  await db.query(
    `INSERT INTO auto_action_log (id, listing_id, ticket_id, customer_id, policy_id, offer_id, action, mode, status, holdout,
                                  discount_percent, reason, inputs, local_day)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::date)`,
    [
      action.id,
      action.listingId,
      action.ticketId,
      action.customerId,
      action.policyId,
      action.offerId,
      action.action,
      action.mode,
      action.status,
      action.holdout,
      action.discountPercent,
      action.reason,
      JSON.stringify(action.inputs),
      action.localDay,
    ],
  );
}

export async function findAction(db: Queryable, listingId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<ActionRow | undefined> {
  const { rows } = await db.query<ActionRow>(`${ACTION_SELECT} WHERE a.listing_id = $1 AND a.id = $2${options.forUpdate ? ' FOR UPDATE OF a' : ''}`, [listingId, id]);
  return rows[0];
}

export async function listActionsOfTicket(db: Queryable, listingId: string, ticketId: string, options: { includeHoldout: boolean }): Promise<ActionRow[]> {
  const { rows } = await db.query<ActionRow>(
    `${ACTION_SELECT} WHERE a.listing_id = $1 AND a.ticket_id = $2${options.includeHoldout ? '' : ' AND NOT a.holdout'} ORDER BY a.created_at, a.id`,
    [listingId, ticketId],
  );
  return rows;
}

/** Auto actions logged but not yet sent (a crash between logging and sending): sent on the next evaluation. */
export async function listUnsent(db: Queryable, listingId: string, ticketId: string): Promise<ActionRow[]> {
  const { rows } = await db.query<ActionRow>(`${ACTION_SELECT} WHERE a.listing_id = $1 AND a.ticket_id = $2 AND a.status = 'sending' ORDER BY a.created_at`, [
    listingId,
    ticketId,
  ]);
  return rows;
}

export async function markDecided(
  db: Queryable,
  listingId: string,
  id: string,
  change: { status: 'sent' | 'dismissed'; messageId: string | null; decidedBy: Record<string, unknown>; from: readonly ActionStatus[] },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE auto_action_log SET status = $3, message_id = COALESCE($4, message_id), decided_by = $5::jsonb, decided_at = now()
      WHERE listing_id = $1 AND id = $2 AND status = ANY($6::text[])`,
    [listingId, id, change.status, change.messageId, JSON.stringify(change.decidedBy), change.from],
  );
  return rowCount > 0;
}

// ---------------------------------------------------------------------------------------------
// Offer responses

export async function findOfferMessage(db: Queryable, listingId: string, ticketId: string, messageId: string): Promise<{ kind: string } | undefined> {
  const { rows } = await db.query<{ kind: string }>('SELECT kind FROM messages WHERE listing_id = $1 AND ticket_id = $2 AND id = $3', [listingId, ticketId, messageId]);
  return rows[0];
}

export async function insertOfferResponse(
  db: Queryable,
  response: { listingId: string; ticketId: string; messageId: string; accepted: boolean; actor: Record<string, unknown> },
): Promise<{ accepted: boolean; created_at: Date; inserted: boolean }> {
  const { rows } = await db.query<{ accepted: boolean; created_at: Date }>(
    `INSERT INTO offer_responses (listing_id, ticket_id, message_id, accepted, actor) VALUES ($1, $2, $3, $4, $5::jsonb)
     ON CONFLICT (listing_id, message_id) DO NOTHING RETURNING accepted, created_at`,
    [response.listingId, response.ticketId, response.messageId, response.accepted, JSON.stringify(response.actor)],
  );
  if (rows[0]) return { ...rows[0], inserted: true };
  const existing = await db.query<{ accepted: boolean; created_at: Date }>('SELECT accepted, created_at FROM offer_responses WHERE listing_id = $1 AND message_id = $2', [
    response.listingId,
    response.messageId,
  ]);
  return { ...existing.rows[0]!, inserted: false };
}

// ---------------------------------------------------------------------------------------------
// Analytics

export interface ArmRow {
  policy_id: string;
  policy_name: string;
  mode: ActionMode;
  holdout_percent: number;
  holdout: boolean;
  eligible: number;
  delivered: number;
  ended: number;
  resolved: number;
  converted: number;
  rated: number;
  satisfied: number;
  rating_sum: number;
}

/**
 * Per policy and arm (treated / held out): how many tickets, how they ended, converted and were
 * rated. Converted = an accepted offer or a paid payment request in the ticket, counted over
 * ended tickets like resolution; satisfaction over rated ones.
 */
export async function armOutcomes(db: Queryable, listingId: string, filter: { from?: Date; to?: Date; policyId?: string }): Promise<ArmRow[]> {
  const { rows } = await db.query<ArmRow>(
    `SELECT a.policy_id, p.name AS policy_name, p.mode, p.holdout_percent, a.holdout,
            count(*)::int AS eligible,
            (count(*) FILTER (WHERE a.status = 'sent'))::int AS delivered,
            (count(*) FILTER (WHERE t.status IN ('resolved', 'abandoned')))::int AS ended,
            (count(*) FILTER (WHERE t.status = 'resolved'))::int AS resolved,
            (count(*) FILTER (WHERE t.status IN ('resolved', 'abandoned') AND (
               EXISTS (SELECT 1 FROM offer_responses r WHERE r.listing_id = t.listing_id AND r.ticket_id = t.id AND r.accepted)
               OR EXISTS (SELECT 1 FROM payment_requests pr WHERE pr.listing_id = t.listing_id AND pr.ticket_id = t.id AND pr.status = 'paid'))))::int AS converted,
            count(t.rating)::int AS rated,
            (count(*) FILTER (WHERE t.rating >= 4))::int AS satisfied,
            COALESCE(sum(t.rating), 0)::int AS rating_sum
       FROM auto_action_log a
       JOIN tickets t ON t.listing_id = a.listing_id AND t.id = a.ticket_id
       JOIN auto_action_policies p ON p.listing_id = a.listing_id AND p.id = a.policy_id
      WHERE a.listing_id = $1
        AND ($2::timestamptz IS NULL OR a.created_at >= $2)
        AND ($3::timestamptz IS NULL OR a.created_at < $3)
        AND ($4::uuid IS NULL OR a.policy_id = $4)
      GROUP BY a.policy_id, p.name, p.mode, p.holdout_percent, a.holdout
      ORDER BY lower(p.name), a.policy_id, a.holdout`,
    [listingId, filter.from ?? null, filter.to ?? null, filter.policyId ?? null],
  );
  return rows;
}
