import { z } from 'zod';
import { apiSchemas } from '../../platform/index.ts';

export const suggestionSources = ['rule', 'canned', 'learned', 'llm'] as const;
export const feedbackOutcomes = ['used', 'edited', 'ignored'] as const;
export type SuggestionSource = (typeof suggestionSources)[number];
export type FeedbackOutcome = (typeof feedbackOutcomes)[number];

export const suggestionIdParams = z.object({ id: z.uuid() });

export const suggestionFeedbackBody = z
  .object({
    outcome: z.enum(feedbackOutcomes).describe('used: sent as suggested; edited: sent after changing it; ignored: not sent'),
    editedText: z.string().min(1).max(10_000).optional().describe('outcome "edited": the text the CSR sent'),
  })
  .strict()
  .refine((body) => body.outcome === 'edited' || body.editedText === undefined, { message: 'editedText goes with outcome "edited" only', path: ['editedText'] });

export const suggestionView = z
  .object({
    id: z.string(),
    listingId: z.string(),
    ticketId: z.string().nullable(),
    source: z.enum(suggestionSources),
    ruleId: z.string().nullable(),
    ruleVersion: z.number().nullable(),
    cannedResponseId: z.string().nullable(),
    text: z.string(),
    score: z.number().nullable(),
    createdAt: z.date(),
    feedback: z.enum(feedbackOutcomes).nullable(),
    editedText: z.string().nullable(),
    feedbackAt: z.date().nullable(),
  })
  .register(apiSchemas, { id: 'Suggestion' });

const isoDay = z.iso.date().describe('A UTC day, YYYY-MM-DD');

export const ruleAnalyticsQuery = z
  .object({
    from: isoDay.optional().describe('First day counted (default: 29 days before `to`)'),
    to: isoDay.optional().describe('Last day counted (default: today, UTC)'),
  })
  .strict()
  .refine((query) => query.from === undefined || query.to === undefined || query.from <= query.to, { message: 'from must not be after to', path: ['from'] });

const counts = {
  fired: z.number().describe('Times the rule fired on a suggest request'),
  shown: z.number().describe('Suggestions from the rule shown to a CSR'),
  used: z.number(),
  edited: z.number(),
  ignored: z.number(),
};

export const ruleAnalyticsView = z
  .object({
    ruleId: z.string(),
    from: z.string(),
    to: z.string(),
    ...counts,
    noFeedback: z.number().describe('Shown, without feedback yet'),
    rates: z.object({
      shownPerFiring: z.number().nullable().describe('shown ÷ fired'),
      accepted: z.number().nullable().describe('(used + edited) ÷ shown'),
      used: z.number().nullable().describe('used ÷ shown'),
      edited: z.number().nullable().describe('edited ÷ shown'),
      ignored: z.number().nullable().describe('ignored ÷ shown'),
    }),
    byVersion: z.array(z.object({ version: z.number(), ...counts })),
  })
  .register(apiSchemas, { id: 'RuleAnalytics' });

export type SuggestionFeedbackInput = z.input<typeof suggestionFeedbackBody>;
export type SuggestionView = z.output<typeof suggestionView>;
export type RuleAnalyticsInput = z.input<typeof ruleAnalyticsQuery>;
export type RuleAnalyticsView = z.output<typeof ruleAnalyticsView>;

/** A suggestion to log as shown. `ruleId`/`ruleVersion` name the rule behind it (any source). */
export interface NewSuggestion {
  source: SuggestionSource;
  text: string;
  score?: number | null | undefined;
  ruleId?: string | null | undefined;
  ruleVersion?: number | null | undefined;
  cannedResponseId?: string | null | undefined;
}

/** A rule version that fired. */
export interface FiredRuleRef {
  ruleId: string;
  version: number;
}
