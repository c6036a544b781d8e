import { createTimeSlice } from '../../platform/index.ts';
import { SPARSE_SLOTS, denseLayout, fitDenseSpec, type DenseSpec, type SparseSlot } from '../encoding.ts';
import { rawRowsOf, toTrainingSet, type ExampleList, type ExampleSet } from '../dataset.ts';
import type { TrainingSet } from '../dataset.ts';
import { fitModel } from './fit.ts';
import { writeWeights } from './model.ts';
import {
  averagePrecision,
  binaryBrier,
  binaryF1,
  brierScore,
  calibrationTable,
  cohenKappa,
  confusionMatrix,
  logLoss,
  rocAuc,
  spearman,
  spearmanUss,
  unweightedAverageRecall,
  type CalibrationBin,
} from '../metrics.ts';
import type { ModelConfig, ModelKind } from '../model.types.ts';
import { seededRandom, shuffleInPlace } from '../random.ts';
import { compileScorer, toCompiledWeights, type CompiledScorer, type CompiledWeights } from '../scorer.ts';
import type { TargetSpec } from '../targets.ts';
import { decide, decisionBiasFor } from '../decision.ts';

export { decide, decisionBiasFor };

/**
 * Evaluation: a later time period than training when the conversations have timestamps, else
 * k-fold by conversation (every example of a conversation, all its turns and prefixes, falls in
 * the same fold). Each fold fits its own standardisation and model on its training part only and
 * is scored by the compiled scorer, the code serving runs.
 */

export interface TrainingConfig {
  model: ModelKind;
  /** Model buckets for the hashed n-grams (power of two). */
  buckets: number;
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  l2Sparse: number;
  /** Dropout on the n-gram inputs during training. */
  sparseDropout: number;
  classWeightPower: number;
  maxClassWeight: number;
  /** Logistic: members trained with seeds seed…seed+n−1 and averaged into one model (variance down, serving cost unchanged). */
  ensemble: number;
  /** The n-gram slots the model uses (encoding.ts SPARSE_SLOTS). */
  slots: SparseSlot[];
  /**
   * Class decisions: argmax of log p_k − decisionPower · log max(prior_k, decisionFloor). With
   * decisionFloor null, power and floor are tuned on the validation rows instead (tuneDecision).
   */
  decisionPower: number;
  decisionFloor: number | null;
  /**
   * Before-turn targets: the share of each training example's target taken from a teacher that sees
   * the rated customer message (an after-turn model, cross-fitted so it never scores its own
   * training examples); the rest stays the annotators' ratings. 0: no teacher. See `teacherTargets`.
   */
  teacherWeight: number;
  seed: number;
}

export const DEFAULT_TRAINING: Record<ModelKind, TrainingConfig> = {
  logistic: {
    model: 'logistic',
    buckets: 1 << 16,
    hidden: 0,
    epochs: 30,
    batchSize: 256,
    // 5-fold on USS, rows (UAR, F1 dissatisfied, AUC) at 0.01 → 0.003: MultiWOZ before-turn .316/.115/.694
    // → .323/.125/.6995, after-turn .411/.218/.818 → .415/.229/.822; SGD before-turn .319/.146/.754 →
    // .325/.151/.757, after-turn AUC .892 → .893 (its UAR moves ±.01 with the seed either way). At 0.01
    // the validation loss was lowest after epoch 1: the n-gram table overfits within an epoch. 0.001
    // gives the same figures in twice the time.
    learningRate: 0.003,
    l2: 1e-4,
    l2Sparse: 1e-6,
    sparseDropout: 0,
    classWeightPower: 0.5,
    maxClassWeight: 20,
    decisionPower: 1,
    decisionFloor: 0.05,
    // 5-fold on USS before-turn, (UAR, F1 dissatisfied, AUC) without → with the teacher: MultiWOZ
    // .323/.125/.6995 → .321/.125/.703, SGD .325/.151/.757 → .328/.157/.759 (seeds 2 and 3 on
    // MultiWOZ: AUC +.001, +.007; log loss lower every time). Training time ×1.7. The mlp has none (not measured).
    teacherWeight: 0.5,
    slots: [...SPARSE_SLOTS],
    ensemble: 3,
    seed: 1,
  },
  mlp: {
    model: 'mlp',
    buckets: 1 << 15,
    hidden: 32,
    epochs: 30,
    batchSize: 256,
    learningRate: 0.003,
    l2: 1e-4,
    l2Sparse: 1e-6,
    sparseDropout: 0,
    classWeightPower: 0.5,
    maxClassWeight: 20,
    decisionPower: 1,
    decisionFloor: 0.05,
    teacherWeight: 0,
    slots: [...SPARSE_SLOTS],
    ensemble: 1,
    seed: 1,
  },
};

export type SplitKind = 'time' | 'kfold';

export interface SplitPlan {
  kind: SplitKind;
  folds: Array<{ name: string; test: Uint8Array }>;
  /** time: the first start time in the test period (ISO). */
  boundary?: string;
}

/** Conversations (indices into set.conversations) that have examples. */
function usedConversations(set: ExampleSet): number[] {
  const used = new Uint8Array(set.conversations.length);
  for (const c of set.examples.conversation) used[c] = 1;
  return [...used.keys()].filter((c) => used[c] === 1);
}

export function planSplits(set: ExampleSet, split: SplitKind | 'auto', folds: number, seed: number, testFraction = 0.2): SplitPlan {
  const used = usedConversations(set);
  const timed = used.filter((c) => set.conversations[c]!.startMs !== null);
  const kind: SplitKind = split === 'auto' ? (used.length > 0 && timed.length >= 0.9 * used.length ? 'time' : 'kfold') : split;
  if (kind === 'time') {
    if (timed.length < 10) throw new Error(`a time split needs timestamps: only ${timed.length} conversations have one`);
    const sorted = [...timed].sort((a, b) => set.conversations[a]!.startMs! - set.conversations[b]!.startMs! || a - b);
    const first = Math.floor(sorted.length * (1 - testFraction));
    const test = new Uint8Array(set.conversations.length);
    for (const c of sorted.slice(first)) test[c] = 1;
    return { kind, folds: [{ name: 'later period', test }], boundary: new Date(set.conversations[sorted[first]!]!.startMs!).toISOString() };
  }
  if (folds < 2) throw new Error('k-fold needs at least 2 folds');
  const order = [...used];
  shuffleInPlace(order, seededRandom(seed ^ 0xf01d));
  return {
    kind,
    folds: Array.from({ length: folds }, (_, f) => {
      const test = new Uint8Array(set.conversations.length);
      order.forEach((c, i) => {
        if (i % folds === f) test[c] = 1;
      });
      return { name: `fold ${f + 1}/${folds}`, test };
    }),
  };
}

export function indicesWhere(list: ExampleList, test: Uint8Array, inTest: boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < list.n; i++) if ((test[list.conversation[i]!] === 1) === inTest) out.push(i);
  return Int32Array.from(out);
}

export interface TrainedModel {
  config: ModelConfig;
  training: TrainingConfig;
  spec: DenseSpec;
  weights: CompiledWeights;
  scorer: CompiledScorer;
  priors: number[];
  classWeights: number[];
  /** Added to log-probabilities before the argmax that decides a class (tuned on validation rows). */
  decisionBias: number[];
  decision: { power: number; floor: number; validationUar: number | null };
  /** Epochs of the final fit (chosen by early stopping on the validation rows). */
  epochs: number;
  losses: number[];
  validationLosses: number[];
  seconds: number;
  backendModel: Awaited<ReturnType<typeof fitModel>>['model'];
}

function addInto(into: Float32Array, from: Float32Array): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}

export const slotMask = (slots: readonly SparseSlot[]) => SPARSE_SLOTS.map((slot) => slots.includes(slot));

/** Share of the training conversations held out to choose the epoch count and the decision rule. */
const VALIDATION_SHARE = 0.15;

/**
 * Trains on examples `which`: the standardisation is fitted on them; 15 % of their conversations
 * are held out to stop training at the best epoch and to choose the class decision rule; then the
 * model is refitted on all of them for that many epochs.
 */
export async function trainOn(
  set: ExampleSet,
  which: ArrayLike<number>,
  training: TrainingConfig,
  onEpoch?: (phase: 'select' | 'final', epoch: number, epochs: number) => void,
  teacher?: Teacher,
): Promise<TrainedModel> {
  const started = performance.now();
  if (teacher && training.teacherWeight > 0) set = { ...set, examples: { ...set.examples, soft: await teacherTargets(set.examples, which, teacher, training) } };
  const { raw, categories } = rawRowsOf(set.rows, set.examples, which);
  const spec = fitDenseSpec(raw, categories);
  const slots = slotMask(training.slots);
  const config: ModelConfig = {
    kind: training.model,
    denseWidth: spec.width,
    buckets: set.buckets,
    classes: set.target.classes.length,
    hidden: training.hidden,
    seed: training.seed,
  };
  const fitOptions = fitOptionsOf(training, training.seed);
  const { fit: fitPart, validation: validationPart } = holdOut(set.examples, which, training.seed, VALIDATION_SHARE);
  let epochs = training.epochs;
  let decision = { power: training.decisionPower, floor: training.decisionFloor ?? 0, validationUar: null as number | null };
  let selection: Awaited<ReturnType<typeof fitModel>> | undefined;
  if (validationPart.length > 0 && fitPart.length > 0) {
    const validation = toTrainingSet(set.rows, set.examples, validationPart, spec, slots);
    selection = await fitModel(config, toTrainingSet(set.rows, set.examples, fitPart, spec, slots), {
      ...fitOptions,
      epochs: training.epochs,
      validation,
      onEpoch: (epoch, total) => onEpoch?.('select', epoch, total),
    });
    epochs = selection.bestEpoch;
    const probs = scoreSet(compileScorer(config, toCompiledWeights(selection.weights, config)), validation);
    if (training.decisionFloor === null) decision = tuneDecision(set.target, validation.label, probs, selection.priors);
    selection.model.dispose();
  }
  const all = toTrainingSet(set.rows, set.examples, which, spec, slots);
  const members = config.kind === 'logistic' ? Math.max(1, training.ensemble) : 1;
  const fit = await fitModel(config, all, { ...fitOptions, epochs, onEpoch: (epoch, total) => onEpoch?.('final', epoch / members, total) });
  if (members > 1) {
    // Logistic members differ by seed (initialisation, shuffling); averaging their weights averages
    // their logits, so the ensemble is still one linear model, as cheap to serve as a member.
    const sum = fit.weights;
    for (let m = 1; m < members; m++) {
      const member = await fitModel({ ...config, seed: config.seed + m }, all, {
        ...fitOptions,
        seed: fitOptions.seed + m,
        epochs,
        onEpoch: (epoch, total) => onEpoch?.('final', (m * total + epoch) / members, total),
      });
      addInto(sum.denseKernel, member.weights.denseKernel);
      addInto(sum.denseBias, member.weights.denseBias);
      addInto(sum.sparseKernel, member.weights.sparseKernel);
      member.model.dispose();
    }
    for (const array of [sum.denseKernel, sum.denseBias, sum.sparseKernel]) for (let i = 0; i < array.length; i++) array[i]! /= members;
    writeWeights(fit.model, config, sum);
  }
  const weights = toCompiledWeights(fit.weights, config);
  return {
    config,
    training,
    spec,
    weights,
    scorer: compileScorer(config, weights),
    priors: fit.priors,
    classWeights: fit.classWeights,
    decisionBias: decisionBiasFor(fit.priors, decision.power, decision.floor),
    decision,
    epochs,
    losses: fit.losses,
    validationLosses: selection?.validationLosses ?? [],
    seconds: (performance.now() - started) / 1000,
    backendModel: fit.model,
  };
}

/** The optimiser settings of a training config, for `fitModel`. */
function fitOptionsOf(training: TrainingConfig, seed: number) {
  return {
    batchSize: training.batchSize,
    learningRate: training.learningRate,
    l2: training.l2,
    l2Sparse: training.l2Sparse,
    sparseDropout: training.sparseDropout,
    classWeightPower: training.classWeightPower,
    maxClassWeight: training.maxClassWeight,
    seed,
  };
}

/**
 * A teacher for before-turn targets: the same rated turns at the after-turn placement, and for
 * each student example its teacher example (`of`, −1: none).
 */
export interface Teacher {
  set: ExampleSet;
  of: Int32Array;
  slots: SparseSlot[];
}

/** Conversations split into the teacher's two halves (seeded). */
const TEACHER_PARTS = 2;

/**
 * Generalised distillation (Lopez-Paz et al. 2016, learning with privileged information): the
 * rating after a turn is largely the customer's reaction to the CSR's reply, which a before-turn
 * model cannot see but an after-turn model can. Its probabilities are a less noisy target than 3–7
 * annotators' votes, so the before-turn model is fitted to `teacherWeight` · teacher + the rest ·
 * ratings. The teacher is cross-fitted: the training conversations are split in two halves, a
 * one-member after-turn model is fitted on each (stopped at its best epoch on the other half) and
 * scores the other half, so no example is scored by a teacher that learnt from it. Only the
 * targets of examples `which` change (a copy); serving is untouched.
 */
export async function teacherTargets(examples: ExampleList, which: ArrayLike<number>, teacher: Teacher, training: TrainingConfig): Promise<Float32Array> {
  const soft = Float32Array.from(examples.soft);
  const tSet = teacher.set;
  const K = tSet.target.classes.length;
  const studentConversation = new Map<number, number>();
  const parts: Array<Array<{ student: number; teacher: number }>> = Array.from({ length: TEACHER_PARTS }, () => []);
  const conversations = [...new Set(Array.from(which, (e) => examples.conversation[e]!))].sort((a, b) => a - b);
  shuffleInPlace(conversations, seededRandom(training.seed ^ 0x7eac));
  conversations.forEach((c, i) => studentConversation.set(c, i % TEACHER_PARTS));
  for (let i = 0; i < which.length; i++) {
    const e = which[i]!;
    const t = teacher.of[e]!;
    if (t >= 0) parts[studentConversation.get(examples.conversation[e]!)!]!.push({ student: e, teacher: t });
  }
  if (parts.some((part) => part.length === 0)) return soft;
  const slots = slotMask(teacher.slots);
  for (let p = 0; p < TEACHER_PARTS; p++) {
    const fitRows = parts.flatMap((part, q) => (q === p ? [] : part.map((pair) => pair.teacher)));
    const held = parts[p]!;
    const { raw, categories } = rawRowsOf(tSet.rows, tSet.examples, fitRows);
    const spec = fitDenseSpec(raw, categories);
    const config: ModelConfig = { kind: 'logistic', denseWidth: spec.width, buckets: tSet.buckets, classes: K, hidden: 0, seed: training.seed };
    const heldSet = toTrainingSet(
      tSet.rows,
      tSet.examples,
      held.map((pair) => pair.teacher),
      spec,
      slots,
    );
    const fit = await fitModel(config, toTrainingSet(tSet.rows, tSet.examples, fitRows, spec, slots), { ...fitOptionsOf(training, training.seed + p), epochs: training.epochs, validation: heldSet });
    fit.model.dispose();
    const probs = scoreSet(compileScorer(config, toCompiledWeights(fit.weights, config)), heldSet);
    const w = training.teacherWeight;
    held.forEach(({ student }, r) => {
      for (let k = 0; k < K; k++) soft[student * K + k] = w * probs[r]![k]! + (1 - w) * examples.soft[student * K + k]!;
    });
  }
  return soft;
}

/** Splits examples `which` by conversation: about `share` of the conversations go to validation (seeded). */
function holdOut(list: ExampleList, which: ArrayLike<number>, seed: number, share: number): { fit: Int32Array; validation: Int32Array } {
  const conversations = [...new Set(Array.from(which, (e) => list.conversation[e]!))].sort((a, b) => a - b);
  if (conversations.length < 10) return { fit: Int32Array.from(which), validation: new Int32Array(0) };
  shuffleInPlace(conversations, seededRandom(seed ^ 0x7a11));
  const held = new Set(conversations.slice(0, Math.max(1, Math.round(conversations.length * share))));
  const fit: number[] = [];
  const validation: number[] = [];
  for (let i = 0; i < which.length; i++) (held.has(list.conversation[which[i]!]!) ? validation : fit).push(which[i]!);
  return { fit: Int32Array.from(fit), validation: Int32Array.from(validation) };
}

const DECISION_POWERS = [0, 0.25, 0.5, 0.75, 1];
const DECISION_FLOORS = [0.002, 0.01, 0.05];

/**
 * The class decision rule: argmax of log p_k − power · log max(prior_k, floor). Power 0 picks the
 * most probable class; power 1 with a low floor is the balanced rule (best for unweighted average
 * recall when probabilities are right, but one rare class with noisy probabilities can then take
 * over; the floor caps its bonus). Chosen on the validation rows by UAR, ties to the smaller power.
 */
export function tuneDecision(target: TargetSpec, labels: ArrayLike<number>, probs: readonly ArrayLike<number>[], priors: readonly number[]): { power: number; floor: number; validationUar: number | null } {
  let best = { power: 0, floor: DECISION_FLOORS[0]!, validationUar: null as number | null };
  const actual = Array.from(labels);
  for (const power of DECISION_POWERS) {
    for (const floor of power === 0 ? [DECISION_FLOORS[0]!] : DECISION_FLOORS) {
      const bias = decisionBiasFor(priors, power, floor);
      const decided = probs.map((p) => decide(p, bias));
      const { uar } = unweightedAverageRecall(decided, actual, target.classes.length, 'skip');
      if (best.validationUar === null || uar > best.validationUar + 1e-9) best = { power, floor, validationUar: uar };
    }
  }
  return best;
}

/** Probabilities of every row of an encoded set through a compiled scorer. */
export function scoreSet(scorer: CompiledScorer, data: TrainingSet): Float64Array[] {
  const out: Float64Array[] = [];
  const probs = new Float64Array(scorer.config.classes);
  for (let r = 0; r < data.n; r++) {
    const from = data.offsets[r]!;
    const nnz = data.offsets[r + 1]! - from;
    scorer.probs(data.dense.subarray(r * data.width, (r + 1) * data.width), data.idx.subarray(from), data.val.subarray(from), nnz, probs);
    out.push(Float64Array.from(probs));
  }
  return out;
}

export interface ClassificationMetrics {
  examples: number;
  /** Examples per class (actual). */
  support: number[];
  /** Risk (P(bad outcome)) against the bad outcome: for satisfaction, AUC(dissatisfied). */
  auc: number | null;
  prAuc: number | null;
  logLoss: number;
  /** Multi-class Brier (Σ_k over classes); riskBrier is the binary one of the risk. */
  brier: number;
  riskBrier: number;
  accuracy: number;
  /** USS: mean recall over all classes, an absent class counting 0. */
  uar: number;
  /** Mean recall over the classes present. */
  uarPresent: number;
  recall: Array<number | null>;
  kappa: number | null;
  /** USS formula (lowest-rank ties); `spearman` is the tie-corrected coefficient. Null for unordered classes. */
  spearmanUss: number | null;
  spearman: number | null;
  /** The bad class decided (class decision ∈ risk classes): USS F1 formula, and the harmonic mean. */
  f1Bad: number;
  f1BadHarmonic: number;
  precisionBad: number;
  recallBad: number;
  calibration: { bins: CalibrationBin[]; ece: number | null };
  /** confusion[actual][decided]. */
  confusion: number[][];
}

/** Metrics of held-out probabilities; classes decided by `decision` (a decision bias, or the decided classes). */
export function classificationMetrics(
  target: TargetSpec,
  labels: ArrayLike<number>,
  probs: readonly ArrayLike<number>[],
  decision: { bias: readonly number[] } | { decided: readonly number[] },
): ClassificationMetrics {
  const K = target.classes.length;
  const actual = Array.from(labels);
  const decided = 'decided' in decision ? [...decision.decided] : probs.map((p) => decide(p, decision.bias));
  const bad = new Set(target.riskClasses);
  const risk = probs.map((p) => target.riskClasses.reduce((sum, k) => sum + p[k]!, 0));
  const actualBad = actual.map((k) => bad.has(k));
  const { uar, recall } = unweightedAverageRecall(decided, actual, K, 'zero');
  const f1 = binaryF1(
    decided.map((k) => bad.has(k)),
    actualBad,
  );
  const numeric = target.classes.every((value) => typeof value === 'number');
  const valueOf = (k: number) => target.classes[k] as number;
  const support = new Array<number>(K).fill(0);
  for (const k of actual) support[k]!++;
  return {
    examples: actual.length,
    support,
    auc: rocAuc(risk, actualBad),
    prAuc: averagePrecision(risk, actualBad),
    logLoss: logLoss(probs, actual),
    brier: brierScore(probs, actual),
    riskBrier: binaryBrier(risk, actualBad),
    accuracy: actual.length === 0 ? 0 : actual.filter((k, i) => decided[i] === k).length / actual.length,
    uar,
    uarPresent: unweightedAverageRecall(decided, actual, K, 'skip').uar,
    recall,
    kappa: cohenKappa(decided, actual, K),
    spearmanUss: numeric ? spearmanUss(decided.map(valueOf), actual.map(valueOf)) : null,
    spearman: numeric ? spearman(decided.map(valueOf), actual.map(valueOf)) : null,
    f1Bad: f1.f1Uss,
    f1BadHarmonic: f1.f1,
    precisionBad: f1.precision,
    recallBad: f1.recall,
    calibration: calibrationTable(risk, actualBad, 10),
    confusion: confusionMatrix(decided, actual, K),
  };
}

/** Per-fold metrics averaged (the USS protocol reports the mean over folds); null when any fold's is null. */
export function meanMetrics(folds: readonly ClassificationMetrics[]): Record<string, number | null> {
  const keys = ['auc', 'prAuc', 'logLoss', 'brier', 'riskBrier', 'accuracy', 'uar', 'uarPresent', 'kappa', 'spearmanUss', 'spearman', 'f1Bad', 'f1BadHarmonic'] as const;
  const out: Record<string, number | null> = {};
  for (const key of keys) {
    const values = folds.map((fold) => fold[key]);
    out[key] = values.some((value) => value === null || Number.isNaN(value)) ? null : (values as number[]).reduce((sum, value) => sum + value, 0) / values.length;
  }
  return out;
}

export interface EarlyWarningPoint {
  /** After the first k messages. */
  k: number;
  conversations: number;
  bad: number;
  auc: number | null;
}

export function earlyWarning(target: TargetSpec, ks: readonly number[], list: ExampleSet['early'], which: Int32Array, probs: readonly ArrayLike<number>[]): EarlyWarningPoint[] {
  const bad = new Set(target.riskClasses);
  return ks.map((k) => {
    const scores: number[] = [];
    const labels: boolean[] = [];
    which.forEach((e, i) => {
      if (list.k[e] !== k) return;
      scores.push(target.riskClasses.reduce((sum, c) => sum + probs[i]![c]!, 0));
      labels.push(bad.has(list.label[e]!));
    });
    return { k, conversations: scores.length, bad: labels.filter(Boolean).length, auc: rocAuc(scores, labels) };
  });
}

export interface DriverImportance {
  feature: string;
  /** Mean increase in log loss when the feature's values are shuffled across the test examples. */
  importance: number;
}

/**
 * Permutation importance on held-out examples: each feature (its value, null-indicator and
 * one-hot columns together) and each n-gram slot in turn is shuffled across the examples (seeded),
 * and the rise in log loss is its importance.
 */
export async function permutationImportance(model: TrainedModel, data: TrainingSet, seed: number, maxExamples = 4000): Promise<DriverImportance[]> {
  const n = Math.min(data.n, maxExamples);
  if (n < 2) return [];
  const classes = model.config.classes;
  const probs = new Float64Array(classes);
  const dense = new Float32Array(data.width);
  const slots = SPARSE_SLOTS.length;
  const idx = new Int32Array(4096);
  const val = new Float32Array(4096);
  const baseline = lossOf(() => true);
  const random = seededRandom(seed ^ 0x1337);
  const layout = denseLayout(model.spec);
  const groups = new Map<string, number[]>();
  layout.forEach((column, j) => groups.set(column.feature, [...(groups.get(column.feature) ?? []), j]));
  const results: DriverImportance[] = [];
  const permutation = Int32Array.from({ length: n }, (_, i) => i);
  // Each shuffled feature rescores every example (~20 ms at 4,000): in the api process (embedded
  // training) the whole pass held the event loop for about a second per fold.
  const slice = createTimeSlice();
  for (const [feature, columns] of groups) {
    if (slice.due()) await slice.pause();
    shuffleInPlace(permutation, random);
    const loss = lossOf((r, out) => {
      out.set(data.dense.subarray(r * data.width, (r + 1) * data.width));
      const other = permutation[r]!;
      for (const j of columns) out[j] = data.dense[other * data.width + j]!;
      return false;
    });
    results.push({ feature, importance: loss - baseline });
  }
  for (const [s, slot] of SPARSE_SLOTS.entries()) {
    if (slice.due()) await slice.pause();
    shuffleInPlace(permutation, random);
    const loss = lossOf(() => true, (r) => {
      // Row r's n-grams with slot s taken from another row.
      let nnz = 0;
      const other = permutation[r]!;
      for (let t = 0; t < slots; t++) {
        const source = t === s ? other : r;
        const from = t === 0 ? data.offsets[source]! : data.slotEnd![source * slots + t - 1]!;
        const to = data.slotEnd![source * slots + t]!;
        for (let i = from; i < to && nnz < idx.length; i++) {
          idx[nnz] = data.idx[i]!;
          val[nnz++] = data.val[i]!;
        }
      }
      return nnz;
    });
    results.push({ feature: `words:${slot}`, importance: loss - baseline });
  }
  return results.sort((a, b) => b.importance - a.importance);

  function lossOf(denseOf: (r: number, out: Float32Array) => boolean, sparseOf?: (r: number) => number): number {
    let sum = 0;
    for (let r = 0; r < n; r++) {
      const own = denseOf(r, dense);
      const row = own ? data.dense.subarray(r * data.width, (r + 1) * data.width) : dense;
      if (sparseOf) {
        const nnz = sparseOf(r);
        model.scorer.probs(row, idx, val, nnz, probs);
      } else {
        const from = data.offsets[r]!;
        model.scorer.probs(row, data.idx.subarray(from), data.val.subarray(from), data.offsets[r + 1]! - from, probs);
      }
      sum -= Math.log(Math.max(probs[data.label[r]!]!, 1e-15));
    }
    return sum / n;
  }
}
