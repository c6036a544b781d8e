import { NEGATORS } from '../features/index.ts';

/**
 * Word lists the hand-off signals match, over `tokenize()` tokens (lower case, apostrophes
 * normalised, clause punctuation as separate tokens). Small and explicit on purpose: every
 * decision names the phrase that caused it.
 */

/** Who a customer may ask for. "someone"/"somebody" count only after a request verb. */
export const HUMAN_NOUNS: ReadonlySet<string> = new Set([
  'human', 'humans', 'person', 'agent', 'agents', 'representative', 'rep', 'operator', 'supervisor', 'manager',
  'someone', 'somebody', 'staff', 'employee', 'advisor', 'adviser', 'associate',
]);
/** Nouns too vague to be a request on their own ("someone"). */
export const VAGUE_NOUNS: ReadonlySet<string> = new Set(['someone', 'somebody']);

/** Verbs that turn a following human noun into a request ("talk to an agent", "get me a human"). */
export const REQUEST_VERBS: ReadonlySet<string> = new Set([
  'want', 'need', 'speak', 'talk', 'chat', 'connect', 'transfer', 'get', 'give', 'put', 'let', 'reach', 'escalate',
  'like', 'request', 'prefer', 'see', 'call', 'contact', 'message', 'bring', 'find',
  'ask', 'asked', 'asking', 'wanted', 'needed', 'requested', 'speaking', 'talking', 'connected', 'transferred', 'escalated',
]);

/** Tokens that, standing alone, ask for a person ("escalate", "live chat" is matched as a phrase). */
export const REQUEST_PHRASES: ReadonlyArray<readonly string[]> = [
  ['live', 'chat'],
  ['live', 'agent'],
  ['live', 'person'],
  ['real', 'person'],
  ['real', 'human'],
  ['escalate'],
];

/**
 * Negations of wanting a person ("I don't want a human", "no need for an agent"). Inability
 * ("I can't reach an agent") and inverted questions ("why don't you get me an agent") still ask
 * for one, so can't / cannot / couldn't / won't are not among them, and a negator followed by
 * "you" is skipped.
 */
export const DESIRE_NEGATORS: ReadonlySet<string> = new Set(
  [...NEGATORS].filter((word) => !['cannot', "can't", 'cant', "couldn't", 'couldnt', "won't", 'wont', 'hardly', 'barely'].includes(word)),
);

/** Short answers that accept an offer the bot just made. */
export const AFFIRMATIVES: ReadonlySet<string> = new Set(['yes', 'yeah', 'yep', 'yup', 'sure', 'ok', 'okay', 'please', 'y', 'absolutely', 'definitely', 'correct']);
export const NEGATIVES: ReadonlySet<string> = new Set(['no', 'nope', 'nah', 'n']);

/**
 * What bots say when they failed (lower case; matched as substrings of the normalised text, so
 * "I'm sorry, I didn't understand that" and "didn't understand" both hit).
 */
export const BOT_FALLBACK_PHRASES: readonly string[] = [
  "didn't understand", 'did not understand', "don't understand", 'do not understand', "didn't get that", "didn't catch that",
  'not sure what you mean', 'not sure i understand', "don't know what you mean", 'could you rephrase', 'can you rephrase',
  'please rephrase', 'rephrase your', 'say that another way', 'say it another way', "can't help with that", 'cannot help with that',
  'unable to help', 'not able to help', "don't have an answer", 'do not have an answer', "couldn't find an answer", 'could not find an answer',
  "i'm still learning", 'i am still learning', 'try asking', 'i did not get that', 'could you try again', 'please try again',
];

/** Words left out when comparing two customer turns for rephrasing. */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'the', 'i', 'me', 'my', 'we', 'you', 'your', 'it', 'is', 'are', 'was', 'be', 'to', 'of', 'and', 'or', 'in', 'on', 'for',
  'with', 'at', 'this', 'that', 'do', 'does', 'did', 'can', 'could', 'would', 'will', 'please', 'just', 'so', 'am', 'have', 'has',
  'what', 'how', 'why', 'when', 'where', 'which', 'there', 'here', 'again', 'said', 'im', "i'm", 'hi', 'hello', 'ok', 'okay',
]);

/** Intents worth a person by default (names of `INTENT_LEXICON` in src/features). */
export const DEFAULT_HIGH_VALUE_INTENTS: readonly string[] = ['cancel', 'refund', 'complaint', 'billing'];
