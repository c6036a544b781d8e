import { z } from 'zod';
import { skillSchema } from '../../csrs/index.ts';
import { senderRoles } from '../../messages/index.ts';
import { apiSchemas } from '../../platform/index.ts';
import { sourceChannels } from '../../tickets/index.ts';
import { regexFlags, regexProblem, MAX_REGEX_LENGTH } from './regex-safety.ts';
import { templateProblems } from './templates.ts';
import { tokenize } from '../../features/index.ts';

/**
 * A keyword AI rule (seed 002, fig. 50: key terms in order → a reply set): ordered conditions over
 * the conversation, all of which must hold, and the actions it proposes when they do. The
 * definition is what each version stores (jsonb), so these schemas are its one description.
 *
 * Conditions look at the conversation as it stands when suggestions are asked for: the trigger is
 * its latest message. Text conditions (keywords, regex, tone) read, per `scope`, either the
 * latest message from one of `roles` ("last", the default: the customer's latest message) or
 * every message from those roles ("conversation").
 */

const roles = z.array(z.enum(senderRoles)).min(1).max(senderRoles.length);
const scope = z
  .enum(['last', 'conversation'])
  .default('last')
  .describe('last: the latest message from one of `roles`; conversation: every message from those roles so far');
const channelName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a channel name such as chat, sms, voice, email');
const tagName = z.string().trim().toLowerCase().regex(/^[a-z0-9][a-z0-9_.:-]{0,62}$/, 'a short tag');

const MAX_PHRASE_WORDS = 8;

const keywordsCondition = z
  .object({
    type: z.literal('keywords'),
    terms: z
      .array(z.string().trim().min(1).max(200))
      .min(1)
      .max(200)
      .describe('Words or phrases. Matched on Porter stems ("refunds" finds "refund"); a phrase matches consecutive words within one clause'),
    mode: z.enum(['any', 'all', 'none']).default('any').describe('any: one of the terms occurs; all: every term occurs; none: no term occurs'),
    near: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe('mode "all" only: the terms start within this many words of each other, in one message'),
    scope,
    roles: roles.default(['customer']).describe('Whose messages are read'),
  })
  .strict()
  .superRefine((condition, ctx) => {
    condition.terms.forEach((term, index) => {
      const words = tokenize(term).filter((token) => /[\p{L}\p{N}]/u.test(token));
      if (words.length === 0) ctx.addIssue({ code: 'custom', path: ['terms', index], message: 'a term needs at least one word (letters or digits)' });
      if (words.length > MAX_PHRASE_WORDS) ctx.addIssue({ code: 'custom', path: ['terms', index], message: `a phrase has at most ${MAX_PHRASE_WORDS} words` });
    });
    if (condition.near !== undefined && condition.mode !== 'all') ctx.addIssue({ code: 'custom', path: ['near'], message: 'near applies to mode "all" only' });
    if (condition.near !== undefined && condition.terms.length < 2) ctx.addIssue({ code: 'custom', path: ['near'], message: 'near needs at least two terms' });
  });

const regexCondition = z
  .object({
    type: z.literal('regex'),
    pattern: z
      .string()
      .min(1)
      .max(MAX_REGEX_LENGTH)
      .describe('A JavaScript regular expression (unicode mode), tested on the first 1,000 characters of each message read'),
    caseSensitive: z.boolean().default(false),
    negate: z.boolean().default(false).describe('Holds when the pattern matches none of the messages read'),
    scope,
    roles: roles.default(['customer']),
  })
  .strict()
  .superRefine((condition, ctx) => {
    const problem = regexProblem(condition.pattern, regexFlags(condition.caseSensitive));
    if (problem) ctx.addIssue({ code: 'custom', path: ['pattern'], message: problem });
  });

const roleCondition = z
  .object({ type: z.literal('role'), roles: roles.describe('The latest message is from one of these') })
  .strict();

const channelCondition = z
  .object({ type: z.literal('channel'), channels: z.array(channelName).min(1).max(20).describe('The latest message travelled on one of these') })
  .strict();

const bounds = <T extends { above?: number | undefined; below?: number | undefined }>(condition: T, ctx: z.RefinementCtx) => {
  if (condition.above === undefined && condition.below === undefined) ctx.addIssue({ code: 'custom', path: ['below'], message: 'give below, above or both' });
  if (condition.above !== undefined && condition.below !== undefined && condition.above >= condition.below) {
    ctx.addIssue({ code: 'custom', path: ['above'], message: 'above must be less than below (the value lies between them)' });
  }
};

const toneCondition = z
  .object({
    type: z.literal('tone'),
    below: z.number().min(-5).max(5).optional().describe('Holds when the tone is lower than this'),
    above: z.number().min(-5).max(5).optional().describe('Holds when the tone is higher than this'),
    scope: scope.describe('last: the tone of the latest message from `roles`; conversation: the mean over their messages'),
    roles: roles.default(['customer']),
  })
  .strict()
  .superRefine(bounds)
  .describe('Tone = AFINN score per word with negation (src/features scoreTone), about −1…+1 in practice');

const businessHoursCondition = z
  .object({ type: z.literal('business_hours'), open: z.boolean().describe('true: holds while the listing is open (schedule and holidays); false: while it is closed') })
  .strict();

const ticketSourceCondition = z
  .object({ type: z.literal('ticket_source'), sources: z.array(z.enum(sourceChannels)).min(1).describe('The ticket began on one of these channels') })
  .strict();

const outcomeRiskCondition = z
  .object({
    type: z.literal('outcome_risk'),
    target: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a model target such as resolution, satisfaction, conversion'),
    above: z.number().min(0).max(1).optional(),
    below: z.number().min(0).max(1).optional(),
  })
  .strict()
  .superRefine(bounds)
  .describe("The predicted risk (0–1) of a bad outcome for the target; does not hold when there is no prediction");

const turnCondition = z
  .object({
    type: z.literal('turn'),
    min: z.number().int().min(1).max(1000).optional(),
    max: z.number().int().min(1).max(1000).optional(),
  })
  .strict()
  .superRefine((condition, ctx) => {
    if (condition.min === undefined && condition.max === undefined) ctx.addIssue({ code: 'custom', path: ['min'], message: 'give min, max or both' });
    if (condition.min !== undefined && condition.max !== undefined && condition.min > condition.max) ctx.addIssue({ code: 'custom', path: ['max'], message: 'max must be at least min' });
  })
  .describe('Customer turns so far (a turn: consecutive customer messages), counting the latest');

export const ruleCondition = z.discriminatedUnion('type', [
  keywordsCondition,
  regexCondition,
  roleCondition,
  channelCondition,
  toneCondition,
  businessHoursCondition,
  ticketSourceCondition,
  outcomeRiskCondition,
  turnCondition,
]).register(apiSchemas, { id: 'RuleCondition' });

const template = z
  .string()
  .min(1)
  .max(2000)
  .superRefine((text, ctx) => {
    for (const message of templateProblems(text)) ctx.addIssue({ code: 'custom', message });
  })
  .describe('Text with variables: {{customer.name}}, {{customer.first_name}}, {{csr.name}}, {{csr.first_name}}, {{listing.name}}, {{ticket.ref}}; a fallback after a bar: {{customer.first_name | there}}');

export const autoActions = ['send_offer', 'request_payment', 'send_message', 'raise_priority', 'request_rating'] as const;

export const ruleAction = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reply_set'), replies: z.array(z.object({ text: template }).strict()).min(1).max(10) }).strict(),
  z.object({ type: z.literal('canned'), cannedResponseIds: z.array(z.uuid()).min(1).max(10).describe('Canned responses of the listing to suggest') }).strict(),
  z
    .object({
      type: z.literal('auto_action'),
      action: z.enum(autoActions),
      text: template.optional().describe('The message or offer text, where the action sends one'),
      params: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,39}$/), z.union([z.string().max(500), z.number(), z.boolean()])).optional(),
      reason: z.string().trim().max(500).optional().describe('Shown with the proposal and logged with the action'),
    })
    .strict(),
  z
    .object({
      type: z.literal('handoff'),
      priority: z.enum(['normal', 'high', 'urgent']).default('normal'),
      skills: z.array(skillSchema).max(20).default([]),
      reason: z.string().trim().max(500).optional(),
    })
    .strict(),
  z.object({ type: z.literal('tag'), tags: z.array(tagName).min(1).max(20) }).strict(),
]).register(apiSchemas, { id: 'RuleAction' });

export const ruleDefinition = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).default(''),
    priority: z.number().int().min(-1000).max(1000).default(0).describe('Higher runs first; equal priorities run in name order'),
    stopProcessing: z.boolean().default(false).describe('When this rule fires, lower-priority rules are not evaluated'),
    conditions: z.array(ruleCondition).min(1).max(20).describe('All must hold; evaluated in this order'),
    actions: z.array(ruleAction).min(1).max(10),
  })
  .strict();

export const updateRuleBody = ruleDefinition
  .extend({
    baseVersion: z.number().int().min(1).optional().describe('Refuse (409) unless this is still the latest version: guards against lost updates'),
  })
  .strict();

export const ruleIdParams = z.object({ id: z.uuid() });
export const ruleStatuses = ['draft', 'published', 'deleted'] as const;

export const listRulesQuery = z
  .object({
    status: z.enum(['draft', 'published']).optional().describe('draft: never published; published: has a published version'),
    q: z.string().trim().min(1).max(200).optional().describe('Text to find in the name or description'),
    limit: z.coerce.number().int().min(1).max(2000).default(200),
  })
  .strict();

/** Optional: a POST without a body publishes the latest version. */
export const publishRuleBody = z
  .object({ version: z.number().int().min(1).optional().describe('The version to publish; the latest when left out') })
  .strict()
  .nullish();

export const rollbackRuleBody = z
  .object({ version: z.number().int().min(1).describe('The earlier version to go back to') })
  .strict();

export type RuleCondition = z.output<typeof ruleCondition>;
export type RuleAction = z.output<typeof ruleAction>;
export type RuleDefinition = z.output<typeof ruleDefinition>;
export type RuleDefinitionInput = z.input<typeof ruleDefinition>;
export type UpdateRuleInput = z.input<typeof updateRuleBody>;
export type ListRulesInput = z.input<typeof listRulesQuery>;
export type RuleStatus = (typeof ruleStatuses)[number];

// ---------------------------------------------------------------------------------------------
// Views

const actorView = z.object({ keyId: z.string().optional(), role: z.string().optional() }).describe('The key that made the change');

export const ruleView = z
  .object({
    id: z.string(),
    listingId: z.string(),
    name: z.string(),
    description: z.string(),
    status: z.enum(ruleStatuses),
    priority: z.number(),
    stopProcessing: z.boolean(),
    latestVersion: z.number().describe('The newest saved version (what an update builds on)'),
    publishedVersion: z.number().nullable().describe('The version the suggest API evaluates; null until published'),
    unpublishedChanges: z.boolean().describe('The latest version is not the published one'),
    definition: ruleDefinition.describe('The latest version'),
    createdAt: z.date(),
    updatedAt: z.date(),
    publishedAt: z.date().nullable(),
  })
  .register(apiSchemas, { id: 'Rule' });

export const ruleVersionView = z
  .object({
    version: z.number(),
    definition: ruleDefinition,
    restoredFrom: z.number().nullable().describe('Set when a rollback created this version as a copy of an earlier one'),
    published: z.boolean().describe('This is the published version'),
    changedBy: actorView,
    createdAt: z.date(),
  })
  .register(apiSchemas, { id: 'RuleVersion' });

export type RuleView = z.output<typeof ruleView>;
export type RuleVersionView = z.output<typeof ruleVersionView>;
