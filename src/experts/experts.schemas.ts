import { z } from 'zod';

export const expertRequestStatuses = ['open', 'accepted', 'answered', 'closed'] as const;
export type ExpertRequestStatus = (typeof expertRequestStatuses)[number];

const groupName = z.string().trim().min(1).max(200);
const description = z.string().trim().max(2000);
const memberIds = z
  .array(z.uuid())
  .max(500)
  .refine((ids) => new Set(ids).size === ids.length, 'each CSR once')
  .describe('CSR ids; the full member list');

export const expertGroupIdParams = z.object({ id: z.uuid() });
export const expertRequestIdParams = z.object({ id: z.uuid() });

export const createExpertGroupBody = z
  .object({
    name: groupName,
    description: description.nullable().default(null),
    memberIds: memberIds.default([]),
  })
  .strict();

export const updateExpertGroupBody = z
  .object({
    name: groupName.optional(),
    description: description.nullable().optional(),
    memberIds: memberIds.optional().describe('Replaces the member list'),
  })
  .strict()
  .refine((body) => Object.values(body).some((value) => value !== undefined), 'change at least one field');

export const expertGroupView = z.object({
  id: z.string(),
  listingId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  memberIds: z.array(z.string()),
  createdAt: z.date(),
  updatedAt: z.date(),
});

export const listExpertGroupsQuery = z
  .object({ memberId: z.uuid().optional().describe('Only groups this CSR belongs to') })
  .strict();

export const createExpertRequestBody = z
  .object({
    groupId: z.uuid(),
    question: z.string().trim().min(1).max(4000),
  })
  .strict();

export const answerExpertRequestBody = z.object({ answer: z.string().trim().min(1).max(8000) }).strict();

const statusList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(z.enum(expertRequestStatuses)).min(1));

export const listExpertRequestsQuery = z
  .object({
    status: statusList.optional().describe('Comma-separated statuses, e.g. open'),
    groupId: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export const expertRequestView = z
  .object({
    id: z.string(),
    listingId: z.string(),
    ticketId: z.string(),
    groupId: z.string(),
    question: z.string(),
    status: z.enum(expertRequestStatuses),
    requestedByCsrId: z.string().nullable().describe('null when a manager asked'),
    expertCsrId: z.string().nullable(),
    answer: z.string().nullable().describe('An internal note for the CSRs on the ticket; never shown to the customer'),
    createdAt: z.date(),
    acceptedAt: z.date().nullable(),
    answeredAt: z.date().nullable(),
    closedAt: z.date().nullable(),
  })
  .describe('A CSR asking an expert group for help on a ticket');

export type CreateExpertGroupInput = z.input<typeof createExpertGroupBody>;
export type UpdateExpertGroupInput = z.output<typeof updateExpertGroupBody>;
export type ExpertGroupView = z.output<typeof expertGroupView>;
export type CreateExpertRequestInput = z.output<typeof createExpertRequestBody>;
export type ListExpertRequestsQuery = z.output<typeof listExpertRequestsQuery>;
export type ExpertRequestView = z.output<typeof expertRequestView>;
