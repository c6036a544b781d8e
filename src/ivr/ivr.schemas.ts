import { z } from 'zod';
import { e164Schema } from '../customers/index.ts';
import { landlinePattern } from './landline.ts';
import { smsPlaceholders, unknownSmsPlaceholders } from './sms-text.ts';

export const landlinePatternSchema = z
  .string()
  .regex(landlinePattern, '"+" then digits, X for any digit, e.g. +1800 or +4930XXX')
  .describe('Caller ids starting like this are landlines');

const smsTemplateSchema = z
  .string()
  .trim()
  .min(1)
  .max(480)
  .refine((template) => template.includes('{url}'), 'must contain {url}')
  .refine((template) => unknownSmsPlaceholders(template).length === 0, `placeholders may only be ${smsPlaceholders.map((name) => `{${name}}`).join(', ')}`)
  .describe(`SMS text; placeholders ${smsPlaceholders.map((name) => `{${name}}`).join(', ')}. Null → the built-in text`);

const systemName = z.string().trim().min(1).max(200);
const landlinePatterns = z.array(landlinePatternSchema).max(200);

export const createIvrSystemBody = z
  .object({
    name: systemName,
    landlinePatterns: landlinePatterns.default([]),
    smsTemplate: smsTemplateSchema.nullable().default(null),
  })
  .strict();

export const updateIvrSystemBody = z
  .object({
    name: systemName.optional(),
    landlinePatterns: landlinePatterns.optional(),
    smsTemplate: smsTemplateSchema.nullable().optional(),
  })
  .strict()
  .refine((body) => Object.values(body).some((value) => value !== undefined), 'change at least one field');

export const ivrSystemIdParams = z.object({ id: z.uuid() });

export const ivrSystemView = z.object({
  id: z.string(),
  listingId: z.string(),
  name: z.string(),
  username: z.string().describe('The HTTP Basic username'),
  landlinePatterns: z.array(z.string()),
  smsTemplate: z.string().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});

export const createdIvrSystemView = z.object({
  system: ivrSystemView,
  username: z.string(),
  password: z.string().describe('The HTTP Basic password. Shown once: store it now.'),
});

/**
 * IVR platforms tend to fill variables they do not know with "": an empty optional field
 * counts as absent rather than as invalid input.
 */
const blankable = <T extends z.ZodType<string | undefined>>(schema: T, description?: string) => {
  const union = z.union([z.literal('').transform(() => undefined), schema]);
  // Described before .optional(): the OpenAPI conversion drops the "" branch otherwise.
  return (description ? union.describe(description) : union).optional();
};

const personName = z.string().trim().min(1).max(100);

const dateOfBirth = z.iso
  .date('a date as YYYY-MM-DD')
  .refine((value) => value >= '1900-01-01' && value <= new Date().toISOString().slice(0, 10), 'a date of birth between 1900 and today');

/** The IVR chat-conversion request; field names as IVR platforms send them. */
export const ivrChatRequestBody = z
  .object({
    cid: e164Schema.describe('Caller id, E.164 (required)'),
    dnis: blankable(z.string().trim().regex(/^\+?[0-9*#]{1,32}$/, 'the dialed number: digits, optionally with a leading +'), 'The number the caller dialed'),
    first_name: blankable(personName),
    last_name: blankable(personName),
    email: blankable(z.email().max(320).transform((email) => email.toLowerCase())),
    dob: blankable(dateOfBirth, 'Date of birth, YYYY-MM-DD'),
    external_id: blankable(z.string().trim().min(1).max(200), "The caller's id in the enterprise's own systems"),
  })
  .strict();

export const liveCallReasons = ['landline', 'chat_not_configured', 'sms_failed'] as const;

export const ivrChatResult = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('sms').describe('The caller was sent a chat link; end the call'),
    ticketId: z.string(),
    ticketRef: z.string(),
    ticketCreated: z.boolean().describe("false: the caller's open ticket was reused"),
    link: z.object({ url: z.string(), expiresAt: z.date() }),
    sms: z.object({ id: z.string(), status: z.enum(['queued', 'sent', 'failed']) }),
  }),
  z.object({
    outcome: z.literal('live_call').describe('No SMS was sent; keep the caller on the line for a live agent'),
    reason: z.enum(liveCallReasons),
  }),
]);

export type CreateIvrSystemInput = z.input<typeof createIvrSystemBody>;
export type UpdateIvrSystemInput = z.output<typeof updateIvrSystemBody>;
export type IvrSystemView = z.output<typeof ivrSystemView>;
export type IvrChatRequest = z.output<typeof ivrChatRequestBody>;
export type IvrChatResult = z.output<typeof ivrChatResult>;
export type LiveCallReason = (typeof liveCallReasons)[number];
