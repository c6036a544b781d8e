import type { AnalyticsOwner } from '../../analytics-store/index.ts';
import { readMessages, type StoredMessage } from '../../features/index.ts';
import { createTimeSlice } from '../../platform/index.ts';
import { compileRules, type RuleSource } from './compile.ts';
import { createConversation } from './conversation.ts';
import { collectHits, evaluateRules, type RuleMatch } from './evaluate.ts';
import type { OutcomeStats, RuleReplayView } from './evaluation.schemas.ts';
import { listReplayConversations, type ReplayConversation } from './replay.store.ts';

export interface ReplayOptions {
  fromMs?: number | undefined;
  toMs?: number | undefined;
  limit: number;
  sample: number;
  /** Business hours of the listing (today's schedule), judged at each message's time. */
  isOpen(at: Date): boolean;
}

/**
 * Conversations whose messages are read and evaluated together; the owner is released in between.
 * A query's rows become JS objects in one synchronous step (~6 ms per 1,000 messages), so a chunk
 * is kept small: 500 SGD dialogues (12,800 messages) held the event loop for ~75 ms.
 */
const CHUNK = 100;

class OutcomeCounter {
  conversations = 0;
  private resolvedLabelled = 0;
  private resolvedTrue = 0;
  private satisfactionLabelled = 0;
  private satisfactionSum = 0;
  private convertedLabelled = 0;
  private convertedTrue = 0;

  add(conversation: ReplayConversation): void {
    this.conversations++;
    if (conversation.resolved !== null) {
      this.resolvedLabelled++;
      if (conversation.resolved) this.resolvedTrue++;
    }
    if (conversation.satisfaction !== null) {
      this.satisfactionLabelled++;
      this.satisfactionSum += conversation.satisfaction;
    }
    if (conversation.converted !== null) {
      this.convertedLabelled++;
      if (conversation.converted) this.convertedTrue++;
    }
  }

  stats(): OutcomeStats {
    const share = (part: number, whole: number) => (whole > 0 ? part / whole : null);
    return {
      conversations: this.conversations,
      resolved: { labelled: this.resolvedLabelled, rate: share(this.resolvedTrue, this.resolvedLabelled) },
      satisfaction: { labelled: this.satisfactionLabelled, mean: share(this.satisfactionSum, this.satisfactionLabelled) },
      converted: { labelled: this.convertedLabelled, rate: share(this.convertedTrue, this.convertedLabelled) },
    };
  }
}

/**
 * Runs one rule over a listing's past conversations in the analytics store, as if suggestions had
 * been asked for after every message: would it have fired, where first, and how did the
 * conversations where it fired end compared with the rest. Reads DuckDB through its owner, a
 * chunk at a time, so live analytics work can run in between.
 */
export async function replayRule(analytics: AnalyticsOwner, listingId: string, source: RuleSource, options: ReplayOptions): Promise<RuleReplayView> {
  const started = performance.now();
  const set = compileRules([source]);
  const rule = set.rules[0]!;
  const headers = await analytics.use((db) => listReplayConversations(db, listingId, { fromMs: options.fromMs, toMs: options.toMs, limit: options.limit + 1 }));
  const truncated = headers.length > options.limit;
  const scanned = headers.slice(0, options.limit);

  const fired = new OutcomeCounter();
  const notFired = new OutcomeCounter();
  const sample: Array<{ interactionId: string; seq: number; matches: RuleMatch[] }> = [];
  let firings = 0;
  // Stemming and evaluating after every message is synchronous (~0.4 ms per SGD dialogue): the
  // api serves live requests on this event loop, so the work pauses every few milliseconds (a
  // chunk of 500 dialogues held it for ~210 ms).
  const slice = createTimeSlice();

  for (let start = 0; start < scanned.length; start += CHUNK) {
    const chunk = scanned.slice(start, start + CHUNK);
    const messages = await analytics.use((db) => readMessages(db, listingId, chunk.map((conversation) => conversation.id)));
    const byConversation = new Map<string, StoredMessage[]>();
    for (const message of messages) {
      const list = byConversation.get(message.interactionId);
      if (list) list.push(message);
      else byConversation.set(message.interactionId, [message]);
    }
    for (const header of chunk) {
      if (slice.due()) await slice.pause();
      const stored = byConversation.get(header.id) ?? [];
      const conversation = createConversation(stored.map((message) => ({ role: message.role, text: message.text, channel: message.channel, tsMs: message.tsMs, seq: message.seq })));
      const hits = collectHits(set, conversation, stored.map((_, index) => index));
      let first: { seq: number; matches: RuleMatch[] } | undefined;
      // Without a hit a keyword rule cannot fire after any message.
      if (!rule.indexed || hits.size > 0) {
        const context = { ticketSource: header.sourceChannel ?? undefined, isOpen: options.isOpen };
        for (let trigger = 0; trigger < conversation.length; trigger++) {
          const evaluation = evaluateRules(set, conversation, context, { trigger, hits });
          const result = evaluation.fired[0];
          if (!result) continue;
          firings++;
          first ??= { seq: conversation.seq(trigger), matches: result.matches };
        }
      }
      if (first) {
        fired.add(header);
        if (sample.length < options.sample) sample.push({ interactionId: header.id, ...first });
      } else {
        notFired.add(header);
      }
    }
  }

  const notes: string[] = [];
  const types = new Set(source.definition.conditions.map((condition) => condition.type));
  if (types.has('outcome_risk')) notes.push('outcome_risk conditions never hold in a replay: past conversations have no live predictions');
  if (types.has('business_hours')) notes.push("business_hours is judged with the listing's current schedule and holidays, at each message's time");
  if (types.has('channel')) notes.push('channel conditions read the channel recorded on each past message (missing for some sources)');
  return {
    scanned: scanned.length,
    truncated,
    fired: fired.conversations,
    firedRate: scanned.length > 0 ? fired.conversations / scanned.length : null,
    firings,
    sample,
    outcomes: { fired: fired.stats(), notFired: notFired.stats() },
    notes,
    tookMs: Math.round(performance.now() - started),
  };
}
