import { z } from 'zod';
import { roles } from './principal.ts';
import { apiSchemas } from '../platform/index.ts';

export const keyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'a 16-character hex key id');

export const createKeyBody = z
  .object({
    listingId: z.string().min(1).nullable().optional().describe('Required for every role but admin'),
    role: z.enum(roles),
    csrId: z.uuid().optional().describe('csr keys: the CSR this key acts as'),
    name: z.string().max(200).optional(),
    rateLimitPerMinute: z.number().int().positive().optional(),
  })
  .strict();

export const keyView = z.object({
  id: z.string(),
  listingId: z.string().nullable(),
  role: z.enum(roles),
  csrId: z.string().nullable(),
  name: z.string(),
  rateLimitPerMinute: z.number().nullable(),
  createdAt: z.date(),
  revokedAt: z.date().nullable(),
}).register(apiSchemas, { id: 'ApiKey' });

export const createdKeyView = z.object({
  key: keyView,
  token: z.string().describe('The API key. Shown once: store it now.'),
});
