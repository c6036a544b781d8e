import { z } from 'zod';
import { listingIdSchema } from '../listings/index.ts';
import { messageKinds, senderRoles } from '../messages/index.ts';
import { sourceChannels } from '../tickets/index.ts';

/**
 * The canonical interaction record (PRODUCT.md, "Interaction records"): one customer conversation
 * with its messages, events and outcome labels. Every adapter produces this shape, the canonical
 * JSONL format is one of these per line, and `schemas/interaction.schema.json` (written by
 * `npm run schemas`) publishes it for people exporting from other systems.
 *
 * The vocabularies (roles, kinds, source channels) are the ticket core's, so live tickets and
 * imported history are described by the same words.
 */

export const interactionStatuses = ['waiting', 'assigned', 'resolved', 'abandoned'] as const;
export const conversionKinds = ['offer_accepted', 'purchase', 'payment_completed'] as const;
export const interactionEventTypes = [
  'channel_changed',
  'handed_off',
  'assigned',
  'released',
  'transferred',
  'offer_sent',
  'offer_accepted',
  'payment_requested',
  'payment_completed',
  'rated',
  'automated_message_sent',
  'action_taken',
] as const;

export type InteractionStatus = (typeof interactionStatuses)[number];
export type InteractionEventType = (typeof interactionEventTypes)[number];

/**
 * The patterns the schema checks strings against, named so that the SQL fast path
 * (fast-rules.ts) checks exactly the same ones. Each is also valid RE2 (DuckDB's regex engine).
 */
export const recordPatterns = {
  // Control characters in ids break exports and terminal output; nothing legitimate needs them.
  // eslint-disable-next-line no-control-regex
  identifier: /^[^\u0000-\u001f\u007f]+$/,
  channel: /^[a-z][a-z0-9_-]{0,31}$/,
  label: /^[a-zA-Z][a-zA-Z0-9_.:-]{0,63}$/,
} as const;

const timestamp = z.iso
  .datetime({ offset: true })
  .describe('ISO 8601 date-time with a zone, e.g. 2020-02-25T17:40:50Z or 2020-02-25T18:40:50+01:00');
/** The pattern zod checks timestamps against (RE2-compatible). */
export const timestampPattern: RegExp = timestamp.def.pattern!;
const identifier = z.string().min(1).regex(recordPatterns.identifier, 'no control characters').max(200);
const channelName = z
  .string()
  .regex(recordPatterns.channel, 'a channel name such as chat, sms, voice, email, twitter')
  .describe('Channel the message travelled on (chat, sms, voice, email, ivr, twitter, …)');
const labelName = z.string().regex(recordPatterns.label, 'a label name: a letter, then letters, digits, _ . : -');

export const jsonValue = z.json().meta({ id: 'JsonValue' });
export const labelValue = z.union([z.string().max(2000), z.number(), z.boolean()]);
export const labelSet = z
  .record(labelName, labelValue)
  .refine((labels) => Object.keys(labels).length <= 100, 'at most 100 labels')
  .describe('Named labels: a string, number or boolean each');

export const attachmentSchema = z
  .object({
    name: z.string().max(500).optional(),
    mimeType: z.string().max(200).optional(),
    sizeBytes: z.number().int().min(0).optional(),
    url: z.string().max(2000).optional(),
    durationSeconds: z.number().min(0).max(86_400).optional().describe('Voice and video'),
  })
  .strict()
  .meta({ id: 'Attachment' });

export const interactionMessageSchema = z
  .object({
    role: z.enum(senderRoles).describe('Who speaks'),
    text: z.string().max(100_000).optional().describe('Message text; required for kind "text"'),
    ts: timestamp.optional(),
    channel: channelName.optional(),
    kind: z.enum(messageKinds).default('text'),
    id: identifier.optional().describe('The message id in the system it came from'),
    csrId: identifier.optional().describe('CSR who sent it (role csr)'),
    transcript: z.string().max(100_000).optional().describe('Voice messages: the transcript'),
    attachment: attachmentSchema.optional(),
    labels: labelSet.optional().describe('Per-turn labels, e.g. the satisfaction after this turn'),
    meta: z.record(z.string().max(64), jsonValue).optional().describe('Anything else the source carried (urls, document ids, actions)'),
  })
  .strict()
  .refine((message) => message.kind !== 'text' || message.text !== undefined, {
    message: 'a text message needs text',
    path: ['text'],
  })
  .meta({ id: 'InteractionMessage' });

export const interactionEventSchema = z
  .object({
    type: z.enum(interactionEventTypes),
    ts: timestamp.optional(),
    seq: z.number().int().min(1).optional().describe('The message (1-based position) the event follows'),
    name: z.string().max(200).optional().describe('Action, offer or automated-message name'),
    from: channelName.optional().describe('channel_changed: the channel before'),
    to: channelName.optional().describe('channel_changed: the channel after'),
    csrId: identifier.optional(),
    data: z.record(z.string().max(64), jsonValue).optional(),
  })
  .strict()
  .meta({ id: 'InteractionEvent' });

export const interactionOutcomeSchema = z
  .object({
    resolved: z.boolean().optional(),
    abandoned: z.boolean().optional(),
    satisfaction: z.number().int().min(1).max(5).optional().describe('The customer rating, 1–5'),
    converted: z.boolean().optional(),
    conversion: z.enum(conversionKinds).optional(),
    labels: labelSet.optional().describe('Custom outcome labels'),
  })
  .strict()
  .meta({ id: 'InteractionOutcome' });

export const interactionSchema = z
  .object({
    id: identifier.describe('Unique per listing; a record with a known id replaces the earlier one'),
    listingId: listingIdSchema.optional().describe('When given, must equal the listing being ingested'),
    customerId: identifier.optional(),
    csrIds: z.array(identifier).max(100).optional(),
    externalIds: z.record(z.string().max(64), z.string().max(500)).optional(),
    brand: z.string().max(200).optional().describe('Brand served, when a listing serves several'),
    queue: z.string().max(200).optional(),
    source: z
      .object({ channel: z.enum(sourceChannels), app: z.string().max(100).optional() })
      .strict()
      .optional()
      .describe('How the conversation began'),
    createdAt: timestamp.optional(),
    firstAssignedAt: timestamp.optional(),
    firstCsrReplyAt: timestamp.optional(),
    endedAt: timestamp.optional(),
    status: z.enum(interactionStatuses).optional(),
    outcome: interactionOutcomeSchema.optional(),
    messages: z.array(interactionMessageSchema).max(100_000).describe('In conversation order'),
    events: z.array(interactionEventSchema).max(100_000).optional(),
  })
  .strict()
  .meta({
    id: 'Interaction',
    title: 'Loopwise interaction record',
    description: 'One customer conversation: identity, source, lifecycle, outcome labels, messages and events.',
  });

export type InteractionRecord = z.output<typeof interactionSchema>;
export type InteractionInput = z.input<typeof interactionSchema>;
export type InteractionMessage = z.output<typeof interactionMessageSchema>;
export type InteractionEvent = z.output<typeof interactionEventSchema>;
export type LabelValue = z.output<typeof labelValue>;

/** The published JSON Schema (what a producer writes: defaults are optional). */
export function interactionJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(interactionSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
