import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  capReached,
  cappedDiscount,
  compareRates,
  detectHesitation,
  holdoutBucket,
  inHoldout,
  matchPolicy,
  policyConditions,
  rateOf,
  wilson,
  type PolicyFacts,
} from '../../src/auto-actions/index.ts';

const kinds = (text: string) => detectHesitation(text).map((hit) => hit.kind);

describe('hesitation in the last customer message', () => {
  it.each([
    ['That is way too expensive for me', ['price_objection'], 'too expensive'],
    ["I can't afford that right now", ['price_objection'], "can't afford"],
    ['Hmm, let me think about it', ['deliberation'], 'let me think'],
    ["I'm not sure yet", ['deliberation'], 'not sure'],
    ['Your competitor sells it for less', ['competitor'], 'competitor'],
    ['I found it cheaper at another store', ['price_objection', 'competitor'], 'cheaper'],
  ])('"%s" → %j', (text, expected, phrase) => {
    expect(kinds(text)).toEqual(expected);
    expect(detectHesitation(text)[0]!.phrase).toBe(phrase);
  });

  it.each(["It's not too expensive", "I don't think it's expensive", 'Thanks, I will take it', 'I want a refund'])('"%s" → none', (text) => {
    expect(kinds(text)).toEqual([]);
  });

  it('reports the longest phrase of a kind and each kind once', () => {
    expect(detectHesitation('too expensive, really expensive, costs too much')).toEqual([{ kind: 'price_objection', phrase: 'too expensive' }]);
  });
});

const facts = (overrides: Partial<PolicyFacts> = {}): PolicyFacts => ({
  status: 'assigned',
  turn: 3,
  hesitation: [{ kind: 'price_objection', phrase: 'too expensive' }],
  risk: { converted: 0.8 },
  ruleTags: ['upsell'],
  ...overrides,
});
const conditions = (value: unknown) => policyConditions.parse(value);

describe('policy conditions', () => {
  it('holds when every given condition holds, with a reason for each', () => {
    const match = matchPolicy(
      conditions({ risk: [{ target: 'converted', atLeast: 0.7 }], hesitation: ['price_objection', 'competitor'], ruleTags: ['upsell'], turn: { min: 2, max: 5 } }),
      facts(),
    );
    expect(match).toEqual({
      matched: true,
      reasons: ['converted risk 0.80 ≥ 0.70', 'price objection in the last customer message ("too expensive")', 'rule tag "upsell"', 'turn 3'],
    });
  });

  it('fails on the first condition that does not hold, saying why', () => {
    const policy = conditions({ risk: [{ target: 'converted', atLeast: 0.9 }], hesitation: ['price_objection'] });
    expect(matchPolicy(policy, facts())).toEqual({ matched: false, reasons: ['converted risk 0.80 < 0.90'] });
    expect(matchPolicy(policy, facts({ risk: {} }))).toEqual({ matched: false, reasons: ['no converted prediction'] });
    expect(matchPolicy(conditions({ hesitation: ['deliberation'] }), facts()).reasons).toEqual(['no hesitation in the last customer message']);
    expect(matchPolicy(conditions({ ruleTags: ['vip'] }), facts()).matched).toBe(false);
    expect(matchPolicy(conditions({ hesitation: ['price_objection'], turn: { min: 4 } }), facts()).reasons).toEqual(['turn 3 outside 4–∞']);
    expect(matchPolicy(conditions({ hesitation: ['price_objection'] }), facts({ status: 'resolved' })).reasons).toEqual(['ticket is resolved, not waiting or assigned']);
    expect(matchPolicy(conditions({ hesitation: ['price_objection'], ticketStatus: ['waiting'] }), facts()).matched).toBe(false);
  });

  it('needs at least one of risk, hesitation or rule tags, and sane turn bounds', () => {
    expect(policyConditions.safeParse({ turn: { min: 2 } }).success).toBe(false);
    expect(policyConditions.safeParse({ hesitation: ['price_objection'], turn: { min: 5, max: 2 } }).success).toBe(false);
    expect(policyConditions.safeParse({ hesitation: ['price_objection'], turn: {} }).success).toBe(false);
    expect(policyConditions.safeParse({ risk: [{ target: 'converted', atLeast: 1.5 }] }).success).toBe(false);
  });
});

describe('holdout assignment', () => {
  it('is deterministic per listing, customer and policy', () => {
    const customer = randomUUID();
    expect(holdoutBucket('acme', customer, 'p1')).toBe(holdoutBucket('acme', customer, 'p1'));
    expect(holdoutBucket('acme', customer, 'p1')).not.toBe(holdoutBucket('acme', customer, 'p2'));
    expect(holdoutBucket('acme', customer, 'p1')).not.toBe(holdoutBucket('other', customer, 'p1'));
  });

  it('holds out the configured share of customers, uniformly and independently between policies', () => {
    const n = 50_000;
    const customers = Array.from({ length: n }, () => randomUUID());
    const a = customers.map((customer) => inHoldout(holdoutBucket('acme', customer, 'policy-a'), 10));
    const b = customers.map((customer) => inHoldout(holdoutBucket('acme', customer, 'policy-b'), 10));
    const share = (flags: boolean[]) => flags.filter(Boolean).length / n;
    // 10 % ± 4.5 standard errors (σ = √(0.1·0.9/n) ≈ 0.0013).
    expect(Math.abs(share(a) - 0.1)).toBeLessThan(0.006);
    expect(Math.abs(share(b) - 0.1)).toBeLessThan(0.006);
    // Independent: both held out ≈ 1 %.
    expect(Math.abs(a.filter((flag, i) => flag && b[i]).length / n - 0.01)).toBeLessThan(0.003);
    // Uniform: every tenth of [0, 1) gets about a tenth of the customers.
    const deciles = new Array<number>(10).fill(0);
    for (const customer of customers) deciles[Math.floor(holdoutBucket('acme', customer, 'policy-a') * 10)]!++;
    for (const count of deciles) expect(Math.abs(count / n - 0.1)).toBeLessThan(0.006);
    expect(customers.every((customer) => !inHoldout(holdoutBucket('acme', customer, 'policy-a'), 0))).toBe(true);
  });
});

describe('caps and discounts', () => {
  const caps = { listingPerCustomerPerDay: 3, policyPerCustomerPerDay: 1 };
  it('stops at the listing cap first, then at the policy cap', () => {
    expect(capReached({ customerToday: 0, policyToday: 0 }, caps)).toBeNull();
    expect(capReached({ customerToday: 2, policyToday: 0 }, caps)).toBeNull();
    expect(capReached({ customerToday: 1, policyToday: 1 }, caps)).toBe('cap_policy');
    expect(capReached({ customerToday: 3, policyToday: 1 }, caps)).toBe('cap_customer');
  });

  it("never offers more than the catalogue's cap", () => {
    expect(cappedDiscount(10, 20)).toBe(10);
    expect(cappedDiscount(null, 20)).toBe(20);
    expect(cappedDiscount(30, 15)).toBe(15);
    expect(cappedDiscount(null, null)).toBeNull();
  });
});

describe('treated vs holdout statistics', () => {
  it('computes Wilson intervals (Newcombe 1998, table I examples)', () => {
    const [lo, hi] = wilson(81, 263)!;
    expect(lo).toBeCloseTo(0.2553, 3);
    expect(hi).toBeCloseTo(0.3662, 3);
    const [zeroLo, zeroHi] = wilson(0, 10)!;
    expect(zeroLo).toBe(0);
    expect(zeroHi).toBeCloseTo(0.2775, 3);
    expect(wilson(0, 0)).toBeNull();
  });

  it("gives Newcombe's hybrid score interval for the difference (his example: 56/70 vs 48/80)", () => {
    const comparison = compareRates(rateOf(56, 70), rateOf(48, 80));
    expect(comparison.difference).toBeCloseTo(0.2, 6);
    expect(comparison.ci95![0]).toBeCloseTo(0.0524, 3);
    expect(comparison.ci95![1]).toBeCloseTo(0.3339, 3);
  });

  it('has no difference while a group is empty', () => {
    expect(compareRates(rateOf(3, 10), rateOf(0, 0))).toMatchObject({ difference: null, ci95: null, holdout: { n: 0, rate: null } });
  });
});
