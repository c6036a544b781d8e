import { createHash } from 'node:crypto';
import { luhnValid } from '../messages/index.ts';
import { createBoundedCache } from '../platform/index.ts';

/**
 * PII redaction applied to every text field at ingest (on by default). Each finding is replaced
 * by a typed placeholder, so models still see that "an e-mail address was given here":
 *
 * - `[email]`   e-mail addresses
 * - `[card]`    13–19 digit runs (optionally grouped by spaces or dashes) that pass the Luhn check
 * - `[phone]`   digit groups with phone punctuation (+44 1223 812660, (977) 625-2661, 555-123-4567),
 *               7–15 digits in all, or 10–11 bare digits starting with a trunk 0 (01223575314);
 *               calendar dates such as 2019-11-06 are left alone
 * - `[account]` other runs of 8 or more digits (order, ticket, account numbers) and IBANs
 *
 * Digit rules skip URLs (archive timestamps and article ids are not personal data, and mangling
 * them breaks document prediction); e-mail addresses are removed everywhere, URLs included.
 * Deliberately simple and fast: a message without '@' or digits costs two character scans.
 */

export type PiiKind = 'email' | 'card' | 'phone' | 'account';
export type RedactionCounts = Record<PiiKind, number>;

export const emptyRedactionCounts = (): RedactionCounts => ({ email: 0, card: 0, phone: 0, account: 0 });

const EMAIL = /[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b/g;
const URL_TOKEN = /\b(?:https?:\/\/|www\.)\S+/gi;
const HAS_URL = /\b(?:https?:\/\/|www\.)/i;
const CARD = /(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w])/g;
const PHONE =
  /(?<![\w.+/=@-])(?:\+\d{7,15}|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,6}(?:[ .-]\d{2,6}){0,4})(?![\w/=-]|\.\d)/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g;
const LONG_DIGITS = /(?<![\w.@])[A-Za-z]{0,4}-?\d{8,}(?![\w])/g;
const TRUNK_PHONE = /^0\d{9,10}$/;
const DATE_LIKE = /^(?:\d{4}[-.]\d{1,2}[-.]\d{1,2}|\d{1,2}[-.]\d{1,2}[-.]\d{4})$/;

function countDigits(value: string): number {
  let digits = 0;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code >= 48 && code <= 57) digits++;
  }
  return digits;
}

function redactDigits(segment: string, counts: RedactionCounts): string {
  // Most texts with digits hold a few (an order number, a time): a rule whose match needs more
  // digits than the whole text has is skipped, not scanned for (cards 13+, phones 7+, runs 8+).
  const digitsInText = countDigits(segment);
  let text = segment;
  if (digitsInText >= 13) {
    text = text.replace(CARD, (match) => {
      const digits = match.replace(/[ -]/g, '');
      if (!luhnValid(digits)) return match;
      counts.card++;
      return '[card]';
    });
  }
  if (digitsInText >= 7) {
    text = text.replace(PHONE, (match) => {
      const digits = countDigits(match);
      const punctuated = /[ .()+-]/.test(match);
      // A bare digit run is an account-like number (next rule) unless it starts with '+'.
      if (!punctuated || digits < 7 || digits > 15 || DATE_LIKE.test(match)) return match;
      counts.phone++;
      return '[phone]';
    });
  }
  text = text.replace(IBAN, () => {
    counts.account++;
    return '[account]';
  });
  if (digitsInText < 8) return text;
  return text.replace(LONG_DIGITS, (match) => {
    // A bare 10–11 digit number with a national trunk prefix (01223 575314 written together).
    if (TRUNK_PHONE.test(match)) {
      counts.phone++;
      return '[phone]';
    }
    counts.account++;
    return '[account]';
  });
}

/** Redacts one text; `counts` (when given) is incremented per finding. */
export function redactText(text: string, counts: RedactionCounts = emptyRedactionCounts()): string {
  let result = text;
  if (result.includes('@')) {
    result = result.replace(EMAIL, () => {
      counts.email++;
      return '[email]';
    });
  }
  if (!/\d{2}/.test(result)) return result;
  if (!HAS_URL.test(result)) return redactDigits(result, counts);
  // Leave URLs as they are; redact the text around them.
  let output = '';
  let last = 0;
  for (const match of result.matchAll(URL_TOKEN)) {
    output += redactDigits(result.slice(last, match.index), counts) + match[0];
    last = match.index + match[0].length;
  }
  return output + redactDigits(result.slice(last), counts);
}

/**
 * Identifiers (customer ids, external ids) cannot take a placeholder without merging every
 * customer into one; one that is an e-mail address, phone or card number becomes a stable
 * per-listing pseudonym instead. Plain numeric ids (CRM numbers) are ids, not PII, and stay.
 */
export function pseudonymize(value: string, listingId: string): string {
  const key = `${listingId}\u0000${value}`;
  const known = pseudonyms.get(key);
  if (known !== undefined) return known;
  const counts = emptyRedactionCounts();
  redactText(value, counts);
  const pseudonym =
    counts.email + counts.phone + counts.card === 0
      ? value
      : `pii:${createHash('sha256').update(`${listingId}\u0000${value.trim().toLowerCase()}`).digest('hex').slice(0, 24)}`;
  pseudonyms.set(key, pseudonym);
  return pseudonym;
}
/** The live source pseudonymizes a CSR id per message and event: the same few ids over and over. */
const pseudonyms = createBoundedCache<string, string>(20_000);

/** Redacts every string inside a JSON value (message meta, event data). */
export function redactJson(value: unknown, counts: RedactionCounts): unknown {
  if (typeof value === 'string') return redactText(value, counts);
  if (Array.isArray(value)) return value.map((item) => redactJson(item, counts));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactJson(item, counts)]));
  }
  return value;
}
