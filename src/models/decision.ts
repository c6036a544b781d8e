/**
 * The class decision rule, shared by evaluation and serving: argmax of log p_k + bias_k, where
 * bias_k = −power · log max(prior_k, floor) (evaluate.ts tunes power and floor).
 */
export function decide(probs: ArrayLike<number>, bias: readonly number[]): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let k = 0; k < bias.length; k++) {
    const score = Math.log(Math.max(probs[k]!, 1e-300)) + bias[k]!;
    if (score > bestScore) {
      bestScore = score;
      best = k;
    }
  }
  return best;
}

export function decisionBiasFor(priors: readonly number[], power: number, floor = 0): number[] {
  return priors.map((p) => (p > 0 ? -power * Math.log(Math.max(p, floor)) : -1e9));
}

/** P(bad outcome): the summed probability of the risk classes. */
export function riskOf(probs: ArrayLike<number>, riskClasses: readonly number[]): number {
  let risk = 0;
  for (const k of riskClasses) risk += probs[k]!;
  return risk;
}
