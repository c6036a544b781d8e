import { analyzeMessage, ngramCounts, type AnalyzedMessage, type FeatureMessage } from '../features/index.ts';
import { AppError } from '../platform/index.ts';
import { ArtifactFormatError, decodeArtifact, type ArtifactContent } from './artifact.ts';
import { decide, riskOf } from './decision.ts';
import { describeFeature, type Driver } from './drivers.ts';
import {
  CATEGORY_COLUMNS,
  ConversationState,
  RAW_COLUMNS,
  SPARSE_SLOTS,
  createSparseRow,
  denseLayout,
  encodeSparse,
  modelBucket,
  modelFeatureSet,
  readRaw,
  standardize,
  summarize,
  type MessageSummary,
  type SparseRow,
} from './encoding.ts';
import type { ModelVersionMetadata } from './registry/index.ts';
import { compileScorer } from './scorer.ts';
import type { LabelValue, TargetSpec } from './targets.ts';

/**
 * Serving: a model artifact loaded into a compiled scorer, and per-conversation sessions that push
 * messages, predict, explain, and score "what if this reply were sent next". The session runs the
 * same ConversationState and encoding functions that produced the training rows.
 */

export interface Prediction {
  /** Multi-class targets: the probability of each class, in `target.classes` order (satisfaction: ratings 1…5). */
  probs?: number[];
  /** Binary targets: P(true) (resolved, converted, …). */
  p?: number;
  /** P(bad outcome): satisfaction ≤ 2, not resolved, not converted, or the target's risk classes. */
  risk: number;
  /** The class the decision rule picks. */
  predicted: LabelValue;
  /** The inputs that moved this prediction most, largest first. */
  drivers: Driver[];
}

export interface SessionOptions {
  /** The conversation's source channel (source.channel), when known. */
  sourceChannel?: string | null;
  /** The listing's IANA time zone for the calendar features (UTC by default). */
  timeZone?: string;
}

/** A candidate reply analysed once, reusable across sessions (the suggestion engine's reply index). */
export interface PreparedCandidate {
  readonly text: string;
  readonly role: FeatureMessage['role'];
  /** @internal */
  readonly analyzed: AnalyzedMessage;
  /** @internal */
  readonly grams: Map<number, number>;
  /** @internal */
  readonly summary: MessageSummary;
}

export interface ConversationSession {
  push(message: FeatureMessage): void;
  /** Messages pushed so far. */
  readonly length: number;
  /** Probabilities, risk, decision and the top `drivers` (default 5; 0 for none). */
  predict(options?: { drivers?: number }): Prediction;
  /** Just the risk: no allocation. */
  risk(): number;
  /**
   * The risk if `candidate` were sent next (not pushed): what the suggestion engine ranks replies
   * by. Allocation-free with a PreparedCandidate; `probs`, when given, receives the class
   * probabilities.
   */
  predictWithCandidate(candidate: string | PreparedCandidate, role?: FeatureMessage['role'], probs?: Float64Array): number;
  /** An independent copy of the session (branching a conversation). */
  clone(): ConversationSession;
}

export interface OutcomeModel {
  readonly target: TargetSpec;
  readonly kind: string;
  readonly featureSet: string;
  readonly metadata: ModelVersionMetadata;
  startConversation(options?: SessionOptions): ConversationSession;
  /** Analyse a candidate reply once for many `predictWithCandidate` calls. */
  prepareCandidate(text: string, role?: FeatureMessage['role']): PreparedCandidate;
  /** One-shot: the prediction after a whole context (batch scoring). */
  predictContext(messages: readonly FeatureMessage[], options?: SessionOptions & { drivers?: number }): Prediction;
}

/**
 * Loads an artifact. A model trained on another feature set (the registry's features or this
 * code's encoding changed since) refuses to load with `model_incompatible`: its weights would be
 * read against inputs that mean something else.
 */
export function loadOutcomeModel(bytes: Uint8Array, metadata: ModelVersionMetadata): OutcomeModel {
  if (metadata.featureSet !== modelFeatureSet) {
    throw new AppError(
      'model_incompatible',
      `the model was trained on feature set ${metadata.featureSet}, this code computes ${modelFeatureSet}: retrain it (loopwise train)`,
      { modelFeatureSet: metadata.featureSet, runningFeatureSet: modelFeatureSet },
    );
  }
  let content: ArtifactContent;
  try {
    content = decodeArtifact(bytes);
  } catch (error) {
    if (error instanceof ArtifactFormatError) throw new AppError('model_incompatible', `the model artifact cannot be read: ${error.message}`);
    throw error;
  }
  if (content.featureSet !== modelFeatureSet) {
    throw new AppError('model_incompatible', `the model artifact was built for feature set ${content.featureSet}, this code computes ${modelFeatureSet}`, {
      modelFeatureSet: content.featureSet,
      runningFeatureSet: modelFeatureSet,
    });
  }
  return createOutcomeModel(content, metadata);
}

function createOutcomeModel(content: ArtifactContent, metadata: ModelVersionMetadata): OutcomeModel {
  const scorer = compileScorer(content.config, content.weights);
  const { target, dense: spec, config } = content;
  const vocabulary = new Map(content.vocabulary);
  const layout = denseLayout(spec);
  // Dense column → its feature group, and where its raw value is.
  const groups = [...new Set(layout.map((column) => column.feature))];
  const groupOf = Int32Array.from(layout, (column) => groups.indexOf(column.feature));
  const rawIndex = new Map(RAW_COLUMNS.map((column, i) => [column.name, i]));
  const categoryIndex = new Map(CATEGORY_COLUMNS.map((column, i) => [column.name, i]));
  const slotEnabled = SPARSE_SLOTS.map((slot) => content.slots.includes(slot));
  const riskClasses = target.riskClasses;

  const prepare = (text: string, role: FeatureMessage['role'] = 'csr'): PreparedCandidate => {
    const analyzed = analyzeMessage({ role, kind: 'text', channel: null, tsMs: null, text, hasAttachment: false }, 1);
    const grams = ngramCounts(analyzed.words);
    return { text, role, analyzed, grams, summary: summarize(analyzed, grams) };
  };

  class Session implements ConversationSession {
    readonly state: ConversationState;
    private scratch: ConversationState | undefined;
    private readonly raw = new Float64Array(RAW_COLUMNS.length);
    private readonly categories = new Array<string | null>(CATEGORY_COLUMNS.length).fill(null);
    private readonly dense = new Float32Array(spec.width);
    private readonly sparse: SparseRow = createSparseRow(512);
    private readonly probs = new Float64Array(config.classes);
    private readonly direction = new Float64Array(scorer.width);
    private readonly candidate: { summary: MessageSummary; counts: ConversationState } = { summary: undefined as unknown as MessageSummary, counts: undefined as unknown as ConversationState };

    constructor(state: ConversationState) {
      this.state = state;
    }

    get length() {
      return this.state.length;
    }

    push(message: FeatureMessage): void {
      this.state.push(message);
    }

    private score(state: ConversationState, candidate?: { summary: MessageSummary; counts: ConversationState }): Float64Array {
      readRaw(state, this.raw, this.categories);
      standardize(spec, this.raw, this.categories, this.dense);
      encodeSparse(state, config.buckets, this.sparse, slotEnabled, candidate);
      return scorer.probs(this.dense, this.sparse.idx, this.sparse.val, this.sparse.nnz, this.probs);
    }

    risk(): number {
      return riskOf(this.score(this.state), riskClasses);
    }

    predict(options: { drivers?: number } = {}): Prediction {
      const probs = this.score(this.state);
      const risk = riskOf(probs, riskClasses);
      const predicted = target.classes[decide(probs, content.decisionBias)]!;
      const drivers = (options.drivers ?? 5) > 0 ? this.drivers(options.drivers ?? 5) : [];
      return {
        ...(target.kind === 'binary' ? { p: probs[1]! } : { probs: Array.from(probs) }),
        risk,
        predicted,
        drivers,
      };
    }

    /** Gradient × input of the risk, per feature group and n-gram slot (after `score`). */
    private drivers(limit: number): Driver[] {
      scorer.riskDirection(riskClasses, this.direction);
      const contributions = new Float64Array(groups.length);
      for (let j = 0; j < this.dense.length; j++) {
        const x = this.dense[j]!;
        if (x !== 0) contributions[groupOf[j]!]! += x * scorer.denseDot(j, this.direction);
      }
      const drivers: Driver[] = groups.map((feature, g) => ({ feature, value: this.valueOf(feature), contribution: contributions[g]!, text: '' }));
      let from = 0;
      SPARSE_SLOTS.forEach((slot, s) => {
        const to = this.sparse.slotEnd[s]!;
        if (!slotEnabled[s]) return;
        let total = 0;
        for (let i = from; i < to; i++) total += this.sparse.val[i]! * scorer.sparseDot(this.sparse.idx[i]!, this.direction);
        from = to;
        if (total === 0) return;
        drivers.push({ feature: `words:${slot}`, value: this.topWords(s, total), contribution: total, text: '' });
      });
      return drivers
        .filter((driver) => Math.abs(driver.contribution) > 1e-6)
        .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
        .slice(0, limit)
        .map((driver) => ({ ...driver, contribution: Math.round(driver.contribution * 1e6) / 1e6, text: describeFeature(driver.feature, driver.value) }));
    }

    private valueOf(feature: string): number | string | boolean | null {
      const r = rawIndex.get(feature);
      if (r !== undefined) {
        const value = this.raw[r]!;
        return Number.isNaN(value) ? null : value;
      }
      const c = categoryIndex.get(feature);
      return c === undefined ? null : (this.categories[c] ?? null);
    }

    /** The word or word pair of slot `s` that pushed most in the slot's overall direction. */
    private topWords(s: number, total: number): string | null {
      const grams = slotGrams(this.state, SPARSE_SLOTS[s]!);
      if (!grams) return null;
      let best: string | null = null;
      let bestScore = 0;
      for (const bucket of grams.keys()) {
        const words = vocabulary.get(bucket);
        if (words === undefined) continue;
        const push = scorer.sparseDot(modelBucket(s, bucket, config.buckets), this.direction) * Math.sign(total);
        if (push > bestScore) {
          bestScore = push;
          best = words;
        }
      }
      return best;
    }

    predictWithCandidate(candidate: string | PreparedCandidate, role: FeatureMessage['role'] = 'csr', probs?: Float64Array): number {
      const prepared = typeof candidate === 'string' ? prepare(candidate, role) : candidate;
      this.scratch ??= new ConversationState({}, this.state.context);
      this.scratch.copyFrom(this.state, false);
      const analyzed = prepared.analyzed;
      // The reply goes out now, on the conversation's channel; the prepared analysis is reused.
      analyzed.seq = this.state.length + 1;
      analyzed.channel = this.state.lastChannel;
      analyzed.tsMs = null;
      this.scratch.pushAnalyzed(analyzed, prepared.grams, false, prepared.summary);
      this.candidate.summary = prepared.summary;
      this.candidate.counts = this.state;
      const out = this.score(this.scratch, this.candidate);
      if (probs) probs.set(out);
      return riskOf(out, riskClasses);
    }

    clone(): ConversationSession {
      return new Session(this.state.clone());
    }
  }

  return {
    target,
    kind: config.kind,
    featureSet: content.featureSet,
    metadata,
    startConversation: (options = {}) => new Session(new ConversationState(options)),
    prepareCandidate: prepare,
    predictContext(messages, options = {}) {
      const session = new Session(new ConversationState(options));
      for (const message of messages) session.push(message);
      return session.predict(options.drivers === undefined ? {} : { drivers: options.drivers });
    },
  };
}

/** The registry n-gram counts behind a slot (to put a driver into words). */
function slotGrams(state: ConversationState, slot: (typeof SPARSE_SLOTS)[number]): ReadonlyMap<number, number> | undefined {
  switch (slot) {
    case 'csr_last':
      return state.lastCsr?.grams;
    case 'customer_last':
      return state.lastCustomer?.grams;
    case 'csr_all':
      return state.csrAll;
    case 'customer_all':
      return state.customerAll;
    case 'csr_open':
      return state.lastCsr?.opening;
    case 'csr_close':
      return state.lastCsr?.closing;
    case 'customer_open':
      return state.lastCustomer?.opening;
  }
}
