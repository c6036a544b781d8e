import type { AnalyticsDb } from '../analytics-store/index.ts';
import type { LabelValue } from './targets.ts';

/**
 * The analytics queries training reads: a listing's conversations, and the labels of a target
 * (per turn or per conversation). Every query is scoped by listing.
 */

export interface TrainingConversation {
  id: string;
  sourceChannel: string | null;
  /** Epoch ms of the conversation's start (created_at, else its first timestamped message), or null. */
  startMs: number | null;
  contentHash: string;
  messageCount: number;
}

export async function listTrainingConversations(db: AnalyticsDb, listingId: string): Promise<TrainingConversation[]> {
  const rows = await db.all<{ id: string; source_channel: string | null; start_ms: number | null; content_hash: string; message_count: number }>(
    `SELECT i.id, i.source_channel, epoch_ms(coalesce(i.created_at, m.first_ts))::DOUBLE AS start_ms, i.content_hash, i.message_count
     FROM interactions i
     LEFT JOIN (SELECT interaction_id, min(ts) AS first_ts FROM messages WHERE listing_id = $listing GROUP BY interaction_id) m
       ON m.interaction_id = i.id
     WHERE i.listing_id = $listing AND i.message_count > 0
     ORDER BY i.id`,
    { listing: listingId },
  );
  return rows.map((row) => ({ id: row.id, sourceChannel: row.source_channel, startMs: row.start_ms, contentHash: row.content_hash, messageCount: row.message_count }));
}

export interface TurnLabel {
  interactionId: string;
  seq: number;
  value: LabelValue;
}

/** Per-turn labels `name` (kind 'turn'); the role of the labelled message comes along. */
export async function listTurnLabels(db: AnalyticsDb, listingId: string, name: string): Promise<TurnLabel[]> {
  const rows = await db.all<{ interaction_id: string; seq: number; value_num: number | null; value_text: string | null }>(
    `SELECT interaction_id, seq, value_num, value_text FROM labels
     WHERE listing_id = $listing AND kind = 'turn' AND name = $name AND seq IS NOT NULL
     ORDER BY interaction_id, seq`,
    { listing: listingId, name },
  );
  return rows.flatMap((row) => {
    const value = labelValueOf(row.value_num, row.value_text);
    return value === null ? [] : [{ interactionId: row.interaction_id, seq: row.seq, value }];
  });
}

export async function countTurnLabels(db: AnalyticsDb, listingId: string, name: string): Promise<number> {
  const [row] = await db.all<{ n: number }>(
    "SELECT count(*)::INTEGER AS n FROM labels WHERE listing_id = $listing AND kind = 'turn' AND name = $name AND seq IS NOT NULL",
    { listing: listingId, name },
  );
  return row?.n ?? 0;
}

export interface OutcomeLabel {
  interactionId: string;
  value: LabelValue;
}

/**
 * Conversation outcomes. The built-ins come from the interactions table, reconciled: `resolved`
 * is false for an abandoned conversation even when only `abandoned` or the status was recorded;
 * `converted` is true when a conversion kind was recorded. Other names are outcome or custom labels.
 */
export async function listOutcomeLabels(db: AnalyticsDb, listingId: string, name: string): Promise<OutcomeLabel[]> {
  const builtin: Record<string, string> = {
    resolved: "CASE WHEN resolved IS NOT NULL THEN resolved WHEN abandoned IS NOT NULL THEN NOT abandoned WHEN status IN ('resolved', 'abandoned') THEN status = 'resolved' END",
    converted: 'CASE WHEN converted IS NOT NULL THEN converted WHEN conversion IS NOT NULL THEN true END',
    satisfaction: 'satisfaction::INTEGER',
  };
  const expression = builtin[name];
  if (expression) {
    const rows = await db.all<{ id: string; value: boolean | number | null }>(
      `SELECT id, ${expression} AS value FROM interactions WHERE listing_id = $listing ORDER BY id`,
      { listing: listingId },
    );
    return rows.flatMap((row) => (row.value === null ? [] : [{ interactionId: row.id, value: row.value }]));
  }
  const rows = await db.all<{ interaction_id: string; value_num: number | null; value_text: string | null }>(
    `SELECT interaction_id, value_num, value_text FROM labels
     WHERE listing_id = $listing AND kind IN ('outcome', 'custom') AND name = $name AND seq IS NULL
     ORDER BY interaction_id`,
    { listing: listingId, name },
  );
  return rows.flatMap((row) => {
    const value = labelValueOf(row.value_num, row.value_text);
    return value === null ? [] : [{ interactionId: row.interaction_id, value }];
  });
}

/** Raw annotator ratings ("3,3,2,3") per turn and per conversation, for the USS rating rule. */
export async function listRatingLists(db: AnalyticsDb, listingId: string, name: string): Promise<{ turns: Map<string, number[]>; outcomes: Map<string, number[]> }> {
  const rows = await db.all<{ interaction_id: string; seq: number | null; value_text: string | null }>(
    `SELECT interaction_id, seq, value_text FROM labels
     WHERE listing_id = $listing AND name = $name AND value_text IS NOT NULL
       AND ((kind = 'turn' AND seq IS NOT NULL) OR (kind = 'custom' AND seq IS NULL))`,
    { listing: listingId, name: `${name}_ratings` },
  );
  const turns = new Map<string, number[]>();
  const outcomes = new Map<string, number[]>();
  for (const row of rows) {
    const ratings = row.value_text!.split(',').map(Number).filter((value) => Number.isInteger(value));
    if (row.seq === null) outcomes.set(row.interaction_id, ratings);
    else turns.set(`${row.interaction_id}#${row.seq}`, ratings);
  }
  return { turns, outcomes };
}

function labelValueOf(num: number | null, text: string | null): LabelValue | null {
  if (text === 'true' && num === 1) return true;
  if (text === 'false' && num === 0) return false;
  if (num !== null) return num;
  return text;
}
