import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';

export const senderRoles = ['customer', 'csr', 'bot', 'system'] as const;
export const messageKinds = ['text', 'voice', 'image', 'video', 'file', 'offer', 'payment_request', 'form'] as const;
export type SenderRole = (typeof senderRoles)[number];
export type MessageKind = (typeof messageKinds)[number];

const text = z.string().max(10_000);
const channel = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a channel name such as chat, sms, voice, email')
  .optional()
  .describe('Channel the message travelled on; defaults to the ticket source channel');

const common = {
  senderRole: z.enum(senderRoles).optional().describe('bot and manager keys: who speaks (CSR keys always send as csr)'),
  channel,
  clientMessageId: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe('Idempotency key: a retried post with the same id returns the first message'),
};

const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD');
const money = z
  .string()
  .regex(/^\d{1,10}(\.\d{1,2})?$/, 'a decimal amount such as "19.99"')
  .describe('Decimal amount as a string, e.g. "19.99"');

export const postMessageBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: text.min(1), ...common }).strict(),
  z
    .object({
      kind: z.literal('voice'),
      attachmentId: z.uuid().optional().describe('Uploaded audio; or give audioUrl'),
      audioUrl: z.url().max(2000).optional(),
      durationSeconds: z.number().min(0).max(86_400),
      transcript: text.optional(),
      ...common,
    })
    .strict()
    .refine((body) => body.attachmentId !== undefined || body.audioUrl !== undefined, 'Give attachmentId or audioUrl'),
  z.object({ kind: z.literal('image'), attachmentId: z.uuid(), text: text.optional(), ...common }).strict(),
  z.object({ kind: z.literal('video'), attachmentId: z.uuid(), text: text.optional(), ...common }).strict(),
  z.object({ kind: z.literal('file'), attachmentId: z.uuid(), text: text.optional(), ...common }).strict(),
  z
    .object({
      kind: z.literal('offer'),
      text: text.optional(),
      offer: z
        .object({
          title: z.string().min(1).max(200),
          description: z.string().max(2000).optional(),
          discountPercent: z.number().min(0).max(100).optional(),
          amount: money.optional(),
          currency: currency.optional(),
          code: z.string().max(100).optional(),
          expiresAt: z.iso.datetime({ offset: true }).optional(),
        })
        .strict(),
      ...common,
    })
    .strict(),
  z
    .object({
      kind: z.literal('payment_request'),
      text: text.optional(),
      payment: z
        .object({
          amount: money,
          currency,
          invoiceNumber: z.string().min(1).max(100),
          description: z.string().max(1000).default(''),
        })
        .strict(),
      ...common,
    })
    .strict(),
  z
    .object({
      kind: z.literal('form'),
      text: text.optional(),
      form: z
        .object({
          title: z.string().min(1).max(200),
          fields: z
            .array(
              z
                .object({
                  name: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/),
                  label: z.string().min(1).max(200),
                  type: z.enum(['text', 'email', 'number', 'choice', 'date', 'phone']),
                  required: z.boolean().default(false),
                  options: z.array(z.string().max(200)).max(50).optional(),
                })
                .strict(),
            )
            .min(1)
            .max(50),
        })
        .strict(),
      ...common,
    })
    .strict(),
]);

export const messageView = z.object({
  id: z.string(),
  ticketId: z.string(),
  seq: z.number().describe('Position in the thread, from 1'),
  senderRole: z.enum(senderRoles),
  csrId: z.string().nullable(),
  kind: z.enum(messageKinds),
  channel: z.string(),
  text: z.string().nullable(),
  content: z.record(z.string(), z.unknown()).describe('Kind-specific fields (voice, offer, payment, form)'),
  attachmentId: z.string().nullable(),
  clientMessageId: z.string().nullable(),
  createdAt: z.date(),
}).register(apiSchemas, { id: 'Message' });

export const listMessagesQuery = z
  .object({
    afterSeq: z.coerce.number().int().min(0).default(0).describe('Return messages after this seq'),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

export const attachmentView = z.object({
  id: z.string(),
  ticketId: z.string(),
  filename: z.string(),
  contentType: z.string(),
  sizeBytes: z.number(),
  sha256: z.string(),
  createdAt: z.date(),
}).register(apiSchemas, { id: 'Attachment' });

export const uploadQuery = z
  .object({ filename: z.string().min(1).max(255).regex(/^[^/\\\0]+$/, 'a file name without path separators') })
  .strict();

export type PostMessageInput = z.output<typeof postMessageBody>;
export type MessageView = z.output<typeof messageView>;
export type AttachmentView = z.output<typeof attachmentView>;
