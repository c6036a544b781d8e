import PorterStemmer from 'natural/lib/natural/stemmers/porter_stemmer.js';
import { tokenize } from '../../features/index.ts';
import { createBoundedCache } from '../../platform/index.ts';

/**
 * Text normalisation for reply suggestion, shared by the reply index (dedupe and clustering), BM25
 * and the dual encoder, so all three see the same words.
 *
 * Templating turns the parts of a reply that change from one conversation to the next into
 * placeholders in the style of ingest's redaction (`[phone]`, `[email]`, …): times → `[time]`,
 * letter-and-digit codes (booking references, train ids, postcodes) → `[ref]`, other numbers →
 * `[number]`, and in replies the leading @mentions (the customer's handle on social channels) →
 * `@[user]`. "Your reference is 3DX8BMS0" and "Your reference is Y6Z4DPIG" then dedupe into one
 * canonical reply a CSR can fill in, and the models learn "a reference is given here" instead of
 * memorising codes. URLs are left whole: the help article a reply links to is what it says.
 */

const URL_SPAN = /\b(?:https?:\/\/|www\.)\S+/gi;
const TIME = /\b\d{1,2}[:.]\d{2}(?:\s?[ap]\.?m\.?)?(?![\d:])/gi;
const CODE = /\b(?=[a-z]*\d)(?=\d*[a-z])[a-z\d]{5,}\b/gi;
const NUMBER = /(?<![\w[])[£$€]?\d+(?:[.,]\d+)*(?![\w\]])/g;
const MENTION = /(?<![\w@])@\w{1,30}/g;

function templateSegment(segment: string, mentions: boolean): string {
  // Handles first: "@gaz1234" is a handle, not a code.
  const text = mentions ? segment.replace(MENTION, '@[user]') : segment;
  return text.replace(TIME, '[time]').replace(CODE, '[ref]').replace(NUMBER, '[number]');
}

/**
 * The text with its variable parts replaced by placeholders (URLs kept). `mentions`: also replace
 * @handles (for replies, whose handles name the customer; a context keeps them, since the brand
 * a customer tags says where the question goes).
 */
export function templateText(text: string, options: { mentions?: boolean } = {}): string {
  const mentions = options.mentions ?? false;
  let result = '';
  let last = 0;
  for (const match of text.matchAll(URL_SPAN)) {
    result += templateSegment(text.slice(last, match.index), mentions) + match[0];
    last = match.index + match[0].length;
  }
  return (result + templateSegment(text.slice(last), mentions)).replace(/\s+/g, ' ').trim();
}

/** A reply's display form: templated, handles included. */
export const templateReply = (text: string): string => templateText(text, { mentions: true });

/**
 * Porter stems with a bounded memo: a stem costs microseconds (a chain of regular expressions), a
 * Map lookup ~50 ns, and the words of a listing repeat heavily. A pure function's cache, so
 * sharing it across listings leaks nothing.
 */
const STEM_MEMO_MAX = 200_000;
const stemMemo = createBoundedCache<string, string>(STEM_MEMO_MAX);
export function stem(word: string): string {
  let stemmed = stemMemo.get(word);
  if (stemmed === undefined) {
    stemmed = word.length < 3 || !/^[a-z]+$/.test(word) ? word : PorterStemmer.stem(word);
    stemMemo.set(word, stemmed);
  }
  return stemmed;
}

const PUNCTUATION = new Set(['.', ',', '!', '?', ';', ':']);

/** Stemmed word tokens (no punctuation) of an already templated text. */
export function stemmedWords(templated: string): string[] {
  const words: string[] = [];
  for (const token of tokenize(templated)) if (!PUNCTUATION.has(token)) words.push(stem(token));
  return words;
}

/**
 * Templated, stemmed words of a message (`reply`: templated as a reply, handles too), memoised:
 * a live conversation is sent again with every request, so every message but the newest is a
 * lookup. Bounded (least recently used out); a pure function's cache, so sharing it across listings
 * changes no result. Callers must not modify the returned array.
 */
const WORDS_MEMO_MAX = 20_000;
const wordsMemo = createBoundedCache<string, readonly string[]>(WORDS_MEMO_MAX);
export function messageWords(text: string, reply = false): readonly string[] {
  const key = reply ? `\u0001${text}` : text;
  let words = wordsMemo.get(key);
  if (words === undefined) {
    words = stemmedWords(reply ? templateReply(text) : templateText(text));
    wordsMemo.set(key, words);
  }
  return words;
}

/**
 * English function words skipped by lexical retrieval (BM25): they match almost every document
 * and make a query cost a scan of most postings. Compared after stemming. The dual encoder keeps
 * them: "would you like" and "anything else" carry a reply's intent.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  [
    'a', 'an', 'the', 'and', 'or', 'but', 'if', 'then', 'so', 'of', 'at', 'by', 'for', 'with', 'about', 'to', 'from', 'in', 'on', 'into',
    'is', 'am', 'are', 'was', 'were', 'be', 'been', 'being', 'do', 'does', 'did', 'have', 'has', 'had', 'i', 'me', 'my', 'we', 'our',
    'you', 'your', 'it', 'its', 'it\'s', 'he', 'she', 'they', 'them', 'their', 'this', 'that', 'these', 'those', 'there', 'here', 'what',
    'which', 'who', 'whom', 'will', 'would', 'shall', 'should', 'can', 'could', 'may', 'might', 'must', 'just', 'also', 'too', 'very',
    'as', 'than', 'i\'m', 'i\'d', 'i\'ll', 'you\'r', 'you\'re', 'that\'s', 'us', 'all', 'some', 'any', 'up', 'out', 'over', 'again',
  ].map((word) => stem(word)),
);

/** Terms for lexical retrieval: templated, stemmed, without stop words. */
export function retrievalTerms(text: string, options: { mentions?: boolean } = {}): string[] {
  return stemmedWords(templateText(text, options)).filter((word) => !STOP_WORDS.has(word));
}

/**
 * The dedupe key of a reply: its templated, stemmed words. Two replies that differ only in
 * punctuation, case, inflection, codes, numbers or the customer's handle share it.
 */
export function replyKey(text: string): string {
  return stemmedWords(templateReply(text)).join(' ');
}

/** A help-article URL without a web-archive prefix, scheme, `www.`, query or trailing slash. */
export function normalizeUrl(url: string): string {
  let value = url.trim().toLowerCase();
  const archived = value.match(/^https?:\/\/web\.archive\.org\/web\/[^/]+\/(.*)$/);
  if (archived) value = archived[1]!;
  return value
    .replace(/^https?:\/\//, '')
    .replace(/^www\./, '')
    .replace(/[?#].*$/, '')
    .replace(/\/+$/, '');
}

/** Document ids compare without leading zeros ("0195" is "195"). */
export function normalizeDocId(docId: string): string {
  const trimmed = docId.trim();
  return /^\d+$/.test(trimmed) ? String(Number(trimmed)) : trimmed;
}

/** URLs in a text, in order. */
export function urlsIn(text: string): string[] {
  return [...text.matchAll(URL_SPAN)].map((match) => match[0].replace(/[.,;:!?)\]]+$/, ''));
}
