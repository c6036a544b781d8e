import { z } from 'zod';
import { customerRefBody } from '../customers/index.ts';
import { skillSchema } from '../csrs/index.ts';
import { apiSchemas } from '../platform/index.ts';

export const ticketStatuses = ['waiting', 'assigned', 'resolved', 'abandoned'] as const;
export const openStatuses = ['waiting', 'assigned'] as const;
export const sourceChannels = ['app', 'website', 'social', 'ivr', 'email', 'sms', 'livechat', 'bot'] as const;
export const endOutcomes = ['resolved', 'abandoned'] as const;

export type TicketStatus = (typeof ticketStatuses)[number];
export type SourceChannel = (typeof sourceChannels)[number];

export const ticketIdParams = z.object({ id: z.uuid() });

const metadataSchema = z
  .record(z.string().max(100), z.unknown())
  .refine((value) => JSON.stringify(value).length <= 16_384, 'metadata must be at most 16 KiB as JSON');

export const createTicketBody = z
  .object({
    customerId: z.uuid().optional(),
    customer: customerRefBody.optional(),
    source: z
      .object({
        app: z.string().trim().min(1).max(100).describe('The client application, e.g. "ios-app", "web-widget"'),
        channel: z.enum(sourceChannels),
      })
      .strict(),
    subject: z.string().trim().max(500).optional(),
    requiredSkills: z.array(skillSchema).max(20).default([]),
    priority: z.number().int().min(-100).max(100).default(0),
    metadata: metadataSchema.default({}),
  })
  .strict()
  .refine((body) => (body.customerId === undefined) !== (body.customer === undefined), {
    message: 'Give exactly one of customerId or customer',
    path: ['customer'],
  });

export const assignBody = z
  .object({
    csrId: z.uuid().describe('The CSR to assign or forward to'),
    force: z.boolean().default(false).describe('Managers: assign even when the CSR is offline or at capacity'),
  })
  .strict();

export const endBody = z
  .object({
    outcome: z.enum(endOutcomes),
    reason: z.string().trim().max(500).optional(),
  })
  .strict();

export const rateBody = z
  .object({
    rating: z.number().int().min(1).max(5),
    comment: z.string().trim().max(2000).optional(),
  })
  .strict();

const isoDate = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const statusList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(z.enum(ticketStatuses)).min(1));

export const ticketFilterQuery = z
  .object({
    status: statusList.optional().describe('Comma-separated statuses'),
    csrId: z.uuid().optional(),
    customerId: z.uuid().optional(),
    channel: z.enum(sourceChannels).optional(),
    app: z.string().max(100).optional(),
    createdFrom: isoDate.optional(),
    createdTo: isoDate.optional(),
  })
  .strict();

export const listTicketsQuery = ticketFilterQuery
  .extend({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
  })
  .strict();

export const inThreadQuery = z
  .object({
    customerId: z.uuid().optional(),
    ticketId: z.uuid().optional().describe("Any ticket of the customer; returns that customer's tickets"),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict()
  .refine((query) => (query.customerId === undefined) !== (query.ticketId === undefined), {
    message: 'Give exactly one of customerId or ticketId',
  });

export const currentQuery = z
  .object({ csrId: z.uuid().optional().describe('Managers: whose tickets; CSR keys always get their own') })
  .strict();

export const ticketView = z.object({
  id: z.string(),
  listingId: z.string(),
  ref: z.string().describe('Per-listing reference number, e.g. ACME-000042'),
  customerId: z.string(),
  csrId: z.string().nullable(),
  status: z.enum(ticketStatuses),
  source: z.object({ app: z.string(), channel: z.enum(sourceChannels) }),
  subject: z.string().nullable(),
  requiredSkills: z.array(z.string()),
  priority: z.number(),
  messageCount: z.number(),
  createdAt: z.date(),
  firstAssignedAt: z.date().nullable(),
  assignedAt: z.date().nullable(),
  firstCsrReplyAt: z.date().nullable(),
  lastMessageAt: z.date().nullable(),
  endedAt: z.date().nullable(),
  rating: z.number().nullable(),
  ratingComment: z.string().nullable(),
  ratedAt: z.date().nullable(),
  updatedAt: z.date(),
  metadata: z.record(z.string(), z.unknown()),
}).register(apiSchemas, { id: 'Ticket' });

export const ticketPage = z.object({
  items: z.array(ticketView),
  nextCursor: z.string().nullable(),
});

export const countersView = z.object({
  waiting: z.number(),
  assigned: z.number(),
  resolved: z.number(),
  abandoned: z.number(),
  open: z.number(),
  total: z.number(),
});

export type CreateTicketInput = z.input<typeof createTicketBody>;
export type TicketView = z.output<typeof ticketView>;
export type TicketFilter = z.output<typeof ticketFilterQuery>;
export type ListTicketsQuery = z.output<typeof listTicketsQuery>;
export type Counters = z.output<typeof countersView>;
