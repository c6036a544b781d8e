import type { Queryable } from '../platform/index.ts';
import type { ListSmsQuery, SmsStatus, SmsView } from './sms.schemas.ts';

interface Row {
  id: string;
  listing_id: string;
  ticket_id: string | null;
  to_number: string;
  body: string;
  status: SmsStatus;
  provider: string | null;
  provider_message_id: string | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

const toView = (row: Row): SmsView => ({
  id: row.id,
  listingId: row.listing_id,
  ticketId: row.ticket_id,
  to: row.to_number,
  body: row.body,
  status: row.status,
  provider: row.provider,
  providerMessageId: row.provider_message_id,
  error: row.error,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export async function insertSms(
  db: Queryable,
  sms: { id: string; listingId: string; ticketId: string | null; to: string; body: string; provider: string | null },
): Promise<SmsView> {
  const { rows } = await db.query<Row>(
    `INSERT INTO sms_outbox (id, listing_id, ticket_id, to_number, body, provider)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [sms.id, sms.listingId, sms.ticketId, sms.to, sms.body, sms.provider],
  );
  return toView(rows[0]!);
}

export async function markSms(
  db: Queryable,
  listingId: string,
  id: string,
  outcome: { status: Exclude<SmsStatus, 'queued'>; providerMessageId?: string | null; error?: string | null },
): Promise<SmsView | undefined> {
  const { rows } = await db.query<Row>(
    `UPDATE sms_outbox SET status = $3, provider_message_id = $4, error = $5, updated_at = now()
      WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [listingId, id, outcome.status, outcome.providerMessageId ?? null, outcome.error ?? null],
  );
  return rows[0] && toView(rows[0]);
}

export async function listSms(db: Queryable, listingId: string, query: ListSmsQuery): Promise<SmsView[]> {
  const { rows } = await db.query<Row>(
    `SELECT * FROM sms_outbox
      WHERE listing_id = $1 AND ($2::uuid IS NULL OR ticket_id = $2) AND ($3::text IS NULL OR status = $3)
      ORDER BY created_at DESC, id DESC LIMIT $4`,
    [listingId, query.ticketId ?? null, query.status ?? null, query.limit],
  );
  return rows.map(toView);
}
