import type { InteractionRecord } from './interaction.schemas.ts';
import { pseudonymize, redactJson, redactText, type RedactionCounts } from './redaction.ts';

/**
 * The record as it may be stored: every free text (messages, transcripts, attachment names and
 * urls, meta, string labels, event data) redacted, and identifiers that are themselves PII
 * replaced by per-listing pseudonyms. Returns a new record; the input is not changed.
 */
export function redactInteraction(record: InteractionRecord, listingId: string, counts: RedactionCounts): InteractionRecord {
  const text = (value: string | undefined) => (value === undefined ? undefined : redactText(value, counts));
  const labels = <T extends Record<string, string | number | boolean> | undefined>(set: T): T =>
    (set === undefined
      ? set
      : Object.fromEntries(Object.entries(set).map(([name, value]) => [name, typeof value === 'string' ? redactText(value, counts) : value]))) as T;
  const id = (value: string | undefined) => (value === undefined ? undefined : pseudonymize(value, listingId));
  return {
    ...record,
    ...(record.customerId !== undefined ? { customerId: id(record.customerId) } : {}),
    ...(record.csrIds ? { csrIds: record.csrIds.map((csrId) => pseudonymize(csrId, listingId)) } : {}),
    ...(record.externalIds
      ? { externalIds: Object.fromEntries(Object.entries(record.externalIds).map(([key, value]) => [key, pseudonymize(value, listingId)])) }
      : {}),
    ...(record.outcome ? { outcome: { ...record.outcome, ...(record.outcome.labels ? { labels: labels(record.outcome.labels) } : {}) } } : {}),
    messages: record.messages.map((message) => ({
      ...message,
      ...(message.text !== undefined ? { text: text(message.text) } : {}),
      ...(message.transcript !== undefined ? { transcript: text(message.transcript) } : {}),
      ...(message.csrId !== undefined ? { csrId: id(message.csrId) } : {}),
      ...(message.attachment
        ? {
            attachment: {
              ...message.attachment,
              ...(message.attachment.name !== undefined ? { name: text(message.attachment.name) } : {}),
              ...(message.attachment.url !== undefined ? { url: text(message.attachment.url) } : {}),
            },
          }
        : {}),
      ...(message.labels ? { labels: labels(message.labels) } : {}),
      ...(message.meta ? { meta: redactJson(message.meta, counts) as typeof message.meta } : {}),
    })),
    ...(record.events
      ? {
          events: record.events.map((event) => ({
            ...event,
            ...(event.name !== undefined ? { name: text(event.name) } : {}),
            ...(event.csrId !== undefined ? { csrId: id(event.csrId) } : {}),
            ...(event.data ? { data: redactJson(event.data, counts) as typeof event.data } : {}),
          })),
        }
      : {}),
  };
}
