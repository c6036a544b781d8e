import { z } from 'zod';

/**
 * The batch contract of `loopwise rank` and `loopwise suggest` (issue 5), one JSON object per line.
 * A message: {"role": "customer"|"csr"|"bot"|"system", "text": string, "ts"?: ISO-8601, "channel"?: string}.
 */

export const contextMessage = z.object({
  role: z.enum(['customer', 'csr', 'bot', 'system']),
  text: z.string().max(100_000),
  ts: z
    .string()
    .refine((value) => !Number.isNaN(Date.parse(value)), 'an ISO-8601 timestamp')
    .optional(),
  channel: z.string().max(64).optional(),
});

const lineId = z.union([z.string().min(1).max(1_000), z.number()]);

export const rankInputLine = z.object({
  id: lineId,
  context: z.array(contextMessage).max(10_000),
  candidates: z.array(z.string().max(100_000)).max(10_000),
  /** Multi-brand listings: the brand/queue the conversation belongs to (optional). */
  brand: z.string().nullable().optional(),
});

export const suggestInputLine = z.object({
  id: lineId,
  context: z.array(contextMessage).max(10_000),
  brand: z.string().nullable().optional(),
});

export type ContextMessageInput = z.infer<typeof contextMessage>;
export type RankInputLine = z.infer<typeof rankInputLine>;
export type SuggestInputLine = z.infer<typeof suggestInputLine>;
