import type { Queryable } from '../../platform/index.ts';
import type { FeedbackOutcome, SuggestionSource, SuggestionView } from './suggestion-log.schemas.ts';

interface SuggestionRow {
  id: string;
  listing_id: string;
  ticket_id: string | null;
  source: SuggestionSource;
  rule_id: string | null;
  rule_version: number | null;
  canned_response_id: string | null;
  text: string;
  score: number | null;
  created_at: Date;
  feedback: FeedbackOutcome | null;
  edited_text: string | null;
  feedback_at: Date | null;
}

const toView = (row: SuggestionRow): SuggestionView => ({
  id: row.id,
  listingId: row.listing_id,
  ticketId: row.ticket_id,
  source: row.source,
  ruleId: row.rule_id,
  ruleVersion: row.rule_version,
  cannedResponseId: row.canned_response_id,
  text: row.text,
  score: row.score === null ? null : Number(row.score),
  createdAt: row.created_at,
  feedback: row.feedback,
  editedText: row.edited_text,
  feedbackAt: row.feedback_at,
});

export interface SuggestionInsert {
  id: string;
  listing_id: string;
  ticket_id: string | null;
  source: SuggestionSource;
  rule_id: string | null;
  rule_version: number | null;
  canned_response_id: string | null;
  text: string;
  score: number | null;
  created_at: string;
}

export interface FiringIncrement {
  listing_id: string;
  rule_id: string;
  rule_version: number;
  day: string;
  fired: number;
}

// One statement, one round trip: the suggestions of a batch of requests, and their rules' firing
// counters (pre-summed per key, since ON CONFLICT cannot update one row twice in a statement; in
// key order, so concurrent batches lock counter rows in the same order and cannot deadlock).
const WRITE_SQL = `
WITH s AS (
  INSERT INTO suggestions (id, listing_id, ticket_id, source, rule_id, rule_version, canned_response_id, text, score, created_at)
  SELECT id, listing_id, ticket_id, source, rule_id, rule_version, canned_response_id, text, score, created_at
    FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, listing_id text, ticket_id uuid, source text, rule_id uuid, rule_version integer,
                                             canned_response_id uuid, text text, score double precision, created_at timestamptz)
  RETURNING 1
), f AS (
  INSERT INTO rule_firings_daily (listing_id, rule_id, rule_version, day, fired)
  SELECT listing_id, rule_id, rule_version, day, fired
    FROM jsonb_to_recordset($2::jsonb) AS y(listing_id text, rule_id uuid, rule_version integer, day date, fired bigint)
   ORDER BY listing_id, rule_id, day, rule_version
  ON CONFLICT (listing_id, rule_id, day, rule_version) DO UPDATE SET fired = rule_firings_daily.fired + EXCLUDED.fired
  RETURNING 1
)
SELECT (SELECT count(*) FROM s)::int AS suggestions, (SELECT count(*) FROM f)::int AS counters`;

export async function writeSuggestions(db: Queryable, suggestions: readonly SuggestionInsert[], firings: readonly FiringIncrement[]): Promise<void> {
  await db.query(WRITE_SQL, [JSON.stringify(suggestions), JSON.stringify(firings)], { prepare: 'suggestions.write' });
}

export async function findSuggestion(db: Queryable, listingId: string, id: string): Promise<SuggestionView | undefined> {
  const { rows } = await db.query<SuggestionRow>('SELECT * FROM suggestions WHERE listing_id = $1 AND id = $2', [listingId, id]);
  return rows[0] && toView(rows[0]);
}

export async function setFeedback(
  db: Queryable,
  listingId: string,
  id: string,
  feedback: { outcome: FeedbackOutcome; editedText: string | null; at: Date },
): Promise<SuggestionView | undefined> {
  const { rows } = await db.query<SuggestionRow>(
    `UPDATE suggestions SET feedback = $3, edited_text = $4, feedback_at = $5 WHERE listing_id = $1 AND id = $2 RETURNING *`,
    [listingId, id, feedback.outcome, feedback.editedText, feedback.at],
  );
  return rows[0] && toView(rows[0]);
}

export interface VersionCounts {
  version: number;
  fired: number;
  shown: number;
  used: number;
  edited: number;
  ignored: number;
}

/** Per rule version over whole UTC days [from, to]: firings from the counters, the rest from the log. */
export async function ruleCounts(db: Queryable, listingId: string, ruleId: string, from: string, to: string): Promise<VersionCounts[]> {
  const { rows } = await db.query<{ version: number; fired: string | number; shown: number; used: number; edited: number; ignored: number }>(
    `WITH fired AS (
       SELECT rule_version AS version, sum(fired) AS fired FROM rule_firings_daily
        WHERE listing_id = $1 AND rule_id = $2 AND day BETWEEN $3::date AND $4::date GROUP BY rule_version
     ), shown AS (
       SELECT rule_version AS version, count(*)::int AS shown,
              count(*) FILTER (WHERE feedback = 'used')::int AS used,
              count(*) FILTER (WHERE feedback = 'edited')::int AS edited,
              count(*) FILTER (WHERE feedback = 'ignored')::int AS ignored
         FROM suggestions
        WHERE listing_id = $1 AND rule_id = $2
          AND created_at >= ($3::date)::timestamp AT TIME ZONE 'UTC' AND created_at < ($4::date + 1)::timestamp AT TIME ZONE 'UTC'
        GROUP BY rule_version
     )
     SELECT coalesce(f.version, s.version) AS version, coalesce(f.fired, 0) AS fired, coalesce(s.shown, 0) AS shown,
            coalesce(s.used, 0) AS used, coalesce(s.edited, 0) AS edited, coalesce(s.ignored, 0) AS ignored
       FROM fired f FULL JOIN shown s ON s.version = f.version
      ORDER BY 1`,
    [listingId, ruleId, from, to],
  );
  return rows.map((row) => ({ version: row.version, fired: Number(row.fired), shown: row.shown, used: row.used, edited: row.edited, ignored: row.ignored }));
}
