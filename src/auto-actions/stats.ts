/**
 * Treated vs holdout comparison of two proportions. Wilson score intervals per group and
 * Newcombe's hybrid score interval for their difference (Newcombe 1998, method 10): unlike the
 * Wald interval it keeps its coverage with the small counts and rates near 0 or 1 that a fresh
 * policy's holdout group has, and it needs nothing but arithmetic.
 */
export const Z95 = 1.959963984540054;

export interface Rate {
  n: number;
  successes: number;
  rate: number | null;
}

export const rateOf = (successes: number, n: number): Rate => ({ n, successes, rate: n > 0 ? successes / n : null });

export function wilson(successes: number, n: number, z = Z95): [number, number] | null {
  if (n <= 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface Comparison {
  treated: Rate;
  holdout: Rate;
  difference: number | null;
  ci95: [number, number] | null;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export function compareRates(treated: Rate, holdout: Rate): Comparison {
  const a = wilson(treated.successes, treated.n);
  const b = wilson(holdout.successes, holdout.n);
  if (!a || !b || treated.rate === null || holdout.rate === null) return { treated, holdout, difference: null, ci95: null };
  const difference = treated.rate - holdout.rate;
  const lower = difference - Math.sqrt((treated.rate - a[0]) ** 2 + (b[1] - holdout.rate) ** 2);
  const upper = difference + Math.sqrt((a[1] - treated.rate) ** 2 + (holdout.rate - b[0]) ** 2);
  return { treated, holdout, difference: round(difference), ci95: [round(lower), round(upper)] };
}
