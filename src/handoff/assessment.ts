import { capsWords, intentBits, intents, scoreTone, tokenize, type Intent } from '../features/index.ts';
import {
  AFFIRMATIVES,
  BOT_FALLBACK_PHRASES,
  DEFAULT_HIGH_VALUE_INTENTS,
  DESIRE_NEGATORS,
  HUMAN_NOUNS,
  NEGATIVES,
  REQUEST_PHRASES,
  REQUEST_VERBS,
  STOP_WORDS,
  VAGUE_NOUNS,
} from './lexicon.ts';

/**
 * Should a bot hand this conversation to a person now? A pure function of the messages, the
 * listing's settings and what other components already know (rule hits, model risk), cheap
 * enough to run on every bot turn (bench/handoff.bench.ts).
 *
 * Each signal has a strength in [0, 1] (a count saturates) and a weight; the confidence is the
 * logistic of BIAS + Σ weight × strength. The weights are hand-set priors, chosen so that the
 * numbers read like probabilities: no signal → 0.05, an explicit request alone → 0.88, one bot
 * fallback → 0.12, three fallbacks or two plus a rephrasing → ≥ 0.5. They are not fitted; once
 * hand-offs and their outcomes are logged, refitting them is a logistic regression over the same
 * strengths. A listing can override weights and its threshold (PUT /v1/handoff/settings).
 */

export type TranscriptRole = 'customer' | 'bot' | 'system' | 'csr';

export interface TranscriptMessage {
  role: TranscriptRole;
  text: string;
}

export const signalNames = [
  'explicit_request',
  'declined_human',
  'bot_fallback',
  'rephrasing',
  'falling_tone',
  'negative_tone',
  'high_value_intent',
  'rule_match',
  'outcome_risk',
  'long_conversation',
] as const;
export type SignalName = (typeof signalNames)[number];

export const DEFAULT_WEIGHTS: Readonly<Record<SignalName, number>> = Object.freeze({
  explicit_request: 5,
  declined_human: -2,
  bot_fallback: 3,
  rephrasing: 2.5,
  falling_tone: 1.5,
  negative_tone: 1.5,
  high_value_intent: 1.5,
  rule_match: 4,
  outcome_risk: 2,
  long_conversation: 0.75,
});
/** The logit with no signal: confidence 0.047. */
export const BIAS = -3;
export const DEFAULT_THRESHOLD = 0.5;

export interface HandoffSettings {
  threshold: number;
  highValueIntents: readonly string[];
  /** Lower-case words or phrases that mark a valuable conversation for this listing ("mortgage"). */
  highValueKeywords: readonly string[];
  weights: Partial<Record<SignalName, number>>;
}

export const defaultHandoffSettings = (): HandoffSettings => ({
  threshold: DEFAULT_THRESHOLD,
  highValueIntents: [...DEFAULT_HIGH_VALUE_INTENTS],
  highValueKeywords: [],
  weights: {},
});

/**
 * A fired keyword rule, as src/suggest/rules reports it (`FiredRule`): a rule with a `handoff`
 * action, or tagged `handoff`, asks for a person.
 */
export interface RuleHit {
  ruleId: string | null;
  name: string;
  actions: ReadonlyArray<{ type: string; priority?: string; skills?: readonly string[]; tags?: readonly string[]; reason?: string }>;
}

export interface AssessmentExtras {
  ruleHits?: readonly RuleHit[] | undefined;
  /** Predicted risk (0–1) of a bad outcome, from the outcome models; undefined: no prediction. */
  risk?: number | undefined;
}

export interface Signal {
  name: SignalName;
  /** Strength in [0, 1]. */
  value: number;
  weight: number;
  /** weight × value: what the signal adds to the logit. */
  contribution: number;
  /** Why, in words a CSR or a bot developer can read. */
  reason: string;
}

export const priorityLevels = { normal: 0, high: 10, urgent: 20 } as const;
export type PriorityLabel = keyof typeof priorityLevels;

export interface Assessment {
  handoff: boolean;
  /** logistic(logit), in (0, 1). */
  confidence: number;
  threshold: number;
  logit: number;
  /** Signals that fired, largest contribution first. */
  signals: Signal[];
  /** The customer's predicted intent (INTENT_LEXICON name or a listing keyword), null when none. */
  intent: string | null;
  priority: number;
  priorityLabel: PriorityLabel;
  /** Skills the matching rules require of the CSR. */
  skills: string[];
  customerTurns: number;
}

/** Only the recent past decides; the opening customer messages still name the intent. */
const WINDOW = 40;
const OPENING_CUSTOMER_MESSAGES = 3;
/** Customer messages the recent-past signals read (requests, rephrasing, tone, intent). */
const RECENT_CUSTOMER_MESSAGES = 6;
const REPHRASE_JACCARD = 0.5;
const LONG_CONVERSATION_TURNS = 6;

const logistic = (x: number) => 1 / (1 + Math.exp(-x));
const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);
const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;
const CLAUSE_END = new Set(['.', ',', '!', '?', ';', ':']);
const POSSESSIVES = new Set(['my', 'our', 'his', 'her', 'their', 'your']);
const QUALIFIERS = new Set(['a', 'an', 'the', 'real', 'live', 'actual', 'human', 'some', 'any', 'to', 'with', 'me', 'us']);
const PHRASE_STARTS = new Set(REQUEST_PHRASES.map((words) => words[0]!));
/** "I am a manager", "this is the agent": a description, not a request. */
const COPULAS = new Set(['am', "i'm", 'im', 'is', 'was', 'are', 'were', "it's", 'its']);

interface Analyzed {
  role: TranscriptRole;
  text: string;
  tokens: string[];
  /** Tokens without punctuation. */
  words: string[];
}

function analyze(message: TranscriptMessage): Analyzed {
  const tokens = tokenize(message.text);
  return { role: message.role, text: message.text, tokens, words: tokens.filter((token) => !CLAUSE_END.has(token)) };
}

export type HumanRequest = { kind: 'request'; phrase: string } | { kind: 'declined'; phrase: string } | undefined;

/**
 * Does this customer message ask for a person? Scans each clause for a human noun preceded by a
 * request verb (or a request phrase, or a very short message that is mostly the noun), then
 * looks for a negation of wanting it earlier in the clause.
 */
export function findHumanRequest(tokens: readonly string[]): HumanRequest {
  // Most messages name no person at all: one pass decides that without building clauses.
  let wordCount = 0;
  let candidate = false;
  for (const token of tokens) {
    if (!CLAUSE_END.has(token)) wordCount++;
    if (HUMAN_NOUNS.has(token) || PHRASE_STARTS.has(token)) candidate = true;
  }
  if (!candidate) return undefined;
  let clauseStart = 0;
  let declined: HumanRequest;
  for (let i = 0; i <= tokens.length; i++) {
    if (i < tokens.length && !CLAUSE_END.has(tokens[i]!)) continue;
    const clause = tokens.slice(clauseStart, i);
    clauseStart = i + 1;
    const found = requestInClause(clause, wordCount);
    if (found?.kind === 'request') return found;
    declined ??= found;
  }
  return declined;
}

function requestInClause(clause: readonly string[], messageWords: number): HumanRequest {
  for (let i = 0; i < clause.length; i++) {
    let phrase: string | undefined;
    const token = clause[i]!;
    if (PHRASE_STARTS.has(token)) {
      const phraseMatch = REQUEST_PHRASES.find((words) => words.every((word, k) => clause[i + k] === word));
      if (phraseMatch) phrase = phraseMatch.join(' ');
    }
    if (!phrase && HUMAN_NOUNS.has(token)) {
      // "my manager", "your agent": someone's person, not a request for one.
      let before = i - 1;
      while (before >= 0 && (clause[before] === 'real' || clause[before] === 'live' || clause[before] === 'actual')) before--;
      if (before >= 0 && POSSESSIVES.has(clause[before]!)) continue;
      let verb = -1;
      for (let k = i - 1; k >= Math.max(0, i - 5); k--) {
        if (REQUEST_VERBS.has(clause[k]!)) {
          verb = k;
          break;
        }
      }
      const isThere = i >= 2 && clause[i - 2] === 'there' && QUALIFIERS.has(clause[i - 1]!) && (clause[i - 3] === 'is' || clause[i - 3] === 'anyone');
      const described = clause.slice(Math.max(0, i - 3), i).some((word) => COPULAS.has(word));
      const short = messageWords <= 4 && !VAGUE_NOUNS.has(token) && !described;
      if (verb >= 0 || isThere || short) phrase = verb >= 0 ? clause.slice(verb, i + 1).join(' ') : clause.slice(Math.max(0, i - 2), i + 1).join(' ');
    }
    if (!phrase) continue;
    // "are you a human?" asks about the bot, not for a person.
    if (clause[0] === 'are' && clause[1] === 'you') continue;
    return negatedBefore(clause, i) ? { kind: 'declined', phrase } : { kind: 'request', phrase };
  }
  return undefined;
}

function negatedBefore(clause: readonly string[], end: number): boolean {
  for (let k = 0; k < end; k++) {
    const token = clause[k]!;
    if (token === 'no') {
      // "no, …" is a clause of its own; "no human", "no need for an agent" negate.
      if (clause[k + 1] === 'need' || end - k <= 2) return true;
      continue;
    }
    if (DESIRE_NEGATORS.has(token) && clause[k + 1] !== 'you') return true;
  }
  return false;
}

/** Did the bot offer a person ("Would you like to talk to an agent?") in this message? */
function offersHuman(message: Analyzed): boolean {
  return message.tokens.includes('?') && message.words.some((word) => HUMAN_NOUNS.has(word) || word === 'escalate');
}

function contentWords(words: readonly string[]): Set<string> {
  const set = new Set<string>();
  for (const word of words) if (word.length > 1 && !STOP_WORDS.has(word)) set.add(word);
  return set;
}

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const word of a) if (b.has(word)) shared++;
  return shared / (a.size + b.size - shared);
}

const normalise = (text: string) => text.toLowerCase().replace(/[\u2018\u2019\u02bc]/g, "'");

/** One alternation over every fallback phrase: a single regex pass per bot message. */
const FALLBACK = new RegExp(BOT_FALLBACK_PHRASES.map((phrase) => phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));

function findFallback(text: string): string | undefined {
  return FALLBACK.exec(normalise(text))?.[0];
}

function containsPhrase(words: readonly string[], phrase: readonly string[]): boolean {
  for (let i = 0; i + phrase.length <= words.length; i++) {
    let matches = true;
    for (let k = 0; k < phrase.length && matches; k++) matches = words[i + k] === phrase[k];
    if (matches) return true;
  }
  return false;
}

const truncate = (text: string, max = 60) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Builds the signals; `assessHandoff` weighs them. Exported for tests. */
export function collectSignals(messages: readonly TranscriptMessage[], settings: HandoffSettings, extras: AssessmentExtras = {}) {
  // Bounded work per call, whatever the conversation's length: the bot asks on every turn.
  const windowStart = Math.max(0, messages.length - WINDOW);
  const customerIndexes: number[] = [];
  for (let index = 0; index < messages.length; index++) if (messages[index]!.role === 'customer') customerIndexes.push(index);
  const analyzed = new Map<number, Analyzed>();
  const at = (index: number): Analyzed => {
    let value = analyzed.get(index);
    if (!value) {
      value = analyze(messages[index]!);
      analyzed.set(index, value);
    }
    return value;
  };
  const contentCache = new Map<number, Set<string>>();
  const contentAt = (index: number): Set<string> => {
    let value = contentCache.get(index);
    if (!value) {
      value = contentWords(at(index).words);
      contentCache.set(index, value);
    }
    return value;
  };

  const found: Array<{ name: SignalName; value: number; reason: string }> = [];
  const recentCustomer = customerIndexes.filter((index) => index >= windowStart).slice(-RECENT_CUSTOMER_MESSAGES);
  const lastCustomer = recentCustomer.at(-1);

  // Explicit request: the latest customer turn (consecutive customer messages) asks for a
  // person, or says yes to the bot's offer of one. An earlier request the bot talked past
  // counts half.
  let request: { value: number; reason: string } | undefined;
  let declined: string | undefined;
  if (lastCustomer !== undefined) {
    let turnStart = lastCustomer;
    while (turnStart - 1 >= windowStart && messages[turnStart - 1]!.role === 'customer') turnStart--;
    for (let index = turnStart; index <= lastCustomer && !request; index++) {
      const result = findHumanRequest(at(index).tokens);
      if (result?.kind === 'request') request = { value: 1, reason: `The customer asked for a person: "${result.phrase}"` };
      else if (result?.kind === 'declined') declined = result.phrase;
    }
    const previous = turnStart - 1 >= windowStart ? at(turnStart - 1) : undefined;
    if (!request && previous && previous.role !== 'customer' && offersHuman(previous)) {
      const first = at(turnStart).words[0];
      if (first !== undefined && AFFIRMATIVES.has(first)) request = { value: 1, reason: `The customer said "${first}" to the offer of a person` };
      else if (first !== undefined && NEGATIVES.has(first)) declined ??= `${first} (to the offer of a person)`;
    }
    if (!request && !declined) {
      for (const index of recentCustomer) {
        if (index >= turnStart) break;
        const result = findHumanRequest(at(index).tokens);
        if (result?.kind === 'request') {
          request = { value: 0.5, reason: `The customer asked for a person earlier: "${result.phrase}"` };
          break;
        }
      }
    }
  }
  if (request) found.push({ name: 'explicit_request', ...request });
  else if (declined) found.push({ name: 'declined_human', value: 1, reason: `The customer does not want a person: "${declined}"` });

  // Repeated failure: the bot's own fallback answers among its last six messages …
  const botRecent: number[] = [];
  for (let index = messages.length - 1; index >= windowStart && botRecent.length < 6; index--) if (messages[index]!.role === 'bot') botRecent.push(index);
  const fallbacks = botRecent.map((index) => findFallback(messages[index]!.text)).filter((phrase): phrase is string => phrase !== undefined);
  if (fallbacks.length > 0) {
    found.push({
      name: 'bot_fallback',
      value: clamp01(fallbacks.length / 3),
      reason: `The bot failed ${fallbacks.length} time${fallbacks.length === 1 ? '' : 's'} in its last ${botRecent.length} messages ("${fallbacks[0]}")`,
    });
  }
  // … and the customer saying the same thing again.
  const lastSix = recentCustomer;
  let rephrasings = 0;
  let example: string | undefined;
  for (let k = 1; k < lastSix.length; k++) {
    const a = contentAt(lastSix[k - 1]!);
    const b = contentAt(lastSix[k]!);
    if (a.size >= 2 && b.size >= 2 && jaccard(a, b) >= REPHRASE_JACCARD) {
      rephrasings++;
      example ??= messages[lastSix[k]!]!.text;
    }
  }
  if (rephrasings > 0) {
    found.push({
      name: 'rephrasing',
      value: clamp01(rephrasings / 2),
      reason: `The customer repeated themselves ${rephrasings} time${rephrasings === 1 ? '' : 's'} ("${truncate(example!)}")`,
    });
  }

  // Tone: the latest customer message against the mean of the ones before it (up to four).
  const toned = lastSix.filter((index) => at(index).words.length > 0);
  if (toned.length > 0) {
    const last = at(toned.at(-1)!);
    const lastTone = scoreTone(last.tokens).tone;
    const before = toned.slice(-5, -1).map((index) => scoreTone(at(index).tokens).tone);
    if (before.length > 0) {
      const mean = before.reduce((sum, tone) => sum + tone, 0) / before.length;
      const drop = mean - lastTone;
      if (drop >= 0.1 && lastTone < 0) {
        found.push({ name: 'falling_tone', value: clamp01(drop / 0.4), reason: `The customer's tone fell from ${mean.toFixed(2)} to ${lastTone.toFixed(2)}` });
      }
    }
    const shouting = capsWords(last.text) >= 2 || last.text.includes('!!');
    if (lastTone <= -0.15 || shouting) {
      const value = Math.max(clamp01(-lastTone / 0.4), shouting ? 0.5 : 0);
      found.push({
        name: 'negative_tone',
        value,
        reason: shouting && lastTone > -0.15 ? 'The customer is shouting (capitals or "!!")' : `The customer's latest message is negative (tone ${lastTone.toFixed(2)})`,
      });
    }
  }

  // Intent: lexicon intents and listing keywords over the opening and the recent customer
  // messages; the most frequent is the prediction (ties: the latest).
  const intentCounts = new Map<string, { count: number; last: number }>();
  const scanned = new Set([...customerIndexes.slice(0, OPENING_CUSTOMER_MESSAGES), ...recentCustomer]);
  const keywords = settings.highValueKeywords.map((keyword) => tokenize(keyword).filter((token) => !CLAUSE_END.has(token))).filter((words) => words.length > 0);
  for (const index of [...scanned].sort((a, b) => a - b)) {
    const { words } = at(index);
    const bits = intentBits(words);
    for (let bit = 0; bit < intents.length; bit++) {
      if ((bits & (1 << bit)) === 0) continue;
      const intent: Intent = intents[bit]!;
      if (intent === 'thanks' || intent === 'human_request') continue;
      const entry = intentCounts.get(intent) ?? { count: 0, last: 0 };
      intentCounts.set(intent, { count: entry.count + 1, last: index });
    }
    for (const keyword of keywords) {
      if (!containsPhrase(words, keyword)) continue;
      const name = keyword.join(' ');
      const entry = intentCounts.get(name) ?? { count: 0, last: 0 };
      intentCounts.set(name, { count: entry.count + 1, last: index });
    }
  }
  let intent: string | null = null;
  let best = { count: 0, last: -1 };
  for (const [name, entry] of intentCounts) {
    if (entry.count > best.count || (entry.count === best.count && entry.last > best.last)) {
      intent = name;
      best = entry;
    }
  }
  const highValue = new Set([...settings.highValueIntents, ...keywords.map((words) => words.join(' '))]);
  const valuable = [...intentCounts.keys()].filter((name) => highValue.has(name));
  if (valuable.length > 0) {
    found.push({ name: 'high_value_intent', value: 1, reason: `High-value topic: ${valuable.join(', ')}` });
  }

  // Rules the listing's developers wrote for hand-off.
  const ruleSkills = new Set<string>();
  let rulePriority: PriorityLabel = 'normal';
  const handoffRules: string[] = [];
  for (const hit of extras.ruleHits ?? []) {
    let asks = false;
    for (const action of hit.actions) {
      if (action.type === 'handoff') {
        asks = true;
        for (const skill of action.skills ?? []) ruleSkills.add(skill);
        if (action.priority === 'urgent' || (action.priority === 'high' && rulePriority === 'normal')) rulePriority = action.priority;
      } else if (action.type === 'tag' && action.tags?.includes('handoff')) asks = true;
    }
    if (asks) handoffRules.push(hit.name);
  }
  if (handoffRules.length > 0) found.push({ name: 'rule_match', value: 1, reason: `Hand-off rule matched: ${handoffRules.join(', ')}` });

  if (extras.risk !== undefined && Number.isFinite(extras.risk) && extras.risk >= 0.5) {
    found.push({ name: 'outcome_risk', value: clamp01((extras.risk - 0.5) / 0.5), reason: `The outcome model predicts a bad outcome (risk ${extras.risk.toFixed(2)})` });
  }

  const turns = countTurns(messages);
  if (turns >= LONG_CONVERSATION_TURNS) {
    found.push({ name: 'long_conversation', value: clamp01((turns - LONG_CONVERSATION_TURNS + 1) / 5), reason: `${turns} customer turns without a resolution` });
  }

  return { found, intent, skills: [...ruleSkills], rulePriority, turns };
}

/** Customer turns: runs of consecutive customer messages. */
export function countTurns(messages: readonly TranscriptMessage[]): number {
  let turns = 0;
  for (let i = 0; i < messages.length; i++) if (messages[i]!.role === 'customer' && messages[i - 1]?.role !== 'customer') turns++;
  return turns;
}

export function assessHandoff(messages: readonly TranscriptMessage[], settings: HandoffSettings = defaultHandoffSettings(), extras: AssessmentExtras = {}): Assessment {
  const { found, intent, skills, rulePriority, turns } = collectSignals(messages, settings, extras);
  let logit = BIAS;
  const signals: Signal[] = found.map(({ name, value, reason }) => {
    const weight = settings.weights[name] ?? DEFAULT_WEIGHTS[name];
    const contribution = weight * value;
    logit += contribution;
    return { name, value: round(value), weight, contribution: round(contribution), reason };
  });
  signals.sort((a, b) => b.contribution - a.contribution);
  const confidence = logistic(logit);

  // Priority: valuable or upset customers go ahead in the queue; both together, or a rule that
  // says so, go first.
  const strength = (name: SignalName) => found.find((signal) => signal.name === name)?.value ?? 0;
  const upset = Math.max(strength('negative_tone'), strength('falling_tone')) >= 0.5;
  const valuable = strength('high_value_intent') > 0;
  const risky = extras.risk !== undefined && extras.risk >= 0.7;
  let label: PriorityLabel = valuable && upset ? 'urgent' : valuable || upset || risky ? 'high' : 'normal';
  if (priorityLevels[rulePriority] > priorityLevels[label]) label = rulePriority;

  return {
    handoff: confidence >= settings.threshold,
    confidence: round(confidence),
    threshold: settings.threshold,
    logit: round(logit),
    signals,
    intent,
    priority: priorityLevels[label],
    priorityLabel: label,
    skills,
    customerTurns: turns,
  };
}
