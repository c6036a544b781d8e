import { z } from 'zod';
import type { FeatureMessage } from '../features/index.ts';
import { senderRoles } from '../messages/index.ts';
import type { OutcomeModel } from './outcome-model.ts';

/**
 * Batch scoring, the contract other tools rely on: JSON lines in, `{"id", "context": [message…]}`
 * with a message `{"role", "text", "ts"?, "channel"?}`; JSON lines out, one per input line and in
 * the same order: `{"id", "probs": [...]}` for a multi-class target (satisfaction: ratings 1…5) or
 * `{"id", "p": number}` for a binary one. A line that cannot be scored gets `{"id", "error"}`
 * instead (id null when the line has none), so outputs still pair with inputs line by line.
 * Blank lines are not records and produce nothing.
 */

export const scoreMessageSchema = z.object({
  role: z.enum(senderRoles),
  text: z.string().max(100_000),
  ts: z.iso.datetime({ offset: true }).optional(),
  channel: z.string().max(64).optional(),
});

export const scoreLineSchema = z.object({
  id: z.string().min(1).max(1000),
  context: z.array(scoreMessageSchema).max(100_000),
});

export interface ScoreSummary {
  lines: number;
  scored: number;
  rejected: number;
  seconds: number;
  /** Mean time per scored context (features + scoring), µs. */
  microsecondsPerContext: number;
}

const toFeatureMessage = (message: z.output<typeof scoreMessageSchema>): FeatureMessage => ({
  role: message.role,
  kind: 'text',
  channel: message.channel ?? null,
  tsMs: message.ts === undefined ? null : Date.parse(message.ts),
  text: message.text,
  hasAttachment: false,
});

export async function scoreContextLines(model: OutcomeModel, lines: AsyncIterable<string>, write: (line: string) => void | Promise<void>): Promise<ScoreSummary> {
  const started = performance.now();
  let count = 0;
  let scored = 0;
  let scoringMs = 0;
  const binary = model.target.kind === 'binary';
  for await (const raw of lines) {
    if (raw.trim() === '') continue;
    count++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      await write(JSON.stringify({ id: null, error: `line ${count}: not JSON` }));
      continue;
    }
    const line = scoreLineSchema.safeParse(parsed);
    if (!line.success) {
      const id = typeof (parsed as { id?: unknown } | null)?.id === 'string' ? (parsed as { id: string }).id : null;
      const issue = line.error.issues[0];
      await write(JSON.stringify({ id, error: `line ${count}: ${issue ? `${issue.path.join('.') || '(line)'}: ${issue.message}` : 'invalid'}` }));
      continue;
    }
    const t0 = performance.now();
    const prediction = model.predictContext(line.data.context.map(toFeatureMessage), { drivers: 0 });
    scoringMs += performance.now() - t0;
    scored++;
    await write(JSON.stringify(binary ? { id: line.data.id, p: prediction.p } : { id: line.data.id, probs: prediction.probs }));
  }
  return {
    lines: count,
    scored,
    rejected: count - scored,
    seconds: (performance.now() - started) / 1000,
    microsecondsPerContext: scored === 0 ? 0 : Math.round((scoringMs * 1000) / scored),
  };
}
