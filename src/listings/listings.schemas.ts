import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';

export const listingIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" or "_", at most 63 characters');

export const timezoneSchema = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as Europe/Berlin');

export const createListingBody = z
  .object({
    id: listingIdSchema,
    name: z.string().trim().min(1).max(200),
    refPrefix: z
      .string()
      .regex(/^[A-Z0-9]{1,12}$/, 'upper-case letters and digits, at most 12')
      .optional()
      .describe('Prefix of ticket reference numbers; derived from the id when omitted'),
    timezone: timezoneSchema.optional(),
  })
  .strict();

export const updateListingBody = createListingBody.omit({ id: true }).partial().strict();

export const listingView = z.object({
  id: z.string(),
  name: z.string(),
  refPrefix: z.string(),
  timezone: z.string(),
  createdAt: z.date(),
  updatedAt: z.date(),
}).register(apiSchemas, { id: 'Listing' });

export type CreateListingInput = z.output<typeof createListingBody>;
export type UpdateListingInput = z.output<typeof updateListingBody>;
export type ListingView = z.output<typeof listingView>;
