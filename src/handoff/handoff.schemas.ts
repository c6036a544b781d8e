import { z } from 'zod';
import { skillSchema } from '../csrs/index.ts';
import { customerRefBody } from '../customers/index.ts';
import { INTENT_LEXICON } from '../features/index.ts';
import { apiSchemas } from '../platform/index.ts';
import { ticketView } from '../tickets/index.ts';
import { DEFAULT_THRESHOLD, signalNames } from './assessment.ts';
import { DEFAULT_HIGH_VALUE_INTENTS } from './lexicon.ts';

/** Roles a bot's transcript may hold (a bot never speaks for a CSR). */
export const transcriptRoles = ['customer', 'bot', 'system'] as const;

export const transcriptMessage = z
  .object({
    role: z.enum(transcriptRoles),
    text: z.string().min(1).max(10_000),
    ts: z.iso.datetime({ offset: true }).optional().describe("When the bot's platform recorded the message; kept with the hand-off"),
  })
  .strict()
  .register(apiSchemas, { id: 'TranscriptMessage' });

const transcript = z.array(transcriptMessage).min(1).max(500).describe('The conversation so far, oldest first');

export const assessHandoffBody = z
  .object({ messages: transcript })
  .strict()
  .register(apiSchemas, { id: 'HandoffAssessRequest' });

export const signalView = z.object({
  name: z.enum(signalNames),
  value: z.number().describe('Strength, 0–1'),
  weight: z.number(),
  contribution: z.number().describe('weight × value, added to the logit'),
  reason: z.string(),
});

export const assessmentView = z
  .object({
    handoff: z.boolean().describe('confidence ≥ threshold'),
    confidence: z.number().describe('logistic(logit): the logistic of −3 plus the weighted signals'),
    threshold: z.number(),
    logit: z.number(),
    reasons: z.array(z.string()).describe('Why, from the signals that raise the confidence'),
    signals: z.array(signalView),
    intent: z.string().nullable(),
    priority: z.number().describe('Ticket priority the hand-off would get: 0 normal, 10 high, 20 urgent'),
    priorityLabel: z.enum(['normal', 'high', 'urgent']),
    skills: z.array(z.string()).describe('Skills that matching hand-off rules require'),
    customerTurns: z.number(),
  })
  .register(apiSchemas, { id: 'HandoffAssessment' });

const intentNames = Object.keys(INTENT_LEXICON) as [keyof typeof INTENT_LEXICON, ...Array<keyof typeof INTENT_LEXICON>];

export const handoffSettingsBody = z
  .object({
    threshold: z.number().min(0.01).max(0.99).default(DEFAULT_THRESHOLD).describe('Hand off when the confidence reaches this'),
    highValueIntents: z
      .array(z.enum(intentNames))
      .max(intentNames.length)
      .default([...DEFAULT_HIGH_VALUE_INTENTS] as Array<(typeof intentNames)[number]>)
      .describe('Intents (src/features INTENT_LEXICON) that make a conversation worth a person'),
    highValueKeywords: z
      .array(z.string().trim().toLowerCase().min(2).max(100))
      .max(200)
      .default([])
      .describe('Words or phrases of this listing that do the same, e.g. "mortgage", "business account"'),
    weights: z
      .partialRecord(z.enum(signalNames), z.number().min(-10).max(10))
      .default({})
      .describe('Overrides of the default signal weights'),
  })
  .strict()
  .register(apiSchemas, { id: 'HandoffSettingsRequest' });

export const handoffSettingsView = z
  .object({
    threshold: z.number(),
    highValueIntents: z.array(z.string()),
    highValueKeywords: z.array(z.string()),
    weights: z.record(z.string(), z.number()).describe('The effective weight of every signal'),
    bias: z.number().describe('The logit with no signal'),
    updatedAt: z.date().nullable().describe('null: the listing uses the defaults'),
  })
  .register(apiSchemas, { id: 'HandoffSettings' });

const metadataSchema = z
  .record(z.string().max(100), z.unknown())
  .refine((value) => JSON.stringify(value).length <= 16_384, 'metadata must be at most 16 KiB as JSON');

export const createHandoffBody = z
  .object({
    customerId: z.uuid().optional(),
    customer: customerRefBody.optional(),
    messages: transcript,
    externalId: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe("The bot platform's conversation id: a retry with the same id answers the first hand-off (as does an Idempotency-Key header)"),
    app: z.string().trim().min(1).max(100).default('bot').describe('The client application, recorded as the ticket source app'),
    subject: z.string().trim().max(500).optional(),
    summary: z.string().trim().min(1).max(4000).optional().describe("The bot's own summary; generated from the transcript when absent"),
    intent: z.string().trim().min(1).max(100).optional().describe("The bot's own intent; predicted from the transcript when absent"),
    requiredSkills: z.array(skillSchema).max(20).default([]),
    metadata: metadataSchema.default({}),
  })
  .strict()
  .refine((body) => (body.customerId === undefined) !== (body.customer === undefined), {
    message: 'Give exactly one of customerId or customer',
    path: ['customer'],
  })
  .register(apiSchemas, { id: 'HandoffRequest' });

export const idempotencyHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, '1–200 visible ASCII characters')
    .optional()
    .describe('Makes a retried hand-off answer the first one'),
});

export const queueView = z.object({
  position: z.number().nullable().describe('1 = next to be served; 0 = already with a CSR; null = the ticket has ended'),
  waiting: z.number().describe('Tickets waiting in the listing queue'),
  expectedWaitSeconds: z
    .number()
    .nullable()
    .describe('Median time to first assignment of the listing\'s last 50 assigned tickets; 0 when already assigned; null when fewer than 3 are known'),
  csrsOnline: z.number(),
  businessOpen: z.boolean().describe("Whether the listing's schedule has it open now (no schedule: open)"),
  nextOpening: z.date().nullable().describe('When it opens next, while closed'),
});

export const handoffView = z
  .object({
    handoffId: z.string(),
    replayed: z.boolean().describe('true: this answers an earlier request with the same idempotency key'),
    ticketCreated: z.boolean().describe("false: the customer's open ticket was reused and the transcript appended to it"),
    ticket: ticketView,
    queue: queueView,
    intent: z.string().nullable(),
    priority: z.number(),
    confidence: z.number(),
    reasons: z.array(z.string()),
    summary: z.string(),
    importedMessages: z.number().describe('Transcript messages now in the thread'),
    thread: z.object({
      ticketId: z.string(),
      messagesPath: z.string().describe('Where the conversation continues: POST customer messages here with the bot key'),
    }),
  })
  .register(apiSchemas, { id: 'Handoff' });

export type TranscriptMessageInput = z.output<typeof transcriptMessage>;
export type AssessHandoffInput = z.output<typeof assessHandoffBody>;
export type HandoffSettingsInput = z.input<typeof handoffSettingsBody>;
export type HandoffSettingsView = z.output<typeof handoffSettingsView>;
export type CreateHandoffInput = z.input<typeof createHandoffBody>;
export type HandoffView = z.output<typeof handoffView>;
export type AssessmentView = z.output<typeof assessmentView>;
export type QueueView = z.output<typeof queueView>;
