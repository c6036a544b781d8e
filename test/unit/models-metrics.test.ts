import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  binaryBrier,
  binaryF1,
  brierScore,
  calibrationTable,
  cohenKappa,
  confusionMatrix,
  logLoss,
  spearman,
  spearmanUss,
  unweightedAverageRecall,
  ussArgmaxRating,
} from '../../src/models/index.ts';

// Every expected value below is worked out by hand in the comment beside it.

describe('outcome-model metrics', () => {
  it('average precision steps through thresholds, ties entering together', () => {
    // 0.9 (pos): P 1, +½·1; 0.8 (neg); 0.7 (pos): P 2/3, +½·2/3 → 0.8333
    expect(averagePrecision([0.9, 0.8, 0.7, 0.6], [true, false, true, false])).toBeCloseTo(0.5 + 1 / 3, 12);
    // 0.5 ×2 (one pos): P ½, +½·½; 0.2 (pos): P 2/3, +½·2/3 → 0.5833
    expect(averagePrecision([0.5, 0.5, 0.2], [true, false, true])).toBeCloseTo(0.25 + 1 / 3, 12);
    expect(averagePrecision([0.1, 0.2], [false, false])).toBeNull();
  });

  it('confusion matrix is counts[actual][predicted]', () => {
    expect(confusionMatrix([0, 1, 1, 2], [0, 0, 1, 2], 3)).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it('UAR counts an absent class as recall 0 (the USS baselines) or skips it', () => {
    // recalls: class 0 1/1, class 1 2/3, class 2 1/1; classes 3 and 4 absent
    const predicted = [0, 0, 1, 1, 2];
    const actual = [0, 1, 1, 1, 2];
    expect(unweightedAverageRecall(predicted, actual, 3).uar).toBeCloseTo((1 + 2 / 3 + 1) / 3, 12);
    const five = unweightedAverageRecall(predicted, actual, 5);
    expect(five.uar).toBeCloseTo((1 + 2 / 3 + 1) / 5, 12);
    expect(five.recall).toEqual([1, 2 / 3, 1, null, null]);
    expect(unweightedAverageRecall(predicted, actual, 5, 'skip').uar).toBeCloseTo((1 + 2 / 3 + 1) / 3, 12);
  });

  it("Cohen's kappa", () => {
    // agreement 3/4; chance: predicted (½, ½) × actual (¼, ¾) → ½; κ = (¾ − ½)/(1 − ½) = ½
    expect(cohenKappa([0, 0, 1, 1], [0, 1, 1, 1], 2)).toBeCloseTo(0.5, 12);
    expect(cohenKappa([1, 1], [1, 1], 2)).toBeNull();
  });

  it("Spearman: the USS formula ranks ties low; the textbook one uses mid-ranks", () => {
    // x ranks (lowest for ties) 1 2 2 4, y ranks 1 3 2 4: Σd² = 1; 1 − 6/(4·15) = 0.9
    expect(spearmanUss([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(0.9, 12);
    // mid-ranks 1 2.5 2.5 4 vs 1 3 2 4: Sxy 4.5, Sxx 4.5, Syy 5 → 4.5/√22.5
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
  });

  it('F1: harmonic mean, and the USS formula 2PR / max(P + R, 1)', () => {
    // tp 1, predicted 3, actual 2: P ⅓, R ½; harmonic 0.4; USS (⅓)/1
    const f1 = binaryF1([true, true, false, false, true], [true, false, true, false, false]);
    expect(f1.precision).toBeCloseTo(1 / 3, 12);
    expect(f1.recall).toBeCloseTo(0.5, 12);
    expect(f1.f1).toBeCloseTo(0.4, 12);
    expect(f1.f1Uss).toBeCloseTo(1 / 3, 12);
    // P + R ≥ 1: the two agree (P ½, R 1)
    const high = binaryF1([true, true], [true, false]);
    expect(high.f1Uss).toBeCloseTo(high.f1, 12);
    expect(binaryF1([false], [false])).toMatchObject({ precision: 0, recall: 0, f1: 0, f1Uss: 0 });
  });

  it('log loss and Brier', () => {
    // −(ln 0.8 + ln 0.3)/2
    expect(logLoss([[0.8, 0.2], [0.3, 0.7]], [0, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.3)) / 2, 12);
    // (0.04 + 0.04 + 0.49 + 0.49)/2
    expect(brierScore([[0.8, 0.2], [0.3, 0.7]], [0, 0])).toBeCloseTo(0.53, 12);
    // ((0.2)² + (0.7)²)/2
    expect(binaryBrier([0.8, 0.7], [true, false])).toBeCloseTo(0.265, 12);
  });

  it('calibration table and expected calibration error', () => {
    const { bins, ece } = calibrationTable([0.05, 0.15, 0.12, 0.95], [false, true, false, true], 10);
    expect(bins[0]).toMatchObject({ count: 1, meanPredicted: 0.05, observedRate: 0 });
    expect(bins[1]!.count).toBe(2);
    expect(bins[1]!.meanPredicted).toBeCloseTo(0.135, 12);
    expect(bins[1]!.observedRate).toBe(0.5);
    expect(bins[9]).toMatchObject({ count: 1, meanPredicted: 0.95, observedRate: 1 });
    expect(bins[5]).toMatchObject({ count: 0, meanPredicted: null, observedRate: null });
    // (|0 − 0.05| + |1 − 0.27| + |1 − 0.95|)/4
    expect(ece).toBeCloseTo(0.2075, 12);
  });

  it('the USS rating rule: argmax of the rating counts, ties to the lower rating', () => {
    expect(ussArgmaxRating([3, 3, 2, 3])).toBe(3);
    expect(ussArgmaxRating([3, 3, 2, 2])).toBe(2);
    expect(ussArgmaxRating([2, 2, 3, 3, 4])).toBe(2);
    expect(ussArgmaxRating([])).toBeNull();
  });
});

describe('drivers in words', () => {
  it('says what a feature value means', async () => {
    const { describeFeature, featureLabel } = await import('../../src/models/index.ts');
    expect(describeFeature('wait_first_csr_s', 840)).toBe('first reply came after 14 min');
    expect(describeFeature('wait_first_csr_s', null)).toBe('no CSR reply yet');
    expect(describeFeature('tone_last', -0.4)).toBe("the customer's latest message sounds very negative");
    expect(describeFeature('intent_refund', true)).toBe('the customer mentioned a refund');
    expect(describeFeature('words:csr_last', 'no availability')).toBe('the CSR\'s last reply says "no availability"');
    expect(describeFeature('message_count_channel_sms', 3)).toBe('3 messages on sms');
    expect(describeFeature('start_weekday', 6)).toBe('started on a Saturday');
    expect(featureLabel('csr_gap_mean_s')).toBe('CSR response time');
    expect(featureLabel('intent_human_request')).toBe('the customer mentioning wanting a human');
  });
});
