import type { InteractionInput } from '../interaction.schemas.ts';
import { readLines, type RawRecord } from '../readers.ts';
import { decodeRaw, excerptOf, type Adapter, type Candidate, type Position, type QuarantineReason } from './adapter.ts';

/**
 * User Satisfaction Simulation dialogues (Sun et al., SIGIR 2021; ../shared/data/uss/FORMAT.md):
 * one turn per line, `ROLE \t text \t act \t ratings`, dialogues separated by blank lines, a final
 * `USER \t OVERALL \t \t ratings` line rating the whole dialogue.
 *
 * USER → customer, SYSTEM → csr. Each USER turn keeps its annotators' ratings as per-turn labels:
 * `satisfaction` (the majority rating; a tie goes to the tied value nearest the mean, then the
 * lower), `satisfaction_mean` and `satisfaction_ratings` (the raw list, e.g. "3,3,2,3"); the act
 * (when annotated) is the label `act`. OVERALL becomes the outcome: `satisfaction` plus the same
 * mean and ratings as custom outcome labels. Ids are `<file stem>-<dialogue number, from 0001>`,
 * stable for a given file, so re-ingesting it replaces rather than duplicates.
 */

interface Turn {
  role: string;
  text: string;
  act: string;
  ratings: string;
  explanations: string | undefined;
}

export const ussAdapter: Adapter = async function* (chunks, context) {
  let index = context.start.index;
  let lines: RawRecord[] = [];
  let bytes = 0;
  const lineReader = readLines(chunks, {
    maxBytes: context.maxRecordBytes,
    startOffset: context.start.offset,
    startLine: context.start.line,
    failed: context.failed,
  });
  const flush = (complete = true): Candidate => {
    const first = lines[0]!;
    const last = lines[lines.length - 1]!;
    const at: Position = {
      index,
      line: first.line,
      offset: first.offset,
      next: { index: index + 1, line: last.nextLine, offset: last.end },
    };
    const failure = context.failed();
    const candidate: Candidate = complete
      ? toCandidate(lines, bytes, at, context.stem, context)
      : {
          ok: false,
          reason: 'truncated',
          detail: `the input ends inside this dialogue${failure ? ` (${failure.message})` : ''}`,
          excerpt: lines.map((line) => excerptOf(line.bytes)).join('\n'),
          at,
        };
    index++;
    lines = [];
    bytes = 0;
    return candidate;
  };
  for await (const raw of lineReader) {
    const blank = !raw.oversize && !raw.truncated && raw.bytes.every((byte) => byte === 0x20 || byte === 0x09 || byte === 0x0d);
    if (blank) {
      if (lines.length > 0) yield flush();
      continue;
    }
    bytes += raw.size;
    // Past the limit, keep only the first line (for the excerpt) and count the rest.
    if (bytes <= context.maxRecordBytes || lines.length === 0) lines.push(raw);
    else lines[lines.length - 1] = raw;
  }
  // A dialogue ends at a blank line or at the end of the file, unless the input broke off
  // (a damaged gzip): then its last turns may be missing, and it is not a record.
  if (lines.length > 0) yield flush(context.failed() === undefined);
};

function toCandidate(lines: RawRecord[], bytes: number, at: Position, stem: string, context: Parameters<Adapter>[1]): Candidate {
  const reject = (reason: QuarantineReason, detail: string): Candidate => ({
    ok: false,
    reason,
    detail,
    excerpt: lines.map((line) => excerptOf(line.bytes)).join('\n'),
    at,
  });
  if (bytes > context.maxRecordBytes) {
    return reject('oversize', `dialogue of ${bytes} bytes exceeds the limit of ${context.maxRecordBytes} bytes`);
  }
  const turns: Turn[] = [];
  for (const line of lines) {
    const decoded = decodeRaw(line, context);
    if (!decoded.ok) return reject(decoded.reason, `line ${line.line}: ${decoded.detail}`);
    const [role = '', text = '', act = '', ratings = '', explanations] = decoded.text.split('\t');
    if (role !== 'USER' && role !== 'SYSTEM') return reject('malformed_line', `line ${line.line}: role "${role.slice(0, 40)}" is neither USER nor SYSTEM`);
    if (ratings.trim() !== '' && !/^\s*[1-5](\s*,\s*[1-5])*\s*$/.test(ratings)) {
      return reject('malformed_line', `line ${line.line}: ratings "${ratings.slice(0, 40)}" are not a list of 1–5`);
    }
    turns.push({ role, text, act: act.trim(), ratings: ratings.replace(/\s+/g, ''), explanations });
  }

  const messages: NonNullable<InteractionInput['messages']> = [];
  let outcome: InteractionInput['outcome'];
  for (const turn of turns) {
    if (turn.role === 'USER' && turn.text.trim() === 'OVERALL') {
      const ratings = parseRatings(turn.ratings);
      if (ratings.length === 0) return reject('malformed_line', 'the OVERALL line has no ratings');
      outcome = {
        satisfaction: majority(ratings),
        labels: {
          satisfaction_mean: mean(ratings),
          satisfaction_ratings: ratings.join(','),
          ...(turn.explanations?.trim() ? { satisfaction_explanations: turn.explanations.trim().slice(0, 2000) } : {}),
        },
      };
      continue;
    }
    const ratings = parseRatings(turn.ratings);
    const labels: Record<string, string | number> = {};
    if (turn.act) labels.act = turn.act.slice(0, 2000);
    if (ratings.length > 0) {
      labels.satisfaction = majority(ratings);
      labels.satisfaction_mean = mean(ratings);
      labels.satisfaction_ratings = ratings.join(',');
    }
    messages.push({
      role: turn.role === 'USER' ? 'customer' : 'csr',
      text: turn.text,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    });
  }
  const number = at.index + 1;
  const record: InteractionInput = {
    id: `${stem}-${String(number).padStart(4, '0')}`,
    externalIds: { corpus: stem, dialogue: String(number) },
    messages,
    ...(outcome ? { outcome } : {}),
  };
  return { ok: true, value: record, at };
}

function parseRatings(value: string): number[] {
  return value === '' ? [] : value.split(',').map(Number);
}

function mean(ratings: number[]): number {
  return Math.round((ratings.reduce((sum, rating) => sum + rating, 0) / ratings.length) * 1000) / 1000;
}

/** The most frequent rating; ties go to the tied value nearest the mean, then to the lower. */
export function majority(ratings: number[]): number {
  const counts = new Map<number, number>();
  for (const rating of ratings) counts.set(rating, (counts.get(rating) ?? 0) + 1);
  const top = Math.max(...counts.values());
  const average = mean(ratings);
  return [...counts.entries()]
    .filter(([, count]) => count === top)
    .map(([rating]) => rating)
    .sort((a, b) => Math.abs(a - average) - Math.abs(b - average) || a - b)[0]!;
}
