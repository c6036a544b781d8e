import { appendEvent, EventNames, type Actor } from '../../events/index.ts';
import { AppError, newId, type Clock, type Database } from '../../platform/index.ts';
import {
  ruleAnalyticsQuery,
  suggestionFeedbackBody,
  type FiredRuleRef,
  type NewSuggestion,
  type RuleAnalyticsInput,
  type RuleAnalyticsView,
  type SuggestionFeedbackInput,
  type SuggestionView,
} from './suggestion-log.schemas.ts';
import { findSuggestion, ruleCounts, setFeedback, writeSuggestions, type FiringIncrement, type SuggestionInsert } from './suggestion-log.store.ts';

interface Pending {
  suggestions: SuggestionInsert[];
  firings: FiringIncrement[];
  resolve(): void;
  reject(error: unknown): void;
}

export interface SuggestionLogDeps {
  db: Database;
  clock: Clock;
  /** Requests merged into one statement at most (default 256). */
  maxBatch?: number;
}

const DAY_MS = 86_400_000;
const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : null);

/** Sums firings per (listing, rule, version, day), in key order. */
function sumFirings(items: readonly FiringIncrement[]): FiringIncrement[] {
  const byKey = new Map<string, FiringIncrement>();
  for (const item of items) {
    const key = `${item.listing_id}\u0000${item.rule_id}\u0000${item.day}\u0000${String(item.rule_version).padStart(10, '0')}`;
    const existing = byKey.get(key);
    if (existing) existing.fired += item.fired;
    else byKey.set(key, { ...item });
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
}

/**
 * The log of suggestions shown to CSRs and what they did with them, and how often each rule
 * fired. Written on the suggest path, so writes are group-committed: requests arriving while a
 * statement is in flight share the next one (one round trip and one commit for the lot), and ids
 * are made here, so a caller has them without waiting for a RETURNING.
 */
export function createSuggestionLog({ db, clock, maxBatch = 256 }: SuggestionLogDeps) {
  const queue: Pending[] = [];
  let writing: Promise<void> | undefined;

  async function writeBatch(batch: Pending[]): Promise<void> {
    try {
      await writeSuggestions(
        db,
        batch.flatMap((item) => item.suggestions),
        sumFirings(batch.flatMap((item) => item.firings)),
      );
      for (const item of batch) item.resolve();
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad request (an unknown listing, say) must not fail the others: write each alone.
      await Promise.all(
        batch.map((item) => writeSuggestions(db, item.suggestions, sumFirings(item.firings)).then(item.resolve, item.reject)),
      );
    }
  }

  function pump(): void {
    if (writing || queue.length === 0) return;
    const batch = queue.splice(0, maxBatch);
    writing = writeBatch(batch).finally(() => {
      writing = undefined;
      pump();
    });
  }

  function enqueue(suggestions: SuggestionInsert[], firings: FiringIncrement[]): Promise<void> {
    if (suggestions.length === 0 && firings.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      queue.push({ suggestions, firings, resolve, reject });
      // After the current I/O phase, so requests parsed together share a statement.
      if (!writing) setImmediate(pump);
    });
  }

  /** Waits until everything queued so far is written (feedback may follow a suggestion closely). */
  async function drain(): Promise<void> {
    while (writing || queue.length > 0) {
      if (!writing) pump();
      await writing?.catch(() => undefined);
    }
  }

  const firingsOf = (listingId: string, fired: readonly FiredRuleRef[], day: string): FiringIncrement[] =>
    fired.map((ref) => ({ listing_id: listingId, rule_id: ref.ruleId, rule_version: ref.version, day, fired: 1 }));

  return {
    /**
     * Logs the suggestions shown for one request and counts the rules that fired on it; returns
     * the suggestions' ids (in input order) once written. The console reports each id's fate to
     * POST /v1/suggestions/{id}/feedback.
     */
    async recordSuggestions(listingId: string, input: { ticketId?: string | null | undefined; fired?: readonly FiredRuleRef[]; suggestions: readonly NewSuggestion[] }): Promise<string[]> {
      const now = clock.now();
      const createdAt = now.toISOString();
      const rows = input.suggestions.map(
        (suggestion): SuggestionInsert => ({
          id: newId(),
          listing_id: listingId,
          ticket_id: input.ticketId ?? null,
          source: suggestion.source,
          rule_id: suggestion.ruleId ?? null,
          rule_version: suggestion.ruleId ? (suggestion.ruleVersion ?? null) : null,
          canned_response_id: suggestion.cannedResponseId ?? null,
          text: suggestion.text,
          score: suggestion.score ?? null,
          created_at: createdAt,
        }),
      );
      await enqueue(rows, firingsOf(listingId, input.fired ?? [], createdAt.slice(0, 10)));
      return rows.map((row) => row.id);
    },

    /** Counts rule firings that showed nothing (e.g. a tag or hand-off action, or replies ranked out). */
    async countFirings(listingId: string, fired: readonly FiredRuleRef[]): Promise<void> {
      await enqueue([], firingsOf(listingId, fired, clock.now().toISOString().slice(0, 10)));
    },

    drain,

    async get(listingId: string, id: string): Promise<SuggestionView> {
      await drain();
      const suggestion = await findSuggestion(db, listingId, id);
      if (!suggestion) throw new AppError('not_found', `Suggestion ${id} not found`);
      return suggestion;
    },

    /** Records what the CSR did with a suggestion; a later report replaces an earlier one. */
    async feedback(listingId: string, id: string, rawInput: SuggestionFeedbackInput, actor: Actor = {}): Promise<SuggestionView> {
      const input = suggestionFeedbackBody.parse(rawInput);
      await drain();
      return db.transaction(async (tx) => {
        const updated = await setFeedback(tx, listingId, id, { outcome: input.outcome, editedText: input.editedText ?? null, at: clock.now() });
        if (!updated) throw new AppError('not_found', `Suggestion ${id} not found`);
        await appendEvent(tx, {
          listingId,
          name: EventNames.suggestionFeedbackGiven,
          aggregateType: 'suggestion',
          aggregateId: id,
          payload: { ticketId: updated.ticketId, source: updated.source, ruleId: updated.ruleId, ruleVersion: updated.ruleVersion, outcome: input.outcome },
          actor,
        });
        return updated;
      });
    },

    /** Fired, shown, used, edited and ignored for one rule over whole UTC days. */
    async ruleStats(listingId: string, ruleId: string, rawQuery: RuleAnalyticsInput = {}): Promise<RuleAnalyticsView> {
      const query = ruleAnalyticsQuery.parse(rawQuery);
      await drain();
      const to = query.to ?? clock.now().toISOString().slice(0, 10);
      const from = query.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * DAY_MS).toISOString().slice(0, 10);
      const byVersion = await ruleCounts(db, listingId, ruleId, from, to);
      const total = byVersion.reduce(
        (sum, row) => ({ fired: sum.fired + row.fired, shown: sum.shown + row.shown, used: sum.used + row.used, edited: sum.edited + row.edited, ignored: sum.ignored + row.ignored }),
        { fired: 0, shown: 0, used: 0, edited: 0, ignored: 0 },
      );
      return {
        ruleId,
        from,
        to,
        ...total,
        noFeedback: total.shown - total.used - total.edited - total.ignored,
        rates: {
          shownPerFiring: ratio(total.shown, total.fired),
          accepted: ratio(total.used + total.edited, total.shown),
          used: ratio(total.used, total.shown),
          edited: ratio(total.edited, total.shown),
          ignored: ratio(total.ignored, total.shown),
        },
        byVersion,
      };
    },
  };
}

export type SuggestionLog = ReturnType<typeof createSuggestionLog>;
