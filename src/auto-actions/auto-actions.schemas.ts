import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';
import { openStatuses } from '../tickets/index.ts';
import { hesitationKinds } from './hesitation.ts';

export const offerKinds = ['discount', 'refund', 'escalate', 'other'] as const;
export type OfferKind = (typeof offerKinds)[number];
export const actionModes = ['propose', 'auto'] as const;
export type ActionMode = (typeof actionModes)[number];
export const actionStatuses = ['proposed', 'sending', 'sent', 'dismissed', 'holdout'] as const;
export type ActionStatus = (typeof actionStatuses)[number];

const name = z.string().trim().min(1).max(200);
const percent = z.number().gt(0).max(100);
const targetName = z.string().regex(/^[a-z][a-z0-9_.:-]{0,63}$/, 'a model target: converted, resolved, satisfaction or a custom label');
const tagName = z.string().trim().toLowerCase().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a short tag');

export const idParams = z.object({ id: z.uuid() });

// ---------------------------------------------------------------------------------------------
// Settings

export const autoActionSettingsBody = z
  .object({
    enabled: z.boolean().default(true).describe('false switches every auto-action of the listing off'),
    maxPerCustomerPerDay: z.number().int().min(1).max(1000).default(3).describe("Actions (treated or held out) per customer per listing-local day, over all policies"),
  })
  .strict()
  .register(apiSchemas, { id: 'AutoActionSettingsRequest' });

export const autoActionSettingsView = z
  .object({ enabled: z.boolean(), maxPerCustomerPerDay: z.number(), updatedAt: z.date().nullable().describe('null: the defaults') })
  .register(apiSchemas, { id: 'AutoActionSettings' });

// ---------------------------------------------------------------------------------------------
// Offer catalogue

export const offerBody = z
  .object({
    name,
    description: z.string().trim().max(2000).default(''),
    kind: z.enum(offerKinds).describe('discount (ABCD promo-code), refund (offer-refund), escalate (notify-team: never sent automatically), other'),
    maxDiscountPercent: percent.optional().describe('Required for discounts: no policy may give more'),
    code: z.string().trim().min(1).max(100).optional().describe('Promo code sent with the offer'),
  })
  .strict()
  .superRefine((offer, ctx) => {
    if (offer.kind === 'discount' && offer.maxDiscountPercent === undefined) {
      ctx.addIssue({ code: 'custom', path: ['maxDiscountPercent'], message: 'a discount needs maxDiscountPercent' });
    }
    if (offer.kind !== 'discount' && offer.maxDiscountPercent !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['maxDiscountPercent'], message: 'only discounts have a discount' });
    }
  })
  .register(apiSchemas, { id: 'AutoActionOfferRequest' });

export const offerView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    kind: z.enum(offerKinds),
    maxDiscountPercent: z.number().nullable(),
    code: z.string().nullable(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .register(apiSchemas, { id: 'AutoActionOffer' });

// ---------------------------------------------------------------------------------------------
// Policies

export const policyConditions = z
  .object({
    risk: z
      .array(z.object({ target: targetName, atLeast: z.number().min(0).max(1) }).strict())
      .min(1)
      .max(5)
      .optional()
      .describe("Every listed outcome model's risk (0–1) of a bad outcome reaches its threshold; no prediction: does not hold"),
    hesitation: z.array(z.enum(hesitationKinds)).min(1).max(hesitationKinds.length).optional().describe('Any of these in the last customer message'),
    ruleTags: z.array(tagName).min(1).max(20).optional().describe('Any of these tags among the keyword rules that fired'),
    turn: z
      .object({ min: z.number().int().min(1).max(1000).optional(), max: z.number().int().min(1).max(1000).optional() })
      .strict()
      .refine((turn) => turn.min !== undefined || turn.max !== undefined, 'give min, max or both')
      .refine((turn) => turn.min === undefined || turn.max === undefined || turn.min <= turn.max, 'max must be at least min')
      .optional()
      .describe('Customer turns so far (runs of consecutive customer messages)'),
    ticketStatus: z.array(z.enum(openStatuses)).min(1).optional().describe('Default: waiting or assigned'),
  })
  .strict()
  .refine((conditions) => conditions.risk !== undefined || conditions.hesitation !== undefined || conditions.ruleTags !== undefined, {
    message: 'give at least one of risk, hesitation or ruleTags',
  })
  .describe('All given conditions must hold')
  .register(apiSchemas, { id: 'AutoActionConditions' });

export const policyBody = z
  .object({
    name,
    description: z.string().trim().max(2000).default(''),
    enabled: z.boolean().default(true),
    priority: z.number().int().min(-1000).max(1000).default(0).describe('Higher is evaluated first (it takes the daily cap first)'),
    conditions: policyConditions,
    offerId: z.uuid().describe('An offer of the catalogue'),
    discountPercent: percent.optional().describe("Discounts: the percentage to offer, at most the offer's cap (default: the cap)"),
    mode: z.enum(actionModes).default('propose').describe('propose: shown to the CSR; auto: sent to the customer as an offer message'),
    holdoutPercent: z.number().min(0).max(50).default(10).describe('Share of customers (by a hash of listing, customer and policy) who never get the action'),
    maxPerCustomerPerDay: z.number().int().min(1).max(100).default(1).describe('Times this policy may act for one customer per listing-local day'),
  })
  .strict()
  .register(apiSchemas, { id: 'AutoActionPolicyRequest' });

export const policyView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    enabled: z.boolean(),
    priority: z.number(),
    conditions: z.record(z.string(), z.unknown()),
    offerId: z.string(),
    discountPercent: z.number().nullable(),
    mode: z.enum(actionModes),
    holdoutPercent: z.number(),
    maxPerCustomerPerDay: z.number(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .register(apiSchemas, { id: 'AutoActionPolicy' });

// ---------------------------------------------------------------------------------------------
// Evaluation and the action log

export const evaluateBody = z
  .object({
    ticketId: z.uuid(),
    signals: z
      .object({
        risk: z.record(targetName, z.number().min(0).max(1)).optional().describe('Model risks per target; override the injected model'),
        ruleTags: z.array(tagName).max(50).optional().describe('Tags of the rules that fired; override the injected rules'),
      })
      .strict()
      .default({}),
    dryRun: z.boolean().default(false).describe('Decide without writing or sending anything'),
  })
  .strict()
  .register(apiSchemas, { id: 'AutoActionEvaluateRequest' });

export const actionView = z
  .object({
    id: z.string(),
    ticketId: z.string(),
    customerId: z.string(),
    policyId: z.string(),
    policyName: z.string(),
    offer: z.object({ id: z.string(), name: z.string(), description: z.string(), kind: z.enum(offerKinds), code: z.string().nullable() }),
    action: z.enum(offerKinds),
    mode: z.enum(actionModes),
    status: z.enum(actionStatuses),
    holdout: z.boolean(),
    discountPercent: z.number().nullable(),
    reason: z.string(),
    inputs: z.record(z.string(), z.unknown()),
    messageId: z.string().nullable(),
    decidedAt: z.date().nullable(),
    createdAt: z.date(),
  })
  .register(apiSchemas, { id: 'AutoAction' });

export const skipReasons = ['conditions', 'already_acted', 'cap_customer', 'cap_policy', 'ticket_closed'] as const;

export const evaluationView = z
  .object({
    ticketId: z.string(),
    enabled: z.boolean().describe("The listing's switch"),
    dryRun: z.boolean(),
    facts: z.object({
      status: z.string(),
      turn: z.number(),
      hesitation: z.array(z.object({ kind: z.enum(hesitationKinds), phrase: z.string() })),
      risk: z.record(z.string(), z.number()),
      ruleTags: z.array(z.string()),
    }),
    actions: z.array(actionView).describe('Logged by this evaluation (treated and held out); in a dry run, what would be'),
    skipped: z.array(z.object({ policyId: z.string(), policyName: z.string(), reason: z.enum(skipReasons), detail: z.string() })),
  })
  .register(apiSchemas, { id: 'AutoActionEvaluation' });

export const dismissBody = z.object({ reason: z.string().trim().max(500).optional() }).strict().default({});

export const offerResponseParams = z.object({ id: z.uuid(), messageId: z.uuid() });
export const offerResponseBody = z.object({ accepted: z.boolean() }).strict();
export const offerResponseView = z
  .object({ ticketId: z.string(), messageId: z.string(), accepted: z.boolean(), createdAt: z.date() })
  .register(apiSchemas, { id: 'OfferResponse' });

// ---------------------------------------------------------------------------------------------
// Analytics

export const analyticsQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional().describe('Actions logged at or after'),
    to: z.iso.datetime({ offset: true }).optional().describe('Actions logged before'),
    policyId: z.uuid().optional(),
  })
  .strict();

const rate = z.object({ n: z.number().describe('Denominator'), successes: z.number(), rate: z.number().nullable() });
const comparison = z.object({
  treated: rate,
  holdout: rate,
  difference: z.number().nullable().describe('treated rate − holdout rate'),
  ci95: z.tuple([z.number(), z.number()]).nullable().describe("Newcombe's hybrid score interval for the difference (95 %)"),
});

export const policyReportView = z.object({
  policyId: z.string(),
  policyName: z.string(),
  mode: z.enum(actionModes),
  holdoutPercent: z.number(),
  eligible: z.number().describe('Tickets the policy held for'),
  treated: z.number().describe('Of those, not held out (intention to treat)'),
  holdout: z.number(),
  delivered: z.number().describe('Treated actions actually sent to the customer'),
  ended: z.object({ treated: z.number(), holdout: z.number() }),
  outcomes: z.object({
    converted: comparison.describe('Ended tickets with an accepted offer or a paid payment request'),
    resolved: comparison.describe('Ended tickets resolved (not abandoned)'),
    satisfied: comparison.describe('Rated tickets rated 4 or 5'),
  }),
  meanRating: z.object({ treated: z.number().nullable(), holdout: z.number().nullable() }),
});

export const analyticsView = z
  .object({ policies: z.array(policyReportView) })
  .register(apiSchemas, { id: 'AutoActionAnalytics' });

export type AutoActionSettingsInput = z.input<typeof autoActionSettingsBody>;
export type AutoActionSettingsView = z.output<typeof autoActionSettingsView>;
export type OfferInput = z.input<typeof offerBody>;
export type OfferView = z.output<typeof offerView>;
export type PolicyConditions = z.output<typeof policyConditions>;
export type PolicyInput = z.input<typeof policyBody>;
export type PolicyView = z.output<typeof policyView>;
export type EvaluateInput = z.input<typeof evaluateBody>;
export type ActionView = z.output<typeof actionView>;
export type EvaluationView = z.output<typeof evaluationView>;
export type SkipReason = (typeof skipReasons)[number];
export type AnalyticsQuery = z.output<typeof analyticsQuery>;
export type AnalyticsView = z.output<typeof analyticsView>;
export type PolicyReportView = z.output<typeof policyReportView>;
export type OfferResponseView = z.output<typeof offerResponseView>;
