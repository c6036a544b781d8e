import type { Assessment, TranscriptMessage } from './assessment.ts';

/**
 * The note a CSR reads first when the ticket arrives: extractive (the customer's own opening
 * and latest words), so it never invents anything and costs nothing. A bot that has a better
 * summary sends it and this one is not used.
 */
const clip = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
};

export function summarize(messages: readonly TranscriptMessage[], assessment: Pick<Assessment, 'intent' | 'signals' | 'customerTurns'>): string {
  const customer = messages.filter((message) => message.role === 'customer' && message.text.trim() !== '');
  const parts: string[] = [];
  const first = customer[0];
  const last = customer.at(-1);
  if (first) parts.push(`Customer opened with: "${clip(first.text, 200)}"`);
  if (last && last !== first) parts.push(`Latest: "${clip(last.text, 200)}"`);
  parts.push(`${assessment.customerTurns} customer turn${assessment.customerTurns === 1 ? '' : 's'} with the bot, ${messages.length} messages`);
  if (assessment.intent) parts.push(`Intent: ${assessment.intent}`);
  const reasons = assessment.signals.filter((signal) => signal.contribution > 0).map((signal) => signal.reason);
  if (reasons.length > 0) parts.push(`Why handed off: ${reasons.join('; ')}`);
  return `${parts.join('. ')}.`;
}

/** The system note posted into the thread: the summary, marked as the bot's hand-off. */
export const handoffNote = (summary: string) => clip(`Hand-off from the bot. ${summary}`, 4000);
