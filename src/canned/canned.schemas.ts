import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';

const tag = z.string().trim().toLowerCase().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a short tag');

/** The whole content: a PUT is a new snapshot, so a field left out goes back to its default. */
export const cannedResponseBody = z
  .object({
    title: z.string().trim().min(1).max(200),
    text: z.string().min(1).max(10_000),
    shortcut: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'a short word such as "refund"')
      .optional()
      .describe('What a CSR types to insert it; unique in the listing'),
    tags: z.array(tag).max(50).default([]),
  })
  .strict();

export const updateCannedResponseBody = cannedResponseBody
  .extend({
    baseVersion: z.number().int().min(1).optional().describe('Refuse (409) unless this is still the current version: guards against lost updates'),
  })
  .strict();

export const cannedIdParams = z.object({ id: z.uuid() });

export const listCannedQuery = z
  .object({
    q: z.string().trim().min(1).max(200).optional().describe('Text to find in the title, text or shortcut'),
    tag: tag.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(200),
  })
  .strict();

export const cannedResponseView = z
  .object({
    id: z.string(),
    listingId: z.string(),
    version: z.number(),
    title: z.string(),
    text: z.string(),
    shortcut: z.string().nullable(),
    tags: z.array(z.string()),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .register(apiSchemas, { id: 'CannedResponse' });

export const cannedVersionView = z
  .object({
    version: z.number(),
    title: z.string(),
    text: z.string(),
    shortcut: z.string().nullable(),
    tags: z.array(z.string()),
    changedBy: z.object({ keyId: z.string().optional(), role: z.string().optional() }).describe('The key that saved this snapshot'),
    createdAt: z.date(),
  })
  .register(apiSchemas, { id: 'CannedResponseVersion' });

export type CannedResponseInput = z.input<typeof cannedResponseBody>;
export type UpdateCannedResponseInput = z.input<typeof updateCannedResponseBody>;
export type ListCannedQuery = z.output<typeof listCannedQuery>;
export type ListCannedInput = z.input<typeof listCannedQuery>;
export type CannedResponseView = z.output<typeof cannedResponseView>;
export type CannedVersionView = z.output<typeof cannedVersionView>;
