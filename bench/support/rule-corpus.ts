import { readFile } from 'node:fs/promises';
import { messageWords, type ConversationMessage, type RuleDefinitionInput } from '../../src/suggest/rules/index.ts';
import { seededRandom } from '../../src/platform/index.ts';

/**
 * Keyword rules as a developer team would write them, generated (seeded) from the customer
 * messages of the USS corpora, and those dialogues themselves: shared by bench/rules.bench.ts
 * (rule evaluation alone) and bench/suggest-api.bench.ts (the whole suggest route).
 */

/** USS dialogue files → conversations (USER → customer, SYSTEM → csr), 45 s apart. */
export async function readUssDialogues(files: readonly string[]): Promise<ConversationMessage[][]> {
  return (await Promise.all(files.map((file) => readFile(file, 'utf8'))))
    .flatMap((text) => text.split(/\n\s*\n/))
    .map((block) =>
      block
        .split('\n')
        .map((line) => line.split('\t'))
        .filter((columns) => (columns[0] === 'USER' && columns[1] !== 'OVERALL') || columns[0] === 'SYSTEM')
        .map((columns, index): ConversationMessage => ({
          role: columns[0] === 'USER' ? 'customer' : 'csr',
          text: columns[1] ?? '',
          channel: 'chat',
          tsMs: Date.UTC(2026, 0, 5, 9) + index * 45_000,
        })),
    )
    .filter((messages) => messages.length > 0);
}

/**
 * Topic words by stem frequency (so "booking" is not picked as a rare word when its stem "book" is
 * in every other message): stems ranked 300 and lower, each written as its commonest form, and
 * two-word phrases of such content words.
 */
function vocabulary(dialogues: readonly ConversationMessage[][]): { words: string[]; phrases: string[] } {
  const stemCounts = new Map<string, number>();
  const surfaces = new Map<string, Map<string, number>>();
  const phraseCounts = new Map<string, number>();
  const messages = dialogues.flat().filter((message) => message.role === 'customer').map((message) => messageWords(message.text));
  for (const { words, stems } of messages) {
    words.forEach((word, index) => {
      if (!/^\p{L}{3,}$/u.test(word)) return;
      const stemmed = stems[index]!;
      stemCounts.set(stemmed, (stemCounts.get(stemmed) ?? 0) + 1);
      const forms = surfaces.get(stemmed) ?? new Map<string, number>();
      forms.set(word, (forms.get(word) ?? 0) + 1);
      surfaces.set(stemmed, forms);
    });
  }
  const rankedStems = [...stemCounts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([stemmed]) => stemmed);
  const common = new Set(rankedStems.slice(0, 300));
  const commonest = (stemmed: string) => [...surfaces.get(stemmed)!.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  for (const { words, stems, clauses } of messages) {
    for (let index = 0; index + 1 < words.length; index++) {
      if (clauses[index] !== clauses[index + 1] || !/^\p{L}{3,}$/u.test(words[index]!) || !/^\p{L}{3,}$/u.test(words[index + 1]!)) continue;
      if (common.has(stems[index]!) && common.has(stems[index + 1]!)) continue;
      const phrase = `${words[index]} ${words[index + 1]}`;
      phraseCounts.set(phrase, (phraseCounts.get(phrase) ?? 0) + 1);
    }
  }
  const phrases = [...phraseCounts.entries()].filter(([, count]) => count >= 2).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([phrase]) => phrase);
  return { words: rankedStems.slice(300).filter((stemmed) => stemCounts.get(stemmed)! >= 2).map(commonest), phrases };
}

/** `count` rules over the dialogues' own words (same dialogues and count → the same rules). */
export function generateRules(dialogues: readonly ConversationMessage[][], count: number): RuleDefinitionInput[] {
  const random = seededRandom(5_2026);
  const { words, phrases } = vocabulary(dialogues);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const term = () => (random() < 0.7 ? pick(words) : pick(phrases));
  return Array.from({ length: count }, (_, index): RuleDefinitionInput => {
    const terms = Array.from({ length: 1 + Math.floor(random() * 3) }, term);
    const all = terms.length > 1 && random() < 0.2;
    const conditions: unknown[] = [
      { type: 'keywords', terms, mode: all ? 'all' : 'any', ...(all && random() < 0.5 ? { near: 8 } : {}), scope: random() < 0.95 ? 'last' : 'conversation' },
    ];
    const extra = random();
    if (extra < 0.08) conditions.push({ type: 'tone', below: 0 });
    else if (extra < 0.16) conditions.push({ type: 'turn', min: 2 });
    else if (extra < 0.24) conditions.push({ type: 'role', roles: ['customer'] });
    else if (extra < 0.3) conditions.push({ type: 'business_hours', open: true });
    else if (extra < 0.4) conditions.push({ type: 'regex', pattern: `\\b${pick(words)}\\b|\\d{4,}` });
    return {
      name: `rule ${String(index).padStart(5, '0')}`,
      priority: Math.floor(random() * 10),
      conditions,
      actions: [{ type: 'reply_set', replies: [{ text: `Hi {{customer.first_name | there}}, about ${terms[0]}…` }, { text: `{{csr.first_name}} from {{listing.name}} can help with ${terms[0]}.` }] }],
    } as RuleDefinitionInput;
  });
}
