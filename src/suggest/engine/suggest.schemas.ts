import { z } from 'zod';
import { apiSchemas } from '../../platform/index.ts';
import { conversationMessageBody } from '../rules/index.ts';

/** POST /v1/suggest and POST /v1/suggest/rank. */

const context = z.array(conversationMessageBody).min(1).max(200).describe('The conversation so far, oldest first (instead of a ticket id)');

export const suggestBody = z
  .object({
    ticketId: z.uuid().optional().describe('A live ticket: its messages and facts are read from the core'),
    context: context.optional(),
    top: z.number().int().min(1).max(10).default(3).describe('At most this many suggestions'),
    minScore: z.number().min(0).max(1).optional().describe('Confidence gate for learned suggestions (default: the server’s SUGGEST_MIN_SCORE)'),
    brand: z.string().max(200).optional().describe('Multi-brand listings: suggest this brand’s replies'),
    outcome: z.boolean().default(true).describe('Predict the outcome if each suggestion is sent (needs a promoted satisfaction model)'),
  })
  .strict()
  .refine((body) => (body.ticketId === undefined) !== (body.context === undefined), { message: 'give exactly one of ticketId and context', path: ['ticketId'] });

export const rankBody = z
  .object({
    ticketId: z.uuid().optional(),
    context: context.optional(),
    candidates: z.array(z.string().min(1).max(5000)).min(1).max(200).describe('Candidate replies to score, e.g. a console’s own canned answers'),
    brand: z.string().max(200).optional(),
  })
  .strict()
  .refine((body) => (body.ticketId === undefined) !== (body.context === undefined), { message: 'give exactly one of ticketId and context', path: ['ticketId'] });

export const suggestionSourcesView = ['rule', 'canned', 'learned'] as const;

export const suggestedReplyView = z
  .object({
    id: z.string().describe('Report its fate to POST /v1/suggestions/{id}/feedback'),
    text: z.string(),
    source: z.enum(suggestionSourcesView),
    score: z.number().describe('Rules and their canned content: 1 (a developer asked for it); learned: the ranker’s probability among its candidates'),
    ruleId: z.string().nullable(),
    ruleVersion: z.number().nullable(),
    cannedResponseId: z.string().nullable(),
    replyId: z.number().nullable().describe('Learned: the canonical reply (cluster) in the listing’s reply index'),
    evidence: z
      .object({
        matchedTerms: z.array(z.string()).optional().describe('Rules: the terms that made the rule fire'),
        timesGiven: z.number().optional().describe('Learned: how often CSRs gave this reply in the listing’s history'),
        url: z.string().optional(),
        docId: z.string().optional(),
      })
      .describe('Why this suggestion'),
    predictedOutcome: z
      .object({ target: z.string(), modelVersion: z.number(), risk: z.number().describe('P(bad outcome) if this reply is sent next') })
      .nullable(),
  })
  .register(apiSchemas, { id: 'SuggestedReply' });

export const suggestedActionView = z
  .object({
    type: z.enum(['auto_action', 'handoff', 'tag']),
    ruleId: z.string().nullable(),
    ruleName: z.string(),
    detail: z.record(z.string(), z.unknown()),
  })
  .register(apiSchemas, { id: 'SuggestedAction' });

export const suggestView = z
  .object({
    ticketId: z.string().nullable(),
    suggestions: z.array(suggestedReplyView),
    actions: z.array(suggestedActionView).describe('Auto-action proposals, hand-off recommendations and tags from the rules that fired'),
    models: z.object({ reply: z.number().nullable(), outcome: z.number().nullable() }).describe('Versions used (null: none promoted)'),
    rulesRevision: z.number(),
  })
  .register(apiSchemas, { id: 'Suggestions' });

export const rankView = z
  .object({ scores: z.array(z.number()).describe('One per candidate, same order; higher is better'), model: z.number().describe('The reply model version') })
  .register(apiSchemas, { id: 'RankedCandidates' });

export type SuggestInput = z.input<typeof suggestBody>;
export type SuggestRequest = z.output<typeof suggestBody>;
export type RankInput = z.input<typeof rankBody>;
export type RankRequest = z.output<typeof rankBody>;
export type SuggestView = z.output<typeof suggestView>;
export type SuggestedReply = z.output<typeof suggestedReplyView>;
export type SuggestedAction = z.output<typeof suggestedActionView>;
