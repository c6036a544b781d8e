import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';

export const draftRoles = ['customer', 'csr', 'bot', 'system'] as const;

export const draftBody = z
  .object({
    ticketId: z.uuid().optional().describe("Draft the next reply in this ticket's thread"),
    messages: z
      .array(z.object({ role: z.enum(draftRoles), text: z.string().min(1).max(10_000) }).strict())
      .min(1)
      .max(200)
      .optional()
      .describe('Or the conversation itself, oldest first'),
    grounding: z
      .array(z.string().min(1).max(2000))
      .max(10)
      .optional()
      .describe('Replies to ground the draft on (e.g. from POST /v1/suggest); retrieved for the conversation when absent'),
    k: z.number().int().min(1).max(10).default(5).describe('Retrieved replies to ground on'),
  })
  .strict()
  .refine((body) => (body.ticketId === undefined) !== (body.messages === undefined), { message: 'Give exactly one of ticketId or messages', path: ['ticketId'] })
  .register(apiSchemas, { id: 'DraftRequest' });

export const groundingView = z.object({ text: z.string(), score: z.number().nullable() });

export const draftView = z
  .object({
    draft: z.string(),
    model: z.string(),
    groundedOn: z.array(groundingView).describe('The replies the prompt showed the model'),
    latencyMs: z.number(),
  })
  .register(apiSchemas, { id: 'Draft' });

export type DraftInput = z.input<typeof draftBody>;
export type DraftRequest = z.output<typeof draftBody>;
export type DraftView = z.output<typeof draftView>;
export type Grounding = z.output<typeof groundingView>;
