import { scoreTone, tokenize } from '../../features/index.ts';
import type { SenderRole } from '../../messages/index.ts';
import { stem } from './stemmer.ts';
import { createBoundedCache } from '../../platform/index.ts';

/** One message as rules see it. `seq` defaults to the 1-based position. */
export interface ConversationMessage {
  role: SenderRole;
  text: string;
  channel?: string | null | undefined;
  tsMs?: number | null | undefined;
  seq?: number | undefined;
}

export const roleBits: Readonly<Record<SenderRole, number>> = { customer: 1, csr: 2, bot: 4, system: 8 };
export const roleMask = (roles: readonly SenderRole[]): number => roles.reduce((mask, role) => mask | roleBits[role], 0);

/** A message's words: lower-cased, their Porter stems, and the clause each lies in (phrases do not cross clause punctuation). */
export interface MessageWords {
  readonly tokens: string[];
  readonly words: string[];
  readonly stems: string[];
  readonly clauses: number[];
  /** scoreTone(tokens).tone, once someone asked. */
  tone?: number;
}

const PUNCTUATION = /^[.,!?;:]$/;

export function messageWords(text: string): MessageWords {
  const tokens = tokenize(text);
  const words: string[] = [];
  const stems: string[] = [];
  const clauses: number[] = [];
  let clause = 0;
  for (const token of tokens) {
    if (PUNCTUATION.test(token)) {
      clause++;
      continue;
    }
    words.push(token);
    stems.push(stem(token));
    clauses.push(clause);
  }
  return { tokens, words, stems, clauses };
}

/**
 * Analysed message texts, kept across requests: the suggest API sends a ticket's whole conversation
 * on every request, so without this each earlier message would be tokenised and stemmed again
 * each time (a rule reading the whole conversation makes that the bulk of the work). Bounded;
 * least recently used out. Entries are shared, so nothing may mutate them (except filling `tone`).
 */
export interface WordsCache {
  get(text: string): MessageWords;
}

export function createWordsCache(maxEntries = 20_000, maxTextLength = 2_000): WordsCache {
  const entries = createBoundedCache<string, MessageWords>(maxEntries);
  return {
    get(text) {
      if (text.length > maxTextLength) return messageWords(text);
      let words = entries.get(text);
      if (!words) {
        words = messageWords(text);
        entries.set(text, words);
      }
      return words;
    },
  };
}

/**
 * A conversation being evaluated. Everything derived from a message (words, stems, tone) is
 * computed on first use and kept, so a message is stemmed at most once per request however many
 * rules read it, and replay evaluates every prefix of a conversation without redoing any of it.
 */
export interface Conversation {
  readonly length: number;
  message(index: number): ConversationMessage;
  roleBit(index: number): number;
  seq(index: number): number;
  words(index: number): MessageWords;
  tone(index: number): number;
  /** The latest message at or before `upTo` whose role is in `mask`; -1 when there is none. */
  lastIndex(mask: number, upTo: number): number;
  /** Customer turns (runs of consecutive customer messages) among messages 0…upTo. */
  turns(upTo: number): number;
}

export function createConversation(messages: readonly ConversationMessage[], cache?: WordsCache): Conversation {
  const words: Array<MessageWords | undefined> = new Array(messages.length);
  let turnCounts: Int32Array | undefined;
  const bits = messages.map((message) => roleBits[message.role]);
  return {
    length: messages.length,
    message: (index) => messages[index]!,
    roleBit: (index) => bits[index]!,
    seq: (index) => messages[index]!.seq ?? index + 1,
    words(index) {
      let analysed = words[index];
      if (!analysed) {
        analysed = cache ? cache.get(messages[index]!.text) : messageWords(messages[index]!.text);
        words[index] = analysed;
      }
      return analysed;
    },
    tone(index) {
      const analysed = this.words(index);
      analysed.tone ??= scoreTone(analysed.tokens).tone;
      return analysed.tone;
    },
    lastIndex(mask, upTo) {
      for (let index = Math.min(upTo, messages.length - 1); index >= 0; index--) if ((bits[index]! & mask) !== 0) return index;
      return -1;
    },
    turns(upTo) {
      if (!turnCounts) {
        turnCounts = new Int32Array(messages.length);
        let count = 0;
        for (let index = 0; index < messages.length; index++) {
          if (bits[index] === roleBits.customer && (index === 0 || bits[index - 1] !== roleBits.customer)) count++;
          turnCounts[index] = count;
        }
      }
      return upTo < 0 ? 0 : turnCounts[Math.min(upTo, messages.length - 1)]!;
    },
  };
}
