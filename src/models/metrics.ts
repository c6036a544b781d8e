/**
 * Evaluation metrics for the outcome models.
 */

/**
 * Area under the ROC curve of `scores` for the binary `labels` (true = positive): the probability
 * that a random positive scores higher than a random negative, ties counting one half. Computed
 * as the Mann–Whitney U statistic over mid-ranks (tied scores share the mean of their ranks), in
 * O(n log n). Returns null when either class is empty (the AUC is undefined). Scores must be
 * finite numbers.
 */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number | null {
  if (scores.length !== labels.length) throw new Error(`rocAuc: ${scores.length} scores but ${labels.length} labels`);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i);
  for (const score of scores) if (!Number.isFinite(score)) throw new Error(`rocAuc: score ${score} is not a finite number`);
  order.sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    // Ranks start..end-1 (0-based) → 1-based mid-rank of the tie group.
    const midRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (labels[order[k]!]) {
        positives++;
        positiveRankSum += midRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  const u = positiveRankSum - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}

/**
 * Average precision (the area under the precision–recall curve as a step function, what
 * scikit-learn's `average_precision_score` computes): Σ over distinct score thresholds, highest
 * first, of (recall gained) × (precision at that threshold). Tied scores enter together. Null when
 * there is no positive.
 */
export function averagePrecision(scores: readonly number[], labels: readonly boolean[]): number | null {
  if (scores.length !== labels.length) throw new Error(`averagePrecision: ${scores.length} scores but ${labels.length} labels`);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const positives = labels.filter(Boolean).length;
  if (positives === 0) return null;
  let truePositives = 0;
  let seen = 0;
  let ap = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    let gained = 0;
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) {
      if (labels[order[end]!]) gained++;
      end++;
    }
    truePositives += gained;
    seen = end;
    if (gained > 0) ap += (gained / positives) * (truePositives / seen);
    start = end;
  }
  return ap;
}

/** counts[actual][predicted] over classes 0…k−1. */
export function confusionMatrix(predicted: readonly number[], actual: readonly number[], classes: number): number[][] {
  if (predicted.length !== actual.length) throw new Error(`confusionMatrix: ${predicted.length} predictions but ${actual.length} labels`);
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < predicted.length; i++) counts[actual[i]!]![predicted[i]!]!++;
  return counts;
}

/**
 * Unweighted average recall: the mean of the per-class recalls. The USS baselines (their
 * `test()` in baselines/train_sat.py) divide by the number of classes, all five, and count a class
 * absent from the test fold as recall 0; `absent: 'skip'` averages over the classes present instead.
 */
export function unweightedAverageRecall(
  predicted: readonly number[],
  actual: readonly number[],
  classes: number,
  absent: 'zero' | 'skip' = 'zero',
): { uar: number; recall: Array<number | null> } {
  const matrix = confusionMatrix(predicted, actual, classes);
  const recall = matrix.map((row, k) => {
    const support = row.reduce((sum, count) => sum + count, 0);
    return support === 0 ? null : row[k]! / support;
  });
  const counted = absent === 'zero' ? recall.map((value) => value ?? 0) : recall.filter((value): value is number => value !== null);
  return { uar: counted.length === 0 ? 0 : counted.reduce((sum, value) => sum + value, 0) / counted.length, recall };
}

/** Cohen's kappa (unweighted) between two labelings; null when chance agreement is 1. */
export function cohenKappa(predicted: readonly number[], actual: readonly number[], classes: number): number | null {
  const matrix = confusionMatrix(predicted, actual, classes);
  const n = predicted.length;
  if (n === 0) return null;
  let agree = 0;
  let chance = 0;
  for (let k = 0; k < classes; k++) {
    agree += matrix[k]![k]!;
    const rowSum = matrix[k]!.reduce((sum, count) => sum + count, 0);
    let columnSum = 0;
    for (let j = 0; j < classes; j++) columnSum += matrix[j]![k]!;
    chance += (rowSum / n) * (columnSum / n);
  }
  if (chance === 1) return null;
  return (agree / n - chance) / (1 - chance);
}

/**
 * Spearman's rho as the USS repository computes it (baselines/spearman.py): each value ranked by
 * 1 + the number of values below it (tied values share the lowest rank, not the mean), then
 * 1 − 6 Σd² / (n(n² − 1)). With the many ties of 5-class ratings this is not the textbook
 * coefficient (see `spearman`); it is kept so the figures compare with the published ones.
 */
export function spearmanUss(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length) throw new Error(`spearmanUss: ${x.length} vs ${y.length} values`);
  const n = x.length;
  if (n < 2) return null;
  const rx = lowestRanks(x);
  const ry = lowestRanks(y);
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (rx[i]! - ry[i]!) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

function lowestRanks(values: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const first = new Map<number, number>();
  sorted.forEach((value, i) => {
    if (!first.has(value)) first.set(value, i + 1);
  });
  return values.map((value) => first.get(value)!);
}

/** Spearman's rho with ties: the Pearson correlation of mid-ranks. Null when either side is constant. */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length) throw new Error(`spearman: ${x.length} vs ${y.length} values`);
  if (x.length < 2) return null;
  return pearson(midRanks(x), midRanks(y));
}

function midRanks(values: readonly number[]): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    for (let k = start; k < end; k++) ranks[order[k]!] = (start + 1 + end) / 2;
    start = end;
  }
  return ranks;
}

function pearson(x: readonly number[], y: readonly number[]): number | null {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
}

export interface BinaryF1 {
  precision: number;
  recall: number;
  /** The harmonic mean 2PR / (P + R); 0 when both are 0. */
  f1: number;
  /**
   * The USS repository's formula: 2PR / max(P + R, 1). Equal to `f1` when P + R ≥ 1 and smaller
   * otherwise; the published "F1 of the dissatisfied class" figures are this.
   */
  f1Uss: number;
}

/** Precision, recall and F1 of the positive class; precision and recall are 0 when undefined (as in USS). */
export function binaryF1(predicted: readonly boolean[], actual: readonly boolean[]): BinaryF1 {
  if (predicted.length !== actual.length) throw new Error(`binaryF1: ${predicted.length} predictions but ${actual.length} labels`);
  let tp = 0;
  let predictedPositive = 0;
  let actualPositive = 0;
  for (let i = 0; i < predicted.length; i++) {
    if (predicted[i]) predictedPositive++;
    if (actual[i]) actualPositive++;
    if (predicted[i] && actual[i]) tp++;
  }
  const precision = tp / Math.max(predictedPositive, 1);
  const recall = tp / Math.max(actualPositive, 1);
  return {
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    f1Uss: (2 * precision * recall) / Math.max(precision + recall, 1),
  };
}

/** Mean negative log-likelihood of the true class; probabilities clipped to [1e-15, 1]. */
export function logLoss(probs: readonly ArrayLike<number>[], actual: readonly number[]): number {
  if (probs.length !== actual.length) throw new Error(`logLoss: ${probs.length} predictions but ${actual.length} labels`);
  if (probs.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < probs.length; i++) sum -= Math.log(Math.max(probs[i]![actual[i]!]!, 1e-15));
  return sum / probs.length;
}

/** Multi-class Brier score: the mean over examples of Σ_k (p_k − [k = true class])². Binary: twice the usual (p − y)². */
export function brierScore(probs: readonly ArrayLike<number>[], actual: readonly number[]): number {
  if (probs.length !== actual.length) throw new Error(`brierScore: ${probs.length} predictions but ${actual.length} labels`);
  if (probs.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    for (let k = 0; k < p.length; k++) sum += (p[k]! - (k === actual[i] ? 1 : 0)) ** 2;
  }
  return sum / probs.length;
}

/** The binary Brier score: mean (p − y)². */
export function binaryBrier(p: readonly number[], actual: readonly boolean[]): number {
  if (p.length !== actual.length) throw new Error(`binaryBrier: ${p.length} predictions but ${actual.length} labels`);
  if (p.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += (p[i]! - (actual[i] ? 1 : 0)) ** 2;
  return sum / p.length;
}

export interface CalibrationBin {
  /** Predicted probabilities in [from, to) (the last bin includes 1). */
  from: number;
  to: number;
  count: number;
  meanPredicted: number | null;
  observedRate: number | null;
}

/**
 * Reliability table of a probability against what happened: equal-width bins, each with its
 * mean prediction and the observed frequency; plus the expected calibration error (the
 * count-weighted mean |observed − predicted|).
 */
export function calibrationTable(p: readonly number[], actual: readonly boolean[], bins = 10): { bins: CalibrationBin[]; ece: number | null } {
  if (p.length !== actual.length) throw new Error(`calibrationTable: ${p.length} predictions but ${actual.length} labels`);
  const sums = Array.from({ length: bins }, () => ({ count: 0, predicted: 0, observed: 0 }));
  for (let i = 0; i < p.length; i++) {
    const bin = sums[Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)))]!;
    bin.count++;
    bin.predicted += p[i]!;
    if (actual[i]) bin.observed++;
  }
  let gap = 0;
  const table = sums.map((bin, k) => {
    if (bin.count > 0) gap += Math.abs(bin.observed - bin.predicted);
    return {
      from: k / bins,
      to: (k + 1) / bins,
      count: bin.count,
      meanPredicted: bin.count === 0 ? null : bin.predicted / bin.count,
      observedRate: bin.count === 0 ? null : bin.observed / bin.count,
    };
  });
  return { bins: table, ece: p.length === 0 ? null : gap / p.length };
}
