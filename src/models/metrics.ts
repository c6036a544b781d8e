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
