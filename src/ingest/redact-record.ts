import type { InteractionEvent, InteractionMessage, InteractionRecord, LabelValue } from './interaction.schemas.ts';
import { pseudonymize, redactJson, redactText, type RedactionCounts } from './redaction.ts';

/**
 * The record as it may be stored: every free text (messages, transcripts, attachment names and
 * urls, meta, string labels, event data) redacted, and identifiers that are themselves PII
 * replaced by per-listing pseudonyms. Returns a new record; the input is not changed.
 */
export function redactInteraction(record: InteractionRecord, listingId: string, counts: RedactionCounts): InteractionRecord {
  const id = (value: string) => pseudonymize(value, listingId);
  return {
    ...record,
    ...(record.customerId !== undefined ? { customerId: id(record.customerId) } : {}),
    ...(record.csrIds ? { csrIds: record.csrIds.map(id) } : {}),
    ...(record.externalIds ? { externalIds: Object.fromEntries(Object.entries(record.externalIds).map(([key, value]) => [key, id(value)])) } : {}),
    ...(record.outcome ? { outcome: { ...record.outcome, ...(record.outcome.labels ? { labels: redactLabels(record.outcome.labels, counts) } : {}) } } : {}),
    messages: record.messages.map((message) => redactMessage(message, listingId, counts)),
    ...(record.events ? { events: record.events.map((event) => redactEvent(event, listingId, counts)) } : {}),
  };
}

/** One message as it may be stored (see redactInteraction); a new object. */
export function redactMessage(message: InteractionMessage, listingId: string, counts: RedactionCounts): InteractionMessage {
  return {
    ...message,
    ...(message.text !== undefined ? { text: redactText(message.text, counts) } : {}),
    ...(message.transcript !== undefined ? { transcript: redactText(message.transcript, counts) } : {}),
    ...(message.csrId !== undefined ? { csrId: pseudonymize(message.csrId, listingId) } : {}),
    ...(message.attachment
      ? {
          attachment: {
            ...message.attachment,
            ...(message.attachment.name !== undefined ? { name: redactText(message.attachment.name, counts) } : {}),
            ...(message.attachment.url !== undefined ? { url: redactText(message.attachment.url, counts) } : {}),
          },
        }
      : {}),
    ...(message.labels ? { labels: redactLabels(message.labels, counts) } : {}),
    ...(message.meta ? { meta: redactJson(message.meta, counts) as typeof message.meta } : {}),
  };
}

/** One lifecycle event as it may be stored (see redactInteraction); a new object. */
export function redactEvent(event: InteractionEvent, listingId: string, counts: RedactionCounts): InteractionEvent {
  return {
    ...event,
    ...(event.name !== undefined ? { name: redactText(event.name, counts) } : {}),
    ...(event.csrId !== undefined ? { csrId: pseudonymize(event.csrId, listingId) } : {}),
    ...(event.data ? { data: redactJson(event.data, counts) as typeof event.data } : {}),
  };
}

function redactLabels<T extends Record<string, LabelValue>>(set: T, counts: RedactionCounts): T {
  return Object.fromEntries(Object.entries(set).map(([name, value]) => [name, typeof value === 'string' ? redactText(value, counts) : value])) as T;
}
