import type { CannedService } from '../../canned/index.ts';
import type { ModelRegistry } from '../../models/registry/index.ts';
import { AppError, type Database, type Logger } from '../../platform/index.ts';
import type { FiredRuleRef, NewSuggestion, SuggestionLog } from '../log/index.ts';
import { templateReply } from '../replies/text.ts';
import type { ConversationMessage, FiredRule, RulesService } from '../rules/index.ts';
import type { ModelRef, ModelServing } from './model-host.ts';
import { type RankRequest, type SuggestedAction, type SuggestedReply, type SuggestRequest, type SuggestView } from './suggest.schemas.ts';

/**
 * POST /v1/suggest: one ranked list from the listing's published keyword rules (their reply sets
 * and canned content), and its learned reply model (canonical replies from its own history,
 * ranked by relevance and, with a promoted satisfaction model, by the predicted outcome after
 * each reply). Diversity: one suggestion per canonical reply. Confidence gate: learned
 * suggestions below `minScore` are not shown. Every shown suggestion is logged (ids for feedback).
 *
 * Models are loaded once per listing and version and re-checked against the registry every few
 * seconds, so a promotion reaches the api without a restart. The learned work (ranking, outcome
 * what-ifs) runs wherever `serving` runs it: model worker threads in the api (model-pool.ts), the
 * calling thread otherwise (model-host.ts).
 */

export interface SuggestServiceDeps {
  db: Database;
  rules: RulesService;
  canned: Pick<CannedService, 'get'>;
  log: Pick<SuggestionLog, 'recordSuggestions' | 'countFirings'>;
  registry: ModelRegistry;
  /** Where models are loaded and the learned work runs: model worker threads, or this thread (createInProcessServing). */
  serving: ModelServing;
  /** Default confidence gate for learned suggestions. */
  minScore?: number;
  /** How long a listing's model versions are trusted before asking the registry again. */
  modelsTtlMs?: number;
  /** The outcome model whose risk ranks and annotates suggestions. */
  outcomeTarget?: string;
  logger?: Logger;
  now?: () => number;
}

interface ListingModels {
  checkedAt: number;
  reply: ModelRef | undefined;
  outcome: ModelRef | undefined;
}

interface ConversationInput {
  ticketId: string | null;
  messages: ConversationMessage[];
  ticketSource: string | undefined;
  ticketRef: string | undefined;
  timezone: string | undefined;
}

const MAX_TICKET_MESSAGES = 50;

export function createSuggestService({
  db,
  rules,
  canned,
  log,
  registry,
  serving,
  minScore = 0.05,
  modelsTtlMs = 5000,
  outcomeTarget = 'satisfaction',
  logger,
  now = Date.now,
}: SuggestServiceDeps) {
  const listings = new Map<string, ListingModels>();
  const refreshing = new Map<string, Promise<ListingModels>>();
  const { servesOutcomes } = serving;
  // Versions lost with a worker: every listing loads its models again on its next request. A load
  // that was under way then may hold versions loaded into the lost worker: it is not kept.
  let generation = 0;
  serving.onReset(() => {
    generation++;
    listings.clear();
  });

  async function load(listingId: string, previous: ListingModels | undefined): Promise<ListingModels> {
    const startedIn = generation;
    const [replyVersion, outcomeVersion] = await Promise.all([registry.promotedVersion(listingId, 'reply'), servesOutcomes ? registry.promotedVersion(listingId, outcomeTarget) : undefined]);
    let reply = previous?.reply;
    if (replyVersion === undefined) reply = undefined;
    else if (reply?.version !== replyVersion) {
      const artifact = await registry.get(listingId, 'reply', replyVersion);
      const ref = { listingId, target: 'reply', version: replyVersion };
      await serving.load(ref, artifact.bytes, artifact.version.metadata);
      reply = ref;
    }
    let outcome = previous?.outcome;
    if (outcomeVersion === undefined || !servesOutcomes) outcome = undefined;
    else if (outcome?.version !== outcomeVersion) {
      const artifact = await registry.get(listingId, outcomeTarget, outcomeVersion);
      const ref = { listingId, target: outcomeTarget, version: outcomeVersion };
      try {
        await serving.load(ref, artifact.bytes, artifact.version.metadata);
        outcome = ref;
      } catch (error) {
        // Suggestions still work without outcome predictions (e.g. a model from older code).
        if (!(error instanceof AppError && error.code === 'model_incompatible')) throw error;
        logger?.warn({ listingId, target: outcomeTarget, version: outcomeVersion, err: error }, 'outcome model cannot be loaded; suggesting without it');
        outcome = undefined;
      }
    }
    // The versions replaced are no longer served (requests already sent to them have their answers).
    if (previous?.reply && previous.reply !== reply) serving.drop(previous.reply);
    if (previous?.outcome && previous.outcome !== outcome) serving.drop(previous.outcome);
    const loaded = { checkedAt: now(), reply, outcome };
    if (generation === startedIn) listings.set(listingId, loaded);
    return loaded;
  }

  /** The listing's models; a stale entry is served while its refresh runs in the background. */
  async function modelsOf(listingId: string): Promise<ListingModels> {
    const cached = listings.get(listingId);
    if (cached && now() - cached.checkedAt < modelsTtlMs) return cached;
    let pending = refreshing.get(listingId);
    if (!pending) {
      pending = load(listingId, cached).finally(() => refreshing.delete(listingId));
      refreshing.set(listingId, pending);
    }
    if (cached) {
      pending.catch((error: unknown) => logger?.error({ err: error, listingId }, 'reloading models failed'));
      return cached;
    }
    return pending;
  }

  async function conversationOf(listingId: string, input: { ticketId?: string | undefined; context?: Array<{ role: ConversationMessage['role']; text: string; channel?: string | undefined; ts?: string | undefined; seq?: number | undefined }> | undefined }): Promise<ConversationInput> {
    if (input.context) {
      return {
        ticketId: null,
        messages: input.context.map((message, index) => ({
          role: message.role,
          text: message.text,
          channel: message.channel ?? null,
          tsMs: message.ts ? Date.parse(message.ts) : null,
          seq: message.seq ?? index + 1,
        })),
        ticketSource: undefined,
        ticketRef: undefined,
        timezone: undefined,
      };
    }
    const { rows } = await db.query<{ source_channel: string; ref: string; timezone: string; seq: number | null; sender_role: ConversationMessage['role'] | null; text: string | null; channel: string | null; created_at: Date | null }>(
      `SELECT t.source_channel, t.ref, l.timezone, m.seq, m.sender_role, COALESCE(m.text, m.content->>'transcript', '') AS text, m.channel, m.created_at
         FROM tickets t JOIN listings l ON l.id = t.listing_id
         LEFT JOIN LATERAL (SELECT * FROM messages WHERE listing_id = t.listing_id AND ticket_id = t.id ORDER BY seq DESC LIMIT ${MAX_TICKET_MESSAGES}) m ON true
        WHERE t.listing_id = $1 AND t.id = $2
        ORDER BY m.seq`,
      [listingId, input.ticketId],
      { prepare: 'suggest_ticket_conversation' },
    );
    if (rows.length === 0) throw new AppError('not_found', `Ticket ${input.ticketId} not found`);
    const first = rows[0]!;
    const messages = rows
      .filter((row) => row.seq !== null)
      .map((row) => ({ role: row.sender_role!, text: row.text ?? '', channel: row.channel, tsMs: row.created_at?.getTime() ?? null, seq: row.seq! }));
    if (messages.length === 0) throw new AppError('unprocessable', `Ticket ${input.ticketId} has no messages to suggest a reply to`);
    return { ticketId: input.ticketId!, messages, ticketSource: first.source_channel, ticketRef: first.ref, timezone: first.timezone };
  }

  async function ruleSuggestions(listingId: string, fired: readonly FiredRule[]): Promise<{ replies: Array<Omit<SuggestedReply, 'id' | 'predictedOutcome'>>; actions: SuggestedAction[] }> {
    const replies: Array<Omit<SuggestedReply, 'id' | 'predictedOutcome'>> = [];
    const actions: SuggestedAction[] = [];
    for (const rule of fired) {
      const base = { ruleId: rule.ruleId, ruleVersion: rule.version, replyId: null, evidence: { matchedTerms: [...new Set(rule.matches.map((match) => match.term))] } };
      for (const action of rule.actions) {
        if (action.type === 'reply_set') {
          for (const reply of action.replies) replies.push({ ...base, text: reply.text, source: 'rule', score: 1, cannedResponseId: null });
        } else if (action.type === 'canned') {
          for (const id of action.cannedResponseIds) {
            const item = await canned.get(listingId, id).catch((error: unknown) => {
              // A canned response deleted after the rule was published is skipped, not an error.
              if (error instanceof AppError && error.code === 'not_found') return undefined;
              throw error;
            });
            if (item) replies.push({ ...base, text: item.text, source: 'canned', score: 1, cannedResponseId: id });
          }
        } else {
          const { type, ...detail } = action;
          actions.push({ type, ruleId: rule.ruleId, ruleName: rule.name, detail });
        }
      }
    }
    return { replies, actions };
  }

  return {
    /** `input` as the route's validation left it (zod's output: defaults applied). */
    async suggest(listingId: string, input: SuggestRequest): Promise<SuggestView> {
      const gate = input.minScore ?? minScore;
      const [conversation, models] = await Promise.all([conversationOf(listingId, input), modelsOf(listingId)]);
      const outcome = input.outcome ? models.outcome : undefined;
      const evaluation = await rules.evaluate(listingId, {
        messages: conversation.messages,
        ticketSource: conversation.ticketSource,
        ticketRef: conversation.ticketRef,
      });
      const fromRules = await ruleSuggestions(listingId, evaluation.fired);

      // Rules first, in priority order (a developer asked for them), then the learned replies by
      // score; one per canonical reply, nothing learned under the gate.
      const chosen: Array<Omit<SuggestedReply, 'id' | 'predictedOutcome'>> = [];
      const risks: Array<number | undefined> = [];
      const keys = new Set<string>();
      const take = (candidate: Omit<SuggestedReply, 'id' | 'predictedOutcome'>, clusterKey: string, risk?: number) => {
        if (chosen.length >= input.top || keys.has(clusterKey)) return;
        keys.add(clusterKey);
        chosen.push(candidate);
        risks.push(risk);
      };
      for (const reply of fromRules.replies) take(reply, templateReply(reply.text));
      const reply = chosen.length < input.top ? models.reply : undefined;
      if (reply || outcome) {
        const result = await serving.suggest({
          reply,
          outcome,
          messages: conversation.messages,
          sourceChannel: conversation.ticketSource ?? null,
          timeZone: conversation.timezone,
          top: input.top + keys.size,
          brand: input.brand,
          riskTexts: chosen.map((item) => item.text),
        });
        if (result.risks) result.risks.forEach((risk, index) => (risks[index] = risk));
        for (const suggestion of result.learned) {
          if (suggestion.score < gate) continue;
          take(
            {
              text: suggestion.text,
              source: 'learned',
              score: suggestion.score,
              ruleId: null,
              ruleVersion: null,
              cannedResponseId: null,
              replyId: suggestion.replyId,
              evidence: { timesGiven: suggestion.count, ...(suggestion.url ? { url: suggestion.url } : {}), ...(suggestion.docId ? { docId: suggestion.docId } : {}) },
            },
            templateReply(suggestion.text),
            suggestion.risk,
          );
        }
      }

      const fired: FiredRuleRef[] = evaluation.fired.filter((rule) => rule.ruleId !== null).map((rule) => ({ ruleId: rule.ruleId!, version: rule.version ?? 0 }));
      const logged: NewSuggestion[] = chosen.map((item) => ({ source: item.source, text: item.text, score: item.score, ruleId: item.ruleId, ruleVersion: item.ruleVersion, cannedResponseId: item.cannedResponseId }));
      const ids = logged.length > 0 ? await log.recordSuggestions(listingId, { ticketId: conversation.ticketId, fired, suggestions: logged }) : (await log.countFirings(listingId, fired), []);
      return {
        ticketId: conversation.ticketId,
        suggestions: chosen.map((item, index) => {
          const risk = risks[index];
          return { ...item, id: ids[index]!, predictedOutcome: outcome && risk !== undefined ? { target: outcomeTarget, modelVersion: outcome.version, risk } : null };
        }),
        actions: fromRules.actions,
        models: { reply: models.reply?.version ?? null, outcome: outcome?.version ?? null },
        rulesRevision: evaluation.revision,
      };
    },

    /** The promoted outcome model's risk after a conversation (hand-off assessment); undefined without a model. */
    async outcomeRisk(listingId: string, messages: ReadonlyArray<{ role: ConversationMessage['role']; text: string }>): Promise<number | undefined> {
      const outcome = (await modelsOf(listingId)).outcome;
      if (!outcome || messages.length === 0) return undefined;
      return serving.risk(
        outcome,
        messages.map((message) => ({ role: message.role, text: message.text })),
      );
    },

    /** Tags of the published rules firing on a ticket's conversation (auto-action policies). */
    async ticketRuleTags(listingId: string, ticketId: string): Promise<string[]> {
      const conversation = await conversationOf(listingId, { ticketId });
      const evaluation = await rules.evaluate(listingId, { messages: conversation.messages, ticketSource: conversation.ticketSource, ticketRef: conversation.ticketRef });
      return [...new Set(evaluation.fired.flatMap((rule) => rule.actions.flatMap((action) => (action.type === 'tag' ? action.tags : []))))];
    },

    /** Scores caller-given candidates for a context with the listing's reply model. `input` as the route's validation left it. */
    async rank(listingId: string, input: RankRequest): Promise<{ scores: number[]; model: number }> {
      const [conversation, models] = await Promise.all([conversationOf(listingId, input), modelsOf(listingId)]);
      if (!models.reply) throw new AppError('no_promoted_model', 'No reply model is promoted for this listing: train one (loopwise train --target reply) and promote it');
      const scores = await serving.rank(models.reply, conversation.messages, input.candidates, input.brand);
      return { scores, model: models.reply.version };
    },

    /** The model worker threads' runtime figures (GET /v1/admin/runtime). */
    modelThreads: () => serving.threads(),

    /** Stops the model workers, if any. */
    close: () => serving.close(),
  };
}

export type SuggestService = ReturnType<typeof createSuggestService>;
