import type { AnalyticsDb } from '../analytics-store/index.ts';
import { encodeArtifact } from './artifact.ts';
import { decide } from './decision.ts';
import { extractExamples, resolveTarget, toTrainingSet, type ExampleSet } from './dataset.ts';
import { featureLabel } from './drivers.ts';
import { ENCODING_VERSION, SPARSE_SLOTS, modelBucket, modelFeatureSet, type SparseSlot } from './encoding.ts';
import {
  DEFAULT_TRAINING,
  classificationMetrics,
  earlyWarning,
  indicesWhere,
  meanMetrics,
  permutationImportance,
  planSplits,
  scoreSet,
  slotMask,
  trainOn,
  type ClassificationMetrics,
  type EarlyWarningPoint,
  type SplitKind,
  type Teacher,
  type TrainedModel,
  type TrainingConfig,
} from './training/evaluate.ts';
import type { ModelKind } from './model.types.ts';
import type { ModelVersionMetadata } from './registry/index.ts';
import type { Placement, TargetSpec } from './targets.ts';
import { initTensorflow, type TfBackendName } from './training/tf-runtime.ts';

/**
 * Training an outcome model for a listing: read its labelled conversations from the analytics
 * store, evaluate (a later time period, or k-fold by conversation), train the final model on
 * everything, and hand back the artifact with its metadata for the registry.
 */

export interface TrainOutcomeOptions {
  listingId: string;
  target: string;
  at?: Placement;
  model?: ModelKind;
  /** auto: time when ≥ 90 % of the conversations have timestamps, else kfold. */
  split?: SplitKind | 'auto';
  folds?: number;
  seed?: number;
  /** Which class counts as the bad outcome, for custom labels (see targets.ts). */
  riskClass?: string;
  labelRule?: TargetSpec['labelRule'];
  /** Turn targets: also learn the conversation's own label at its end (default: yes when there is one). */
  includeOutcome?: boolean;
  /** The listing's time zone for the calendar features. */
  timeZone?: string;
  /** Overrides of the model's training settings (evaluate.ts DEFAULT_TRAINING). */
  training?: Partial<TrainingConfig>;
  /** Evaluate only: no final model, no artifact (`eval satisfaction`). */
  evaluateOnly?: boolean;
  onProgress?: (progress: TrainProgress) => void;
}

export interface TrainProgress {
  phase: 'read' | 'evaluate' | 'final';
  /** Fraction of the whole job done, 0–1. */
  fraction: number;
  detail: string;
}

export interface GlobalDriver {
  feature: string;
  /** Mean rise in held-out log loss when the feature is shuffled (permutation importance). */
  importance: number;
  text: string;
}

export interface OutcomeEvaluation {
  listingId: string;
  target: TargetSpec;
  split: { kind: SplitKind; folds: number; boundary?: string; testExamples: number; testConversations: number };
  /** The per-fold metrics' mean (what the USS protocol reports); with one fold, that fold's. */
  metrics: Record<string, number | null>;
  /** All held-out predictions together. */
  pooled: ClassificationMetrics;
  folds: ClassificationMetrics[];
  /** The conversation outcome against the state after its first k messages. */
  earlyWarning: EarlyWarningPoint[];
  drivers: GlobalDriver[];
  examples: number;
  conversations: number;
  classCounts: number[];
}

export interface OutcomeModelMetadata extends ModelVersionMetadata {
  kind: ModelKind;
  featureSet: string;
  encodingVersion: number;
  target: string;
  at: Placement;
  targetKind: TargetSpec['kind'];
  classes: TargetSpec['classes'];
  riskClasses: number[];
  labelRule: TargetSpec['labelRule'];
  softLabels: boolean;
  trainingDataHash: string;
  data: { conversations: number; examples: number; classCounts: number[] };
  metrics: {
    split: OutcomeEvaluation['split'];
    headline: Record<string, number | null>;
    earlyWarning: EarlyWarningPoint[];
    calibration: ClassificationMetrics['calibration'];
    drivers: GlobalDriver[];
  };
  config: TrainingConfig & { epochsTrained: number; decision: TrainedModel['decision'] };
  backend: TfBackendName;
  timings: { readSeconds: number; evaluateSeconds: number; finalSeconds: number; totalSeconds: number };
  createdAt: string;
}

export interface TrainedOutcome {
  artifact: Uint8Array;
  metadata: OutcomeModelMetadata;
  evaluation: OutcomeEvaluation;
}

export const EARLY_WARNING_K = [1, 2, 3, 5, 10] as const;

/** Progress within one trainOn call: choosing the epoch count is the first half, fitting the second. */
const within = (phase: 'select' | 'final', epoch: number, epochs: number) => {
  const done = Math.min(1, epoch / Math.max(epochs, 1));
  return phase === 'select' ? 0.5 * done : 0.5 + 0.5 * done;
};
const describePhase = (phase: 'select' | 'final', epoch: number) => (phase === 'select' ? `choosing the epoch count (epoch ${epoch})` : 'fitting');

/**
 * The n-gram slots by default. A turn label is about the last exchange, so its last messages; the
 * bags of everything said so far overfit there (5-fold on USS MultiWOZ, before-turn: AUC 0.68 with
 * them against 0.69 without). Before the turn, how the CSR's reply opens and ends helps a little
 * (what kind of reply it is); after it, the customer's own reaction carries the signal and the
 * CSR-reply edges only add noise (after-turn AUC 0.814 with the three slots below, 0.805 with all
 * five). A conversation outcome is about everything said.
 */
export function defaultSlots(at: Placement): SparseSlot[] {
  if (at === 'every-message') return [...SPARSE_SLOTS];
  if (at === 'after-turn') return ['csr_last', 'customer_last', 'customer_open'];
  return ['csr_last', 'customer_last', 'csr_open', 'csr_close', 'customer_open'];
}
const VOCABULARY_KEPT = 4000;
const DRIVERS_KEPT = 20;

export async function trainOutcomeModel(db: AnalyticsDb, options: TrainOutcomeOptions & { evaluateOnly: true }): Promise<{ evaluation: OutcomeEvaluation }>;
export async function trainOutcomeModel(db: AnalyticsDb, options: TrainOutcomeOptions): Promise<TrainedOutcome>;
export async function trainOutcomeModel(db: AnalyticsDb, options: TrainOutcomeOptions): Promise<TrainedOutcome | { evaluation: OutcomeEvaluation }> {
  const started = performance.now();
  const backend = await initTensorflow();
  const kind = options.model ?? 'logistic';
  const progress = (phase: TrainProgress['phase'], fraction: number, detail: string) => options.onProgress?.({ phase, fraction: Math.min(1, Math.max(0, fraction)), detail });
  // Rough shares of the work, for the progress bar.
  const READ = 0.15;
  const evaluateShare = options.evaluateOnly ? 1 - READ : 0.65;

  progress('read', 0, 'reading labels');
  const resolved = await resolveTarget(db, options.listingId, options.target, {
    ...(options.at ? { at: options.at } : {}),
    ...(options.riskClass !== undefined ? { riskClass: options.riskClass } : {}),
    ...(options.labelRule ? { labelRule: options.labelRule } : {}),
  });
  const training: TrainingConfig = {
    ...DEFAULT_TRAINING[kind],
    slots: defaultSlots(resolved.target.at),
    ...options.training,
    model: kind,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
  const set = await extractExamples(db, options.listingId, resolved, {
    buckets: training.buckets,
    slots: slotMask(training.slots),
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    includeOutcome: options.includeOutcome ?? true,
    earlyK: EARLY_WARNING_K,
    maxRows: 200_000,
    seed: training.seed,
    onProgress: (done, total) => progress('read', (READ * done) / Math.max(total, 1), `read ${done}/${total} conversations`),
  });
  const teacher = training.teacherWeight > 0 && set.target.at === 'before-turn' ? await readTeacher(db, options, set, training) : undefined;
  const readSeconds = (performance.now() - started) / 1000;

  const plan = planSplits(set, options.split ?? 'auto', options.folds ?? 5, training.seed);
  const folds: ClassificationMetrics[] = [];
  const pooledLabels: number[] = [];
  const pooledProbs: Float64Array[] = [];
  const pooledDecided: number[] = [];
  const earlyRows: number[] = [];
  const earlyProbs: Float64Array[] = [];
  const importances = new Map<string, number>();
  let testExamples = 0;
  let testConversations = 0;
  for (const [f, fold] of plan.folds.entries()) {
    const base = READ + (evaluateShare * f) / plan.folds.length;
    const train = indicesWhere(set.examples, fold.test, false);
    const test = indicesWhere(set.examples, fold.test, true);
    if (train.length === 0 || test.length === 0) continue;
    const model = await trainOn(
      set,
      train,
      training,
      (phase, epoch, epochs) => progress('evaluate', base + (evaluateShare / plan.folds.length) * within(phase, epoch, epochs), `${fold.name}: ${describePhase(phase, epoch)}`),
      teacher,
    );
    try {
      const data = toTrainingSet(set.rows, set.examples, test, model.spec, slotMask(training.slots));
      const probs = scoreSet(model.scorer, data);
      folds.push(classificationMetrics(set.target, data.label, probs, { bias: model.decisionBias }));
      pooledLabels.push(...data.label);
      pooledProbs.push(...probs);
      pooledDecided.push(...probs.map((p) => decide(p, model.decisionBias)));
      testExamples += test.length;
      testConversations += fold.test.reduce((sum, flag) => sum + flag, 0);
      const earlyTest = indicesWhere(set.early, fold.test, true);
      earlyProbs.push(...scoreSet(model.scorer, toTrainingSet(set.rows, set.early, earlyTest, model.spec, slotMask(training.slots))));
      earlyRows.push(...earlyTest);
      for (const driver of await permutationImportance(model, data, training.seed)) importances.set(driver.feature, (importances.get(driver.feature) ?? 0) + driver.importance / plan.folds.length);
    } finally {
      model.backendModel.dispose();
    }
  }
  if (folds.length === 0) throw new Error('no fold had both training and test examples');
  // Each fold decided classes by its own rule.
  const pooled = classificationMetrics(set.target, pooledLabels, pooledProbs, { decided: pooledDecided });
  const evaluation: OutcomeEvaluation = {
    listingId: options.listingId,
    target: set.target,
    split: { kind: plan.kind, folds: plan.folds.length, ...(plan.boundary ? { boundary: plan.boundary } : {}), testExamples, testConversations },
    metrics: meanMetrics(folds),
    pooled,
    folds,
    earlyWarning: earlyWarning(set.target, EARLY_WARNING_K, set.early, Int32Array.from(earlyRows), earlyProbs),
    drivers: [...importances.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, DRIVERS_KEPT)
      .map(([feature, importance]) => ({ feature, importance: Math.round(importance * 1e6) / 1e6, text: featureLabel(feature) })),
    examples: set.examples.n,
    conversations: new Set(set.examples.conversation).size,
    classCounts: set.classCounts,
  };
  const evaluateSeconds = (performance.now() - started) / 1000 - readSeconds;
  if (options.evaluateOnly) {
    progress('evaluate', 1, 'done');
    return { evaluation };
  }

  const finalStart = performance.now();
  const all = Int32Array.from({ length: set.examples.n }, (_, i) => i);
  const final = await trainOn(
    set,
    all,
    training,
    (phase, epoch, epochs) => progress('final', READ + evaluateShare + (1 - READ - evaluateShare) * within(phase, epoch, epochs), `final model: ${describePhase(phase, epoch)}`),
    teacher,
  );
  final.backendModel.dispose();
  const artifact = encodeArtifact({
    featureSet: modelFeatureSet,
    target: set.target,
    config: final.config,
    slots: training.slots,
    dense: final.spec,
    decisionBias: final.decisionBias,
    vocabulary: keepVocabulary(set, final, training),
    weights: final.weights,
  });
  const finalSeconds = (performance.now() - finalStart) / 1000;
  progress('final', 1, 'done');
  const metadata: OutcomeModelMetadata = {
    kind,
    featureSet: modelFeatureSet,
    encodingVersion: ENCODING_VERSION,
    target: set.target.name,
    at: set.target.at,
    targetKind: set.target.kind,
    classes: set.target.classes,
    riskClasses: set.target.riskClasses,
    labelRule: set.target.labelRule,
    softLabels: set.target.softLabels,
    trainingDataHash: set.dataHash,
    data: { conversations: evaluation.conversations, examples: set.examples.n, classCounts: set.classCounts },
    metrics: {
      split: evaluation.split,
      headline: evaluation.metrics,
      earlyWarning: evaluation.earlyWarning,
      calibration: evaluation.pooled.calibration,
      drivers: evaluation.drivers,
    },
    config: { ...training, epochsTrained: final.epochs, decision: final.decision },
    backend,
    timings: { readSeconds, evaluateSeconds, finalSeconds, totalSeconds: (performance.now() - started) / 1000 },
    createdAt: new Date().toISOString(),
  };
  return { artifact, metadata, evaluation };
}

/**
 * The teacher of a before-turn model (evaluate.ts teacherTargets): the same labels at the
 * after-turn placement, matched to the student's examples in order within each conversation (both
 * placements list a conversation's rated turns in order, then its outcome). A conversation whose
 * lists differ gets no teacher.
 */
export async function readTeacher(db: AnalyticsDb, options: TrainOutcomeOptions, student: ExampleSet, training: TrainingConfig): Promise<Teacher> {
  const resolved = await resolveTarget(db, options.listingId, options.target, {
    at: 'after-turn',
    ...(options.riskClass !== undefined ? { riskClass: options.riskClass } : {}),
    ...(options.labelRule ? { labelRule: options.labelRule } : {}),
  });
  const slots = defaultSlots('after-turn');
  const set = await extractExamples(db, options.listingId, resolved, {
    buckets: training.buckets,
    slots: slotMask(slots),
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    includeOutcome: options.includeOutcome ?? true,
    earlyK: [],
    maxRows: 200_000,
    seed: training.seed,
  });
  const byConversation = (list: ExampleSet) => {
    const map = new Map<string, number[]>();
    for (let e = 0; e < list.examples.n; e++) {
      const id = list.conversations[list.examples.conversation[e]!]!.id;
      const examples = map.get(id);
      if (examples) examples.push(e);
      else map.set(id, [e]);
    }
    return map;
  };
  const teacherExamples = byConversation(set);
  const of = new Int32Array(student.examples.n).fill(-1);
  for (const [id, examples] of byConversation(student)) {
    const matched = teacherExamples.get(id);
    if (!matched || matched.length !== examples.length || examples.some((e, i) => student.examples.label[e] !== set.examples.label[matched[i]!])) continue;
    examples.forEach((e, i) => (of[e] = matched[i]!));
  }
  return { set, of, slots };
}

/** The n-gram words worth keeping for drivers: those whose buckets carry the largest weights. */
function keepVocabulary(set: ExampleSet, model: TrainedModel, training: TrainingConfig): Array<[number, string]> {
  const width = model.scorer.width;
  const norms = new Map<number, number>();
  const { buckets, rows } = model.weights.sparse;
  buckets.forEach((bucket, i) => {
    let sum = 0;
    for (let u = 0; u < width; u++) sum += rows[i * width + u]! ** 2;
    norms.set(bucket, sum);
  });
  const slots = SPARSE_SLOTS.flatMap((slot, s) => (training.slots.includes(slot) ? [s] : []));
  const scored: Array<[number, string, number]> = [];
  for (const [bucket, words] of set.vocabulary) {
    let best = 0;
    for (const s of slots) best = Math.max(best, norms.get(modelBucket(s, bucket, model.config.buckets)) ?? 0);
    if (best > 0) scored.push([bucket, words, best]);
  }
  return scored
    .sort((a, b) => b[2] - a[2] || a[0] - b[0])
    .slice(0, VOCABULARY_KEPT)
    .sort((a, b) => a[0] - b[0])
    .map(([bucket, words]) => [bucket, words]);
}
