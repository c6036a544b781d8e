import { createHash } from 'node:crypto';
import type { PolicyConditions } from './auto-actions.schemas.ts';
import type { HesitationHit, HesitationKind } from './hesitation.ts';

/**
 * The pure decisions of auto-actions: whether a policy's conditions hold for a ticket, who is in
 * the holdout, whether a cap is reached, and the discount actually offered. The service gathers
 * the facts and applies the answers under the customer's lock.
 */

export interface PolicyFacts {
  status: string;
  /** Customer turns so far. */
  turn: number;
  hesitation: readonly HesitationHit[];
  /** Risk (0–1) of a bad outcome per model target; a missing target has no prediction. */
  risk: Readonly<Record<string, number | undefined>>;
  ruleTags: readonly string[];
}

export interface PolicyMatch {
  matched: boolean;
  /** Why it holds (every condition), or why not (the first that failed). */
  reasons: string[];
}

const HESITATION_WORDS: Record<HesitationKind, string> = {
  price_objection: 'price objection',
  deliberation: 'hesitation',
  competitor: 'competitor comparison',
};

export function matchPolicy(conditions: PolicyConditions, facts: PolicyFacts): PolicyMatch {
  const reasons: string[] = [];
  const fail = (reason: string): PolicyMatch => ({ matched: false, reasons: [reason] });

  const statuses = conditions.ticketStatus ?? ['waiting', 'assigned'];
  if (!statuses.includes(facts.status as (typeof statuses)[number])) return fail(`ticket is ${facts.status}, not ${statuses.join(' or ')}`);

  for (const { target, atLeast } of conditions.risk ?? []) {
    const value = facts.risk[target];
    if (value === undefined) return fail(`no ${target} prediction`);
    if (value < atLeast) return fail(`${target} risk ${value.toFixed(2)} < ${atLeast.toFixed(2)}`);
    reasons.push(`${target} risk ${value.toFixed(2)} ≥ ${atLeast.toFixed(2)}`);
  }

  if (conditions.hesitation) {
    const hit = facts.hesitation.find((candidate) => conditions.hesitation!.includes(candidate.kind));
    if (!hit) return fail(`no ${conditions.hesitation.map((kind) => HESITATION_WORDS[kind]).join(' / ')} in the last customer message`);
    reasons.push(`${HESITATION_WORDS[hit.kind]} in the last customer message ("${hit.phrase}")`);
  }

  if (conditions.ruleTags) {
    const tag = conditions.ruleTags.find((candidate) => facts.ruleTags.includes(candidate));
    if (!tag) return fail(`no rule tagged ${conditions.ruleTags.join(' / ')} fired`);
    reasons.push(`rule tag "${tag}"`);
  }

  if (conditions.turn) {
    const { min, max } = conditions.turn;
    if ((min !== undefined && facts.turn < min) || (max !== undefined && facts.turn > max)) {
      return fail(`turn ${facts.turn} outside ${min ?? 1}–${max ?? '∞'}`);
    }
    reasons.push(`turn ${facts.turn}`);
  }
  return { matched: true, reasons };
}

/**
 * A customer's fixed place in [0, 1) for one policy: the first 48 bits of SHA-256 over listing,
 * customer and policy. Deterministic (a customer is held out of a policy every time, on every
 * api process) and independent between policies, so holdouts of two policies do not overlap
 * more than chance says.
 */
export function holdoutBucket(listingId: string, customerId: string, policyId: string): number {
  const digest = createHash('sha256').update(`${listingId}\u0000${customerId}\u0000${policyId}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export const inHoldout = (bucket: number, holdoutPercent: number): boolean => bucket < holdoutPercent / 100;

export interface CapCounts {
  /** Actions logged for the customer today, over all policies of the listing. */
  customerToday: number;
  /** Of those, by this policy. */
  policyToday: number;
}

export interface Caps {
  listingPerCustomerPerDay: number;
  policyPerCustomerPerDay: number;
}

export function capReached(counts: CapCounts, caps: Caps): 'cap_customer' | 'cap_policy' | null {
  if (counts.customerToday >= caps.listingPerCustomerPerDay) return 'cap_customer';
  if (counts.policyToday >= caps.policyPerCustomerPerDay) return 'cap_policy';
  return null;
}

/** The discount offered: the policy's, never above the catalogue's cap (which may have dropped since). */
export function cappedDiscount(policyPercent: number | null, offerMax: number | null): number | null {
  if (offerMax === null) return null;
  return Math.min(policyPercent ?? offerMax, offerMax);
}
