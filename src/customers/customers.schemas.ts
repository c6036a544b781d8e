import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';

export const identityKinds = ['phone', 'email', 'external'] as const;

/** E.164: "+" and 8–15 digits; spaces, dots, dashes and brackets are dropped first. */
export const e164Schema = z
  .string()
  .transform((value) => value.replace(/[\s().-]/g, ''))
  .pipe(z.string().regex(/^\+[1-9]\d{7,14}$/, 'an E.164 phone number such as +14155550123'));

export const identitySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('phone'), value: e164Schema }).strict(),
  z.object({ kind: z.literal('email'), value: z.email().max(320).transform((email) => email.toLowerCase()) }).strict(),
  z.object({ kind: z.literal('external'), value: z.string().trim().min(1).max(200) }).strict(),
]);

export const createCustomerBody = z
  .object({
    displayName: z.string().trim().min(1).max(200).optional(),
    identities: z.array(identitySchema).max(20).default([]),
  })
  .strict();

export const customerRefBody = z
  .object({
    displayName: z.string().trim().min(1).max(200).optional(),
    identities: z.array(identitySchema).min(1).max(20),
  })
  .strict()
  .describe('Find the customer by any of these identities, or create one with all of them');

export const customerView = z.object({
  id: z.string(),
  listingId: z.string(),
  displayName: z.string().nullable(),
  identities: z.array(z.object({ kind: z.enum(identityKinds), value: z.string() })),
  createdAt: z.date(),
}).register(apiSchemas, { id: 'Customer' });

export type Identity = z.output<typeof identitySchema>;
export type CreateCustomerInput = z.input<typeof createCustomerBody>;
export type CustomerRef = z.output<typeof customerRefBody>;
export type CustomerView = z.output<typeof customerView>;
