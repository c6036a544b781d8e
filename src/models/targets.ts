import { AppError } from '../platform/index.ts';

/**
 * What a model predicts. Built-in targets: `satisfaction` (rating classes 1–5; risk = P(rating ≤ 2)),
 * `resolved` (vs abandoned) and `converted` (offer accepted / purchase / payment completed), both
 * binary with risk = P(false). Any other name is a custom label: booleans are binary (risk =
 * P(false) unless `riskClass` says otherwise), small sets of integers or strings are classes
 * (risk = the lowest integer, or the rarest string, unless `riskClass` says otherwise).
 *
 * Where the label sits: per turn (the USS per-message ratings: `before-turn`, the state before the
 * labelled customer message, or `after-turn`, the state after it), or per conversation
 * (`every-message`: the conversation's outcome, learned from the state after every message so the
 * model predicts it while the conversation is still going on).
 */

export const placements = ['before-turn', 'after-turn', 'every-message'] as const;
export type Placement = (typeof placements)[number];

export type LabelValue = string | number | boolean;

export interface TargetSpec {
  name: string;
  at: Placement;
  kind: 'binary' | 'multiclass';
  /** Label values in class order (the order of `probs`). */
  classes: LabelValue[];
  /** Indices of the classes that count as a bad outcome: risk = Σ P(class). */
  riskClasses: number[];
  /**
   * How a turn's rating is read: `majority` (the stored label) or `uss-argmax` (the USS baselines'
   * rule: the most frequent of the annotators' ratings, ties to the lowest).
   */
  labelRule: 'majority' | 'uss-argmax';
  /**
   * Trained on the annotators' rating distribution (`<name>_ratings` labels) rather than the one
   * decided label: a turn two annotators of four call dissatisfying teaches more than the majority
   * "3" it gets. Evaluation still scores against the decided label.
   */
  softLabels: boolean;
}

export const BUILTIN_TARGETS = ['satisfaction', 'resolved', 'converted'] as const;

export const SATISFACTION_CLASSES = [1, 2, 3, 4, 5];
/** Ratings ≤ 2 are "dissatisfied" (USS; PRODUCT.md). */
export const DISSATISFIED_AT_MOST = 2;

export function targetName(name: string): string {
  if (!/^[a-zA-Z][a-zA-Z0-9_.:-]{0,63}$/.test(name)) throw new AppError('validation_failed', `"${name}" is not a label name`);
  return name;
}

export const classKey = (value: LabelValue) => `${typeof value}:${String(value)}`;

/** The class index of a label value, or −1 when it is not one of the classes. */
export function classIndexer(target: TargetSpec): (value: LabelValue) => number {
  const index = new Map(target.classes.map((value, k) => [classKey(value), k]));
  return (value) => index.get(classKey(value)) ?? -1;
}

export function describeClass(value: LabelValue): string {
  return String(value);
}

/** The USS baselines' rating rule: argmax of the counts of each rating, ties to the lowest rating. */
export function ussArgmaxRating(ratings: readonly number[]): number | null {
  if (ratings.length === 0) return null;
  const counts = new Map<number, number>();
  for (const rating of ratings) counts.set(rating, (counts.get(rating) ?? 0) + 1);
  let best = 0;
  let bestCount = 0;
  for (const [rating, count] of [...counts.entries()].sort((a, b) => a[0] - b[0])) {
    if (count > bestCount) {
      best = rating;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Classes of a custom label from the distinct values seen. Booleans → [false, true]; integers
 * (≤ 12 distinct) → ascending; strings (≤ 20 distinct) → sorted. Anything else is refused: a
 * continuous label needs a regression model, which this module does not train.
 */
export function customClasses(name: string, values: readonly LabelValue[]): LabelValue[] {
  const distinct = new Map(values.map((value) => [classKey(value), value]));
  const list = [...distinct.values()];
  if (list.length < 2) throw new AppError('unprocessable', `label ${name} has ${list.length} distinct value(s): nothing to learn`);
  if (list.every((value) => typeof value === 'boolean')) return [false, true];
  if (list.every((value) => typeof value === 'number' && Number.isInteger(value))) {
    if (list.length > 12) throw new AppError('unprocessable', `label ${name} has ${list.length} distinct integers: too many classes (at most 12)`);
    return (list as number[]).sort((a, b) => a - b);
  }
  if (list.every((value) => typeof value === 'string')) {
    if (list.length > 20) throw new AppError('unprocessable', `label ${name} has ${list.length} distinct values: too many classes (at most 20)`);
    return (list as string[]).sort();
  }
  throw new AppError('unprocessable', `label ${name} mixes value types or is continuous: only class labels can be trained`);
}

/** The risk classes: the built-ins' bad outcomes, or the given value, or the custom defaults (see the module comment). */
export function riskClassesFor(name: string, classes: readonly LabelValue[], counts: ReadonlyMap<string, number>, riskClass?: string): number[] {
  if (riskClass !== undefined) {
    const k = classes.findIndex((value) => String(value) === riskClass);
    if (k < 0) throw new AppError('validation_failed', `risk class "${riskClass}" is not one of ${classes.map(String).join(', ')}`);
    return [k];
  }
  if (name === 'satisfaction') return classes.flatMap((value, k) => (typeof value === 'number' && value <= DISSATISFIED_AT_MOST ? [k] : []));
  if (classes.length === 2 && classes[0] === false) return [0];
  if (classes.every((value) => typeof value === 'number')) return [0];
  let rarest = 0;
  classes.forEach((value, k) => {
    if ((counts.get(classKey(value)) ?? 0) < (counts.get(classKey(classes[rarest]!)) ?? 0)) rarest = k;
  });
  return [rarest];
}
