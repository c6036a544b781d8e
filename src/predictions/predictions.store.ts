import type { Queryable } from '../platform/index.ts';
import type { OutcomePrediction, PredictionDriver } from './predictions.types.ts';

export interface TicketFacts {
  sourceChannel: string;
  status: string;
  timezone: string;
}

export async function findTicketFacts(db: Queryable, listingId: string, ticketId: string): Promise<TicketFacts | undefined> {
  const { rows } = await db.query<{ source_channel: string; status: string; timezone: string }>(
    `SELECT t.source_channel, t.status, l.timezone
       FROM tickets t JOIN listings l ON l.id = t.listing_id
      WHERE t.listing_id = $1 AND t.id = $2`,
    [listingId, ticketId],
  );
  const row = rows[0];
  return row && { sourceChannel: row.source_channel, status: row.status, timezone: row.timezone };
}

export interface TicketMessageRow {
  seq: number;
  sender_role: 'customer' | 'csr' | 'bot' | 'system';
  kind: 'text' | 'voice' | 'image' | 'video' | 'file' | 'offer' | 'payment_request' | 'form';
  channel: string;
  text: string | null;
  transcript: string | null;
  has_attachment: boolean;
  created_at: Date;
}

/** The ticket's messages after `afterSeq`, in order. */
export async function readTicketMessages(db: Queryable, listingId: string, ticketId: string, afterSeq: number): Promise<TicketMessageRow[]> {
  const { rows } = await db.query<TicketMessageRow>(
    `SELECT seq, sender_role, kind, channel, text, content->>'transcript' AS transcript,
            (attachment_id IS NOT NULL) AS has_attachment, created_at
       FROM messages WHERE listing_id = $1 AND ticket_id = $2 AND seq > $3
      ORDER BY seq`,
    [listingId, ticketId, afterSeq],
  );
  return rows;
}

export interface PredictionWrite {
  listingId: string;
  ticketId: string;
  target: string;
  modelVersion: number;
  atSeq: number;
  prediction: OutcomePrediction;
}

/** Upserts, unless the stored row has seen a later message (a late job loses). */
export async function writePrediction(db: Queryable, write: PredictionWrite): Promise<boolean> {
  const { prediction } = write;
  const value = prediction.probs ? { probs: prediction.probs, classes: prediction.classes ?? [] } : { p: prediction.p ?? null };
  const { rowCount } = await db.query(
    `INSERT INTO ticket_predictions AS t (listing_id, ticket_id, target, model_version, at_seq, prediction, risk, drivers, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, now())
     ON CONFLICT (listing_id, ticket_id, target) DO UPDATE
       SET model_version = EXCLUDED.model_version, at_seq = EXCLUDED.at_seq, prediction = EXCLUDED.prediction,
           risk = EXCLUDED.risk, drivers = EXCLUDED.drivers, updated_at = now()
     WHERE t.at_seq <= EXCLUDED.at_seq`,
    [write.listingId, write.ticketId, write.target, write.modelVersion, write.atSeq, JSON.stringify(value), prediction.risk, JSON.stringify(prediction.drivers)],
  );
  return rowCount > 0;
}

export interface StoredPrediction {
  target: string;
  modelVersion: number;
  atSeq: number;
  p: number | null;
  probs: number[] | null;
  classes: string[] | null;
  risk: number;
  drivers: PredictionDriver[];
  updatedAt: Date;
}

interface PredictionRow {
  ticket_id: string;
  target: string;
  model_version: number;
  at_seq: number;
  prediction: { p?: number | null; probs?: number[]; classes?: string[] };
  risk: number;
  drivers: PredictionDriver[];
  updated_at: Date;
}

const toStored = (row: PredictionRow): StoredPrediction => ({
  target: row.target,
  modelVersion: row.model_version,
  atSeq: row.at_seq,
  p: row.prediction.p ?? null,
  probs: row.prediction.probs ?? null,
  classes: row.prediction.classes ?? null,
  risk: row.risk,
  drivers: row.drivers,
  updatedAt: row.updated_at,
});

export async function readTicketPredictions(db: Queryable, listingId: string, ticketId: string): Promise<StoredPrediction[]> {
  const { rows } = await db.query<PredictionRow>(
    'SELECT * FROM ticket_predictions WHERE listing_id = $1 AND ticket_id = $2 ORDER BY target',
    [listingId, ticketId],
  );
  return rows.map(toStored);
}

export interface AtRiskRow extends StoredPrediction {
  ticketId: string;
  ref: string;
  status: string;
  csrId: string | null;
  createdAt: Date;
}

/** Open tickets by descending risk for one target. */
export async function readAtRisk(db: Queryable, listingId: string, target: string, limit: number, minRisk: number): Promise<AtRiskRow[]> {
  const { rows } = await db.query<PredictionRow & { ref: string; status: string; csr_id: string | null; created_at_ticket: Date }>(
    `SELECT p.*, t.ref, t.status, t.csr_id, t.created_at AS created_at_ticket
       FROM ticket_predictions p
       JOIN tickets t ON t.listing_id = p.listing_id AND t.id = p.ticket_id
      WHERE p.listing_id = $1 AND p.target = $2 AND p.risk >= $3 AND t.status IN ('waiting', 'assigned')
      ORDER BY p.risk DESC, p.ticket_id
      LIMIT $4`,
    [listingId, target, minRisk, limit],
  );
  return rows.map((row) => ({ ...toStored(row), ticketId: row.ticket_id, ref: row.ref, status: row.status, csrId: row.csr_id, createdAt: row.created_at_ticket }));
}
