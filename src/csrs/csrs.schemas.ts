import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';

export const presenceValues = ['online', 'away', 'offline'] as const;
export const skillSchema = z.string().trim().toLowerCase().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a short skill tag');

export const createCsrBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    email: z.email().max(320).optional(),
    externalId: z.string().min(1).max(200).optional(),
    capacity: z.number().int().min(0).max(1000).default(5).describe('Maximum concurrent assigned tickets'),
    skills: z.array(skillSchema).max(100).default([]),
    presence: z.enum(presenceValues).default('offline'),
  })
  .strict();

export const updateCsrBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    capacity: z.number().int().min(0).max(1000),
    skills: z.array(skillSchema).max(100),
    presence: z.enum(presenceValues),
  })
  .partial()
  .strict();

export const presenceBody = z.object({ presence: z.enum(presenceValues) }).strict();

export const csrView = z.object({
  id: z.string(),
  listingId: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  externalId: z.string().nullable(),
  presence: z.enum(presenceValues),
  capacity: z.number(),
  skills: z.array(z.string()),
  activeTickets: z.number().describe('Tickets currently assigned to this CSR'),
  createdAt: z.date(),
  updatedAt: z.date(),
}).register(apiSchemas, { id: 'Csr' });

export type CreateCsrInput = z.input<typeof createCsrBody>;
export type UpdateCsrInput = z.output<typeof updateCsrBody>;
export type CsrView = z.output<typeof csrView>;
export type Presence = (typeof presenceValues)[number];
