import { describe, expect, it } from 'vitest';
import {
  NGRAM_BUCKETS,
  bigramBucket,
  capsWords,
  codePoints,
  intentBits,
  intents,
  isDiagnosticQuestion,
  ngramCounts,
  questionSentences,
  scoreTone,
  tokenize,
  unigramBucket,
} from '../../src/features/index.ts';

const tone = (text: string) => scoreTone(tokenize(text));

describe('tone: AFINN-165 with negation', () => {
  it('scores words and divides by the word count', () => {
    expect(tone('good')).toEqual({ score: 3, words: 1, tone: 3 });
    expect(tone('')).toEqual({ score: 0, words: 0, tone: 0 });
    expect(tone('The hotel was terrible').score).toBe(-3);
  });

  it('flips the sign of scored words within three words after a negator', () => {
    expect(tone('I am not happy').score).toBe(-3);
    expect(tone('not very good').score).toBe(-3);
    expect(tone("I don't like it").score).toBe(-2);
    expect(tone('I don’t like it').score).toBe(-2); // typographic apostrophe
    expect(tone('not bad').score).toBe(3);
    expect(tone('no problem').score).toBe(2);
    // Beyond the scope: "great" is the fourth word after "not".
    expect(tone('not at all really great').score).toBe(3);
  });

  it('stops negation at clause punctuation and at "but"', () => {
    expect(tone('not bad. terrible').score).toBe(3 - 3);
    expect(tone('not happy, but fine').score).toBe(-3 + 2);
    expect(tone('not happy but fine').score).toBe(-3 + 2);
  });

  it("takes AFINN's multi-word entries as they are, without negating them twice", () => {
    expect(tone('not good').score).toBe(-2); // the entry "not good"
    expect(tone('this does not work').score).toBe(-3); // the entry "does not work"
    expect(tone('I am fed up').score).toBe(-3);
  });
});

describe('diagnostic questions', () => {
  it('ignores greeting and closing formulas', () => {
    expect(isDiagnosticQuestion('Hello, how can I help you?')).toBe(false);
    expect(isDiagnosticQuestion('Is there anything else I can help you with?')).toBe(false);
    expect(isDiagnosticQuestion('Hi, how are you today?')).toBe(false);
    expect(isDiagnosticQuestion('Your booking is confirmed.')).toBe(false);
  });

  it('finds a real question among formulas, sentence by sentence', () => {
    expect(isDiagnosticQuestion('Hello! How can I help? What is your order number?')).toBe(true);
    expect(isDiagnosticQuestion('Which area of town would you like to stay in?')).toBe(true);
    expect(isDiagnosticQuestion('Anything else? Did the error appear after the update?')).toBe(true);
    expect(questionSentences('Thanks. Can you DM us? And your zip code?')).toEqual(['Can you DM us?', 'And your zip code?']);
  });
});

describe('n-gram hashing', () => {
  it('is FNV-1a 32-bit, stable across runs and versions', () => {
    // FNV-1a("a") = 0xe40c292c, FNV-1a("") = 0x811c9dc5 (the published test vectors).
    expect(unigramBucket('a')).toBe(0xe40c292c & (NGRAM_BUCKETS - 1));
    expect(unigramBucket('')).toBe(0x811c9dc5 & (NGRAM_BUCKETS - 1));
    // Golden values: changing them changes every stored n-gram; bump the feature's version.
    expect(unigramBucket('refund')).toBe(197727);
    expect(unigramBucket('cancel')).toBe(171035);
    expect(bigramBucket('money', 'back')).toBe(178378);
  });

  it('hashes a bigram as its words joined by a space', () => {
    expect(bigramBucket('money', 'back')).toBe(unigramBucket('money back'));
  });

  it('counts unigrams and bigrams of a message, bigrams not crossing messages', () => {
    const counts = ngramCounts(['a', 'b', 'a']);
    expect(counts.get(unigramBucket('a'))).toBe(2);
    expect(counts.get(unigramBucket('b'))).toBe(1);
    expect(counts.get(bigramBucket('a', 'b'))).toBe(1);
    expect(counts.get(bigramBucket('b', 'a'))).toBe(1);
    expect([...counts.values()].reduce((sum, n) => sum + n, 0)).toBe(5);
    for (const bucket of counts.keys()) expect(bucket).toBeLessThan(NGRAM_BUCKETS);
  });
});

describe('markers and lexicon', () => {
  it('counts code points as DuckDB length() does', () => {
    expect(codePoints('a😀é')).toBe(3);
    expect(codePoints('')).toBe(0);
  });

  it('counts shouted words of three or more letters', () => {
    expect(capsWords('THIS is NOT OK, I said')).toBe(2);
  });

  it('flags intents by whole words and phrases', () => {
    const flags = (text: string) => intents.filter((_, i) => (intentBits(tokenize(text).filter((t) => /\w/.test(t))) & (1 << i)) !== 0);
    expect(flags('I want my money back and to speak to someone')).toEqual(['refund', 'human_request']);
    expect(flags('Please cancel it, thank you')).toEqual(['cancel', 'thanks']);
    expect(flags('the agency was cancelling nothing')).toEqual(['cancel']); // "agency" is not "agent"
  });
});
