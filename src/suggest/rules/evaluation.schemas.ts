import { z } from 'zod';
import { senderRoles } from '../../messages/index.ts';
import { apiSchemas } from '../../platform/index.ts';
import { sourceChannels } from '../../tickets/index.ts';
import { autoActions, ruleDefinition } from './rules.schemas.ts';
import { templateVariables } from './templates.ts';

/** Inputs and outputs of evaluating rules: POST /v1/rules/test and POST /v1/rules/replay. */

const timestamp = z.iso.datetime({ offset: true });
const targetName = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a model target such as resolution');

export const conversationMessageBody = z
  .object({
    role: z.enum(senderRoles),
    text: z.string().max(10_000),
    channel: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a channel name such as chat, sms, voice, email').optional(),
    ts: timestamp.optional(),
    seq: z.number().int().min(1).optional().describe('Default: the position in the list, from 1'),
  })
  .strict();

export const ruleTestBody = z
  .object({
    messages: z.array(conversationMessageBody).min(1).max(500).describe('The conversation so far, oldest first; the last one is the latest'),
    ticket: z.object({ source: z.enum(sourceChannels).optional(), ref: z.string().max(100).optional() }).strict().optional(),
    customer: z.object({ name: z.string().trim().max(200).optional() }).strict().optional(),
    csr: z.object({ name: z.string().trim().max(200).optional() }).strict().optional(),
    now: timestamp.optional().describe('When business hours are judged (default: now)'),
    risk: z.record(targetName, z.number().min(0).max(1)).optional().describe('Predicted outcome risks to assume, by model target'),
    ruleIds: z.array(z.uuid()).min(1).max(100).optional().describe('Saved rules to test, at their latest version (published or not)'),
    rules: z.array(ruleDefinition).min(1).max(20).optional().describe('Unsaved rule definitions to test'),
  })
  .strict()
  .describe('With neither ruleIds nor rules, the published rules are tested, exactly as the suggest API evaluates them');

export const ruleMatchView = z.object({
  condition: z.number().describe('Index of the condition in the rule'),
  type: z.enum(['keywords', 'regex']),
  term: z.string().describe('The term as written in the rule, or the text the pattern matched'),
  seq: z.number().describe('The message it occurs in'),
  position: z.number().describe('Word position (keywords) or character offset (regex) in that message'),
});

const missingVariables = z.array(z.enum(templateVariables)).describe('Variables with neither a value nor a fallback (rendered empty)');

export const renderedActionView = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reply_set'), replies: z.array(z.object({ text: z.string(), missingVariables })) }),
  z.object({ type: z.literal('canned'), cannedResponseIds: z.array(z.string()) }),
  z.object({
    type: z.literal('auto_action'),
    action: z.enum(autoActions),
    text: z.string().optional(),
    missingVariables: missingVariables.optional(),
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    reason: z.string().optional(),
  }),
  z.object({ type: z.literal('handoff'), priority: z.enum(['normal', 'high', 'urgent']), skills: z.array(z.string()), reason: z.string().optional() }),
  z.object({ type: z.literal('tag'), tags: z.array(z.string()) }),
]);

export const firedRuleView = z
  .object({
    ruleId: z.string().nullable().describe('null for an unsaved rule given in the request'),
    version: z.number().nullable(),
    name: z.string(),
    priority: z.number(),
    stopProcessing: z.boolean(),
    matches: z.array(ruleMatchView).describe('The keyword and pattern occurrences that made it fire'),
    actions: z.array(renderedActionView).describe('Variables rendered'),
  })
  .register(apiSchemas, { id: 'FiredRule' });

export const ruleTestView = z
  .object({
    tested: z.enum(['published', 'selected']),
    revision: z.number().nullable().describe('The published set\'s revision (tested = published)'),
    rules: z.number().describe('Rules in the tested set'),
    evaluated: z.number().describe('Rules whose conditions were evaluated: those with a keyword hit or without keyword conditions'),
    fired: z.array(firedRuleView).describe('Highest priority first'),
    stoppedBy: z.object({ ruleId: z.string().nullable(), name: z.string() }).nullable(),
    explanations: z
      .array(
        z.object({
          ruleId: z.string().nullable(),
          name: z.string(),
          fired: z.boolean(),
          skipped: z.boolean().describe('Not evaluated: a higher-priority rule fired and stops processing'),
          conditions: z.array(z.object({ index: z.number(), type: z.string(), passed: z.boolean(), detail: z.string() })),
        }),
      )
      .describe('Every condition of every selected rule (tested = selected), or of the fired rules (tested = published)'),
  })
  .register(apiSchemas, { id: 'RuleTestResult' });

const isoDay = z.iso.date();

export const ruleReplayBody = z
  .object({
    rule: ruleDefinition.optional().describe('An unsaved definition to replay'),
    ruleId: z.uuid().optional().describe('A saved rule to replay'),
    version: z.number().int().min(1).optional().describe('With ruleId: the version (default: the latest)'),
    from: isoDay.optional().describe('Only conversations created on or after this UTC day'),
    to: isoDay.optional().describe('Only conversations created on or before this UTC day'),
    limit: z.number().int().min(1).max(100_000).default(10_000).describe('Most recent conversations to scan at most'),
    sample: z.number().int().min(0).max(200).default(20).describe('Fired conversations to list'),
  })
  .strict()
  .refine((body) => (body.rule === undefined) !== (body.ruleId === undefined), { message: 'give exactly one of rule or ruleId', path: ['rule'] })
  .refine((body) => body.version === undefined || body.ruleId !== undefined, { message: 'version goes with ruleId', path: ['version'] })
  .refine((body) => body.from === undefined || body.to === undefined || body.from <= body.to, { message: 'from must not be after to', path: ['from'] });

const outcomeStats = z.object({
  conversations: z.number(),
  resolved: z.object({ labelled: z.number(), rate: z.number().nullable() }),
  satisfaction: z.object({ labelled: z.number(), mean: z.number().nullable() }),
  converted: z.object({ labelled: z.number(), rate: z.number().nullable() }),
});

export const ruleReplayView = z
  .object({
    scanned: z.number().describe('Conversations evaluated'),
    truncated: z.boolean().describe('More conversations matched the period than `limit`'),
    fired: z.number().describe('Conversations in which the rule would have fired at least once'),
    firedRate: z.number().nullable(),
    firings: z.number().describe('Messages after which it would have fired, over all conversations'),
    sample: z.array(
      z.object({
        interactionId: z.string(),
        seq: z.number().describe('The first message after which it would have fired'),
        matches: z.array(ruleMatchView),
      }),
    ),
    outcomes: z.object({ fired: outcomeStats, notFired: outcomeStats }).describe('Outcome labels of the conversations where it fired vs the rest'),
    notes: z.array(z.string()),
    tookMs: z.number(),
  })
  .register(apiSchemas, { id: 'RuleReplayResult' });

export type RuleTestInput = z.input<typeof ruleTestBody>;
export type RuleTestView = z.output<typeof ruleTestView>;
export type RuleReplayInput = z.input<typeof ruleReplayBody>;
export type RuleReplayView = z.output<typeof ruleReplayView>;
export type OutcomeStats = z.output<typeof outcomeStats>;
