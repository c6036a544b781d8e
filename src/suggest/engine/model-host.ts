import type { FeatureMessage } from '../../features/index.ts';
import type { ModelVersionMetadata } from '../../models/registry/index.ts';
import { AppError, runSliced, type RuntimeStatsView } from '../../platform/index.ts';
// The serving halves of the reply model only (no trainer, no tfjs).
import { decodeReplyModelSteps } from '../replies/artifact.ts';
import { buildReplyRanker, type ReplyRanker, type Suggestion } from '../replies/ranker.ts';
import type { ConversationMessage } from '../rules/index.ts';

/**
 * The learned half of a suggest request — reply ranking, outcome what-ifs, risk — over the model
 * versions a process has loaded. The same code runs in the api's thread (SUGGEST_WORKERS=0) and in
 * the model worker threads (model-host.worker.ts); everything that crosses between them is plain
 * data (structured clone), so the two cannot drift.
 */

/** A promoted model version of a listing. */
export interface ModelRef {
  listingId: string;
  target: string;
  version: number;
}

export const modelKey = (ref: ModelRef): string => `${ref.listingId}\u0000${ref.target}\u0000${ref.version}`;

/** A session of the outcome model (src/models), as suggestions use it. */
export interface OutcomeScoring {
  startConversation(options: { sourceChannel?: string | null; timeZone?: string }): {
    push(message: FeatureMessage): void;
    /** P(bad outcome) after the messages pushed so far. */
    risk(): number;
    predictWithCandidate(candidate: unknown): number;
  };
  prepareCandidate(text: string): unknown;
}
export type OutcomeScoringLoader = (bytes: Uint8Array, metadata: ModelVersionMetadata) => OutcomeScoring | Promise<OutcomeScoring>;

export interface LearnedRequest {
  /** The reply model to rank with; absent: no learned suggestions (risks only). */
  reply?: ModelRef | undefined;
  /** The outcome model for risk-if-sent; absent: no risks. */
  outcome?: ModelRef | undefined;
  messages: ConversationMessage[];
  sourceChannel?: string | null | undefined;
  timeZone?: string | undefined;
  top: number;
  brand?: string | null | undefined;
  /** Texts (the rules' replies) whose risk-if-sent the caller wants too. */
  riskTexts: string[];
}

export interface LearnedResult {
  /** Best first; each with `risk` when an outcome model was given. */
  learned: Array<Suggestion & { risk?: number }>;
  /** Risk-if-sent of each of `riskTexts`; null without an outcome model. */
  risks: number[] | null;
}

/** What a host answers; async because a worker pool answers across threads. */
export interface ModelServing {
  /** Whether outcome models can be loaded (risk-if-sent); without, the service never asks for one. */
  readonly servesOutcomes: boolean;
  /** Loads a version (decoded and built in time slices, so requests keep being served); resolves when it serves. */
  load(ref: ModelRef, bytes: Uint8Array, metadata: ModelVersionMetadata): Promise<void>;
  /** Forgets a version no longer promoted. */
  drop(ref: ModelRef): void;
  suggest(request: LearnedRequest): Promise<LearnedResult>;
  rank(reply: ModelRef, messages: ConversationMessage[], candidates: string[], brand?: string | null): Promise<number[]>;
  /** P(bad outcome) after a conversation. */
  risk(outcome: ModelRef, messages: ConversationMessage[]): Promise<number>;
  /** Each model worker thread's GC pauses, event-loop figures and heap (none when serving in the request thread). */
  threads(): Promise<RuntimeStatsView[]>;
  /** Called when loaded versions were lost (a worker died): everything must be loaded again. */
  onReset(listener: () => void): void;
  close(): Promise<void>;
}

/** Prepared what-if candidates kept per outcome model (canonical replies repeat across requests). */
const MAX_PREPARED_CANDIDATES = 50_000;

interface LoadedOutcome {
  model: OutcomeScoring;
  prepared: Map<string, unknown>;
}

const featureMessage = (message: ConversationMessage): FeatureMessage => ({
  role: message.role,
  kind: 'text',
  channel: message.channel ?? null,
  tsMs: message.tsMs ?? null,
  text: message.text,
  hasAttachment: false,
});

const notLoaded = (ref: ModelRef) => new AppError('unavailable', `model ${ref.target} v${ref.version} of listing ${ref.listingId} is not loaded in this process`);

/** The loaded versions and the per-request work over them; synchronous except loading. */
export function createModelHost(loadOutcome: OutcomeScoringLoader | undefined) {
  const replies = new Map<string, ReplyRanker>();
  const outcomes = new Map<string, LoadedOutcome>();

  const rankerOf = (ref: ModelRef) => {
    const ranker = replies.get(modelKey(ref));
    if (!ranker) throw notLoaded(ref);
    return ranker;
  };
  const outcomeOf = (ref: ModelRef) => {
    const outcome = outcomes.get(modelKey(ref));
    if (!outcome) throw notLoaded(ref);
    return outcome;
  };

  /** Risk-if-sent for any text, from one session over the conversation (memoised per request). */
  function riskIfSent(outcome: LoadedOutcome, request: Pick<LearnedRequest, 'messages' | 'sourceChannel' | 'timeZone'>): (text: string) => number {
    const session = outcome.model.startConversation({ sourceChannel: request.sourceChannel ?? null, ...(request.timeZone ? { timeZone: request.timeZone } : {}) });
    for (const message of request.messages) session.push(featureMessage(message));
    // The learned ranking asks for every candidate, the response again for the chosen ones.
    const risks = new Map<string, number>();
    return (text) => {
      let risk = risks.get(text);
      if (risk !== undefined) return risk;
      let prepared = outcome.prepared.get(text);
      if (prepared === undefined) {
        prepared = outcome.model.prepareCandidate(text);
        if (outcome.prepared.size >= MAX_PREPARED_CANDIDATES) outcome.prepared.clear();
        outcome.prepared.set(text, prepared);
      }
      risk = session.predictWithCandidate(prepared);
      risks.set(text, risk);
      return risk;
    };
  }

  return {
    async load(ref: ModelRef, bytes: Uint8Array, metadata: ModelVersionMetadata): Promise<void> {
      const key = modelKey(ref);
      if (ref.target === 'reply') {
        if (replies.has(key)) return;
        replies.set(key, await buildReplyRanker(await runSliced(decodeReplyModelSteps(bytes)), { retainParts: false }));
      } else {
        if (outcomes.has(key)) return;
        if (!loadOutcome) throw new AppError('unavailable', 'this process serves no outcome models');
        outcomes.set(key, { model: await loadOutcome(bytes, metadata), prepared: new Map() });
      }
    },

    drop(ref: ModelRef): void {
      const key = modelKey(ref);
      replies.delete(key);
      outcomes.delete(key);
    },

    suggest(request: LearnedRequest): LearnedResult {
      const risk = request.outcome ? riskIfSent(outcomeOf(request.outcome), request) : undefined;
      let learned: LearnedResult['learned'] = [];
      if (request.reply) {
        learned = rankerOf(request.reply).suggest(
          request.messages.map((message) => ({ role: message.role, text: message.text })),
          {
            top: request.top,
            ...(request.brand !== undefined ? { brand: request.brand } : {}),
            ...(risk ? { outcomeAfter: (text: string) => 1 - risk(text) } : {}),
          },
        );
        if (risk) learned = learned.map((suggestion) => ({ ...suggestion, risk: risk(suggestion.text) }));
      }
      return { learned, risks: risk ? request.riskTexts.map(risk) : null };
    },

    rank(reply: ModelRef, messages: ConversationMessage[], candidates: string[], brand?: string | null): number[] {
      return rankerOf(reply).rank(
        messages.map((message) => ({ role: message.role, text: message.text })),
        candidates,
        brand,
      );
    },

    risk(outcome: ModelRef, messages: ConversationMessage[]): number {
      const session = outcomeOf(outcome).model.startConversation({});
      for (const message of messages) session.push(featureMessage(message));
      return session.risk();
    },
  };
}

export type ModelHost = ReturnType<typeof createModelHost>;

/** The host in the calling thread (SUGGEST_WORKERS=0; the CLI and tests of the engine itself). */
export function createInProcessServing(loadOutcome: OutcomeScoringLoader | undefined): ModelServing {
  const host = createModelHost(loadOutcome);
  return {
    servesOutcomes: loadOutcome !== undefined,
    load: (ref, bytes, metadata) => host.load(ref, bytes, metadata),
    drop: (ref) => host.drop(ref),
    suggest: async (request) => host.suggest(request),
    rank: async (reply, messages, candidates, brand) => host.rank(reply, messages, candidates, brand),
    risk: async (outcome, messages) => host.risk(outcome, messages),
    threads: async () => [],
    onReset: () => undefined,
    close: async () => undefined,
  };
}
