import { z } from 'zod';

export const smsStatuses = ['queued', 'sent', 'failed'] as const;
export type SmsStatus = (typeof smsStatuses)[number];

export const smsView = z.object({
  id: z.string(),
  listingId: z.string(),
  ticketId: z.string().nullable(),
  to: z.string().describe('E.164 destination'),
  body: z.string(),
  status: z.enum(smsStatuses).describe('queued: kept in the outbox, not yet handed to a provider; sent/failed: a provider answered'),
  provider: z.string().nullable(),
  providerMessageId: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});

export const listSmsQuery = z
  .object({
    ticketId: z.uuid().optional(),
    status: z.enum(smsStatuses).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export type SmsView = z.output<typeof smsView>;
export type ListSmsQuery = z.output<typeof listSmsQuery>;
