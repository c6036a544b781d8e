/**
 * Response-selection metrics. The rank of the true candidate counts every other candidate scoring
 * higher *or equal* (ties are resolved against the model), so a constant scorer gets rank N, not
 * an average: a feature that cannot tell candidates apart earns nothing.
 */

/** 1-based rank of candidate `truth` among `scores` (pessimistic on ties). */
export function rankOf(scores: ArrayLike<number>, truth: number): number {
  const target = scores[truth]!;
  let rank = 1;
  for (let i = 0; i < scores.length; i++) if (i !== truth && !(scores[i]! < target)) rank++;
  return rank;
}

export interface RankingMetrics {
  examples: number;
  recallAt1: number;
  recallAt5: number;
  mrr: number;
}

/** Recall@1, Recall@5 and mean reciprocal rank of 1-based ranks (Infinity: not ranked at all). */
export function rankingMetrics(ranks: readonly number[]): RankingMetrics {
  let at1 = 0;
  let at5 = 0;
  let reciprocal = 0;
  for (const rank of ranks) {
    if (rank <= 1) at1++;
    if (rank <= 5) at5++;
    if (Number.isFinite(rank)) reciprocal += 1 / rank;
  }
  const n = ranks.length;
  return {
    examples: n,
    recallAt1: n ? at1 / n : 0,
    recallAt5: n ? at5 / n : 0,
    mrr: n ? reciprocal / n : 0,
  };
}
