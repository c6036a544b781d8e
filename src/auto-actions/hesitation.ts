import { NEGATORS, tokenize } from '../features/index.ts';

/**
 * Hesitation points in a customer's message: where ABCD's agent guidelines say "if the customer
 * keeps pushing, offer them a discount" (bad price, competitor's price) and where sales
 * conversations stall ("let me think about it"). Whole-word phrases over `tokenize()` tokens;
 * a negation shortly before ("not too expensive", "I don't think it's expensive") cancels one.
 */
export const hesitationKinds = ['price_objection', 'deliberation', 'competitor'] as const;
export type HesitationKind = (typeof hesitationKinds)[number];

export const HESITATION_PHRASES: Readonly<Record<HesitationKind, readonly string[]>> = {
  price_objection: [
    'too expensive', 'expensive', 'too much', 'costs too much', 'pricey', 'overpriced', 'over priced', "can't afford", 'cannot afford',
    'cant afford', 'out of my budget', 'over my budget', 'over budget', 'price is too high', 'too high', 'rip off', 'ripoff', 'not worth',
    'cheaper', 'too costly',
  ],
  deliberation: [
    'let me think', 'think about it', 'think it over', 'need to think', 'need some time', 'need more time', 'not sure', 'maybe later',
    'get back to you', 'sleep on it', 'on the fence', 'not ready', 'hold off', 'undecided', 'hesitant', 'second thoughts', 'not convinced',
  ],
  competitor: [
    'competitor', 'competitors', 'competition', 'another company', 'other company', 'elsewhere', 'somewhere else', 'other store',
    'another store', 'cheaper at', 'better price', 'better deal', 'better offer', 'price match', 'switch to', 'switching to',
    'other provider', 'another provider', 'go with another',
  ],
};

export interface HesitationHit {
  kind: HesitationKind;
  phrase: string;
}

const CLAUSE_END = new Set(['.', ',', '!', '?', ';', ':']);
/** Phrases that carry their own negation ("not sure") are never cancelled by it. */
const SELF_NEGATED = (words: readonly string[]) => NEGATORS.has(words[0]!);
const NEGATION_WINDOW = 3;

const BY_FIRST: ReadonlyMap<string, ReadonlyArray<{ kind: HesitationKind; words: readonly string[] }>> = (() => {
  const map = new Map<string, Array<{ kind: HesitationKind; words: string[] }>>();
  for (const kind of hesitationKinds) {
    for (const phrase of HESITATION_PHRASES[kind]) {
      const words = phrase.split(' ');
      const list = map.get(words[0]!) ?? [];
      list.push({ kind, words });
      map.set(words[0]!, list);
    }
  }
  // Longest first: "too expensive" is reported rather than "expensive".
  for (const list of map.values()) list.sort((a, b) => b.words.length - a.words.length);
  return map;
})();

/** Each kind at most once, with the first phrase that showed it. */
export function detectHesitation(text: string): HesitationHit[] {
  const tokens = tokenize(text);
  const hits = new Map<HesitationKind, string>();
  let clauseStart = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (CLAUSE_END.has(token)) {
      clauseStart = i + 1;
      continue;
    }
    const candidates = BY_FIRST.get(token);
    if (!candidates) continue;
    const here = new Set<HesitationKind>();
    for (const { kind, words } of candidates) {
      // The longest phrase of each kind at this position decides ("too expensive", not "expensive").
      if (here.has(kind)) continue;
      let matches = true;
      for (let k = 1; k < words.length && matches; k++) matches = tokens[i + k] === words[k];
      if (!matches) continue;
      let negated = false;
      if (!SELF_NEGATED(words)) {
        for (let k = Math.max(clauseStart, i - NEGATION_WINDOW); k < i && !negated; k++) negated = NEGATORS.has(tokens[k]!);
      }
      here.add(kind);
      if (!negated && !hits.has(kind)) hits.set(kind, words.join(' '));
    }
  }
  return hesitationKinds.filter((kind) => hits.has(kind)).map((kind) => ({ kind, phrase: hits.get(kind)! }));
}
