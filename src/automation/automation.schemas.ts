import { z } from 'zod';
import { apiSchemas } from '../platform/index.ts';

const messageText = z.string().trim().min(1).max(2000);
const single = z.object({ text: messageText }).strict();

/** A PUT sets every kind at once; each must be given (null switches it off). */
export const automatedMessagesBody = z
  .object({
    welcome: single
      .nullable()
      .describe('Shown by chat clients before a ticket exists (GET /v1/listing/welcome); "{name}" becomes the customer name'),
    inactivity: z
      .array(
        z
          .object({
            afterMinutes: z.number().int().min(1).max(10_080).describe('Minutes of waiting unassigned before it is sent'),
            text: messageText,
          })
          .strict(),
      )
      .max(10)
      .superRefine((messages, context) => {
        const seen = new Set<number>();
        for (const [index, message] of messages.entries()) {
          if (seen.has(message.afterMinutes)) {
            context.addIssue({ code: 'custom', path: [index, 'afterMinutes'], message: `two inactivity messages after ${message.afterMinutes} minutes` });
          }
          seen.add(message.afterMinutes);
        }
      })
      .describe('Sent to a waiting customer in business hours only; held back while the offline message applies'),
    offline: single.nullable().describe('Sent in business hours while no CSR of the listing is online'),
    afterHours: single.nullable().describe('Sent when a ticket is created outside business hours'),
  })
  .strict();

const textView = z.object({ text: z.string() }).nullable();

export const automatedMessagesView = z
  .object({
    welcome: textView,
    inactivity: z.array(z.object({ afterMinutes: z.number(), text: z.string() })),
    offline: textView,
    afterHours: textView,
    updatedAt: z.date().nullable(),
  })
  .register(apiSchemas, { id: 'AutomatedMessages' });

export const welcomeQuery = z.object({ name: z.string().trim().min(1).max(200).optional().describe('Customer name for "{name}"') }).strict();

export const welcomeView = z.object({ text: z.string().nullable().describe('null: no welcome message configured') }).register(apiSchemas, { id: 'WelcomeMessage' });

export type AutomatedMessagesInput = z.output<typeof automatedMessagesBody>;
export type AutomatedMessagesView = z.output<typeof automatedMessagesView>;

/** The kinds the engine sends into tickets (welcome is shown before a ticket exists). */
export type TriggeredKind = 'inactivity' | 'offline' | 'after_hours';

export interface TriggeredMessage {
  /** Stable across edits: 'offline', 'after_hours', 'inactivity:<minutes>'. */
  key: string;
  kind: TriggeredKind;
  afterMinutes: number | null;
  text: string;
}
