import { describeIssues } from './adapters/adapter.ts';
import { interactionSchema, type InteractionRecord } from './interaction.schemas.ts';

/**
 * The one gate every candidate passes, whatever its format: the schema, the tenant, and
 * timestamps that could have happened. Clocks disagree a little across channels, so order checks
 * allow a few minutes of skew; what they catch is a date in 1970 or the next century, an end
 * before the start, a message long before its conversation began.
 */

export type Validated =
  | { ok: true; record: InteractionRecord }
  | { ok: false; reason: 'invalid_record' | 'impossible_timestamp' | 'wrong_listing'; detail: string };

// Exported for the SQL fast path (fast-rules.ts), which checks the same bounds.
export const EARLIEST = Date.parse('1990-01-01T00:00:00Z');
export const FUTURE_SLACK_MS = 24 * 3600 * 1000;
export const SKEW_MS = 5 * 60 * 1000;

export function validateInteraction(value: unknown, context: { listingId: string; now: Date }): Validated {
  const parsed = interactionSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: 'invalid_record', detail: describeIssues(parsed.error.issues) };
  const record = parsed.data;
  if (record.listingId !== undefined && record.listingId !== context.listingId) {
    return { ok: false, reason: 'wrong_listing', detail: `the record belongs to listing "${record.listingId}", not "${context.listingId}"` };
  }
  const pastEnd = (record.events ?? []).findIndex((event) => event.seq !== undefined && event.seq > record.messages.length);
  if (pastEnd >= 0) {
    return { ok: false, reason: 'invalid_record', detail: `events.${pastEnd}.seq points past the last message (${record.messages.length})` };
  }
  const problem = timestampProblem(record, context.now.getTime());
  return problem ? { ok: false, reason: 'impossible_timestamp', detail: problem } : { ok: true, record };
}

function timestampProblem(record: InteractionRecord, now: number): string | undefined {
  const latest = now + FUTURE_SLACK_MS;
  const check = (name: string, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    const time = Date.parse(value);
    if (time < EARLIEST) return `${name} ${value} is before 1990`;
    if (time > latest) return `${name} ${value} is in the future`;
    return undefined;
  };
  const lifecycle = ['createdAt', 'firstAssignedAt', 'firstCsrReplyAt', 'endedAt'] as const;
  for (const name of lifecycle) {
    const problem = check(name, record[name]);
    if (problem) return problem;
  }
  const created = record.createdAt ? Date.parse(record.createdAt) : undefined;
  const ended = record.endedAt ? Date.parse(record.endedAt) : undefined;
  if (created !== undefined) {
    for (const name of ['firstAssignedAt', 'firstCsrReplyAt', 'endedAt'] as const) {
      const value = record[name];
      if (value !== undefined && Date.parse(value) < created) return `${name} ${value} is before createdAt ${record.createdAt}`;
    }
  }
  for (const [position, message] of record.messages.entries()) {
    const problem = check(`messages.${position}.ts`, message.ts);
    if (problem) return problem;
    if (message.ts === undefined) continue;
    const time = Date.parse(message.ts);
    if (created !== undefined && time < created - SKEW_MS) return `messages.${position}.ts ${message.ts} is before createdAt ${record.createdAt}`;
    if (ended !== undefined && time > ended + SKEW_MS) return `messages.${position}.ts ${message.ts} is after endedAt ${record.endedAt}`;
  }
  for (const [position, event] of (record.events ?? []).entries()) {
    const problem = check(`events.${position}.ts`, event.ts);
    if (problem) return problem;
  }
  return undefined;
}
