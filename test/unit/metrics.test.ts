import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../src/models/index.ts';

/** Brute force: over every (positive, negative) pair, 1 if the positive scores higher, ½ on a tie. */
function pairwiseAuc(scores: number[], labels: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
  });

  it('counts ties as one half', () => {
    expect(rocAuc([1, 1, 1, 1], [true, false, true, false])).toBe(0.5);
    // positive 2 vs negatives 1, 2: 1 + ½; positive 3 vs both: 2 → 3.5 / 4
    expect(rocAuc([1, 2, 2, 3], [false, false, true, true])).toBe(0.875);
  });

  it('matches the textbook example', () => {
    // scores of 4 positives and 4 negatives with one cross-class tie (0.6)
    const scores = [0.9, 0.8, 0.6, 0.55, 0.6, 0.4, 0.3, 0.1];
    const labels = [true, true, false, true, true, false, false, false];
    // positives 0.9, 0.8, 0.55, 0.6 vs negatives 0.6, 0.4, 0.3, 0.1: 4 + 4 + 3 + 3.5 = 14.5 of 16
    expect(rocAuc(scores, labels)).toBeCloseTo(14.5 / 16, 12);
  });

  it('agrees with the pairwise definition on random data with many ties', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 20; round++) {
      const n = 5 + Math.floor(random() * 200);
      const scores = Array.from({ length: n }, () => Math.floor(random() * 7) - 3);
      const labels = Array.from({ length: n }, () => random() < 0.3);
      if (!labels.includes(true) || !labels.includes(false)) continue;
      expect(rocAuc(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
    }
  });

  it('is undefined (null) with only one class', () => {
    expect(rocAuc([1, 2, 3], [true, true, true])).toBeNull();
    expect(rocAuc([1, 2, 3], [false, false, false])).toBeNull();
    expect(rocAuc([], [])).toBeNull();
  });

  it('rejects mismatched lengths and non-finite scores', () => {
    expect(() => rocAuc([1, 2], [true])).toThrow(/2 scores but 1 labels/);
    expect(() => rocAuc([1, Number.NaN], [true, false])).toThrow(/finite/);
  });
});
