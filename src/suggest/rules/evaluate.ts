import type { CompiledAction, CompiledCondition, CompiledRule, CompiledRuleSet } from './compile.ts';
import type { autoActions } from './rules.schemas.ts';
import type { Conversation } from './conversation.ts';
import { MAX_REGEX_INPUT } from './regex-safety.ts';
import { renderTemplate, type TemplateValues, type TemplateVariable } from './templates.ts';

/** What conditions need besides the messages; the caller (suggest API, test, replay) supplies it. */
export interface EvaluationContext {
  /** When business hours are judged; absent: the trigger message's time, else the current time. */
  now?: Date | undefined;
  /** Whether the listing is open at an instant; absent: always open (like a listing with no schedule). */
  isOpen?: ((at: Date) => boolean) | undefined;
  /** The predicted risk (0–1) of a bad outcome for a model target; undefined: no prediction. */
  risk?: ((target: string) => number | undefined) | undefined;
  /** The ticket's source channel. */
  ticketSource?: string | undefined;
  values?: TemplateValues | undefined;
}

/** One occurrence of a rule's term: condition and term indexes, message index, word position. */
export interface Hit {
  condition: number;
  term: number;
  message: number;
  position: number;
}

export interface RuleMatch {
  condition: number;
  type: 'keywords' | 'regex';
  /** The term as the rule wrote it, or the text the pattern matched. */
  term: string;
  seq: number;
  /** Word position (keywords) or character offset (regex) in the message. */
  position: number;
}

export type RenderedAction =
  | { type: 'reply_set'; replies: Array<{ text: string; missingVariables: TemplateVariable[] }> }
  | { type: 'canned'; cannedResponseIds: string[] }
  | { type: 'auto_action'; action: (typeof autoActions)[number]; text?: string; missingVariables?: TemplateVariable[]; params: Record<string, string | number | boolean>; reason?: string }
  | { type: 'handoff'; priority: 'normal' | 'high' | 'urgent'; skills: string[]; reason?: string }
  | { type: 'tag'; tags: string[] };

export interface FiredRule {
  ruleId: string | null;
  version: number | null;
  name: string;
  priority: number;
  stopProcessing: boolean;
  matches: RuleMatch[];
  actions: RenderedAction[];
}

export interface ConditionResult {
  index: number;
  type: CompiledCondition['type'];
  passed: boolean;
  detail: string;
}

export interface RuleExplanation {
  ruleId: string | null;
  name: string;
  fired: boolean;
  /** Not evaluated because a higher-priority rule that fired stops processing. */
  skipped: boolean;
  conditions: ConditionResult[];
}

export interface Evaluation {
  fired: FiredRule[];
  /** Rules whose conditions were evaluated (the rest had no keyword hit, or came after a stop). */
  evaluated: number;
  /** The fired rule that stopped processing, if one did. */
  stoppedBy: FiredRule | null;
  explanations?: RuleExplanation[];
}

export interface EvaluateOptions {
  /** The latest message's index (default: the last message). */
  trigger?: number;
  /** compiled (default): one matcher pass, then only rules with hits; naive: every rule scans its own terms (the baseline). */
  strategy?: 'compiled' | 'naive';
  /** Evaluate every rule and every condition, and say why each held or not (the test endpoint). */
  explain?: boolean;
  /** Precomputed hits over every message (replay evaluates each prefix with one pass per conversation). */
  hits?: Map<number, Hit[]>;
}

const MAX_MATCHES_PER_RULE = 20;
const ROLE_NAMES = ['customer', 'csr', 'bot', 'system'] as const;
const describeMask = (mask: number) => ROLE_NAMES.filter((_, bit) => (mask & (1 << bit)) !== 0).join('/');

// ---------------------------------------------------------------------------------------------
// Hits

/** The messages some keyword condition reads when `trigger` is the latest message. */
export function messagesToScan(set: CompiledRuleSet, conversation: Conversation, trigger: number): number[] {
  const indexes: number[] = [];
  if (set.conversationMask !== 0) {
    for (let index = 0; index <= trigger; index++) if ((conversation.roleBit(index) & set.conversationMask) !== 0) indexes.push(index);
  }
  for (const mask of set.lastMasks) {
    const index = conversation.lastIndex(mask, trigger);
    if (index >= 0 && !indexes.includes(index)) indexes.push(index);
  }
  return indexes;
}

/**
 * Every rule's hits in the given messages: one matcher pass per message, whatever the number of
 * rules. With `trigger`, only hits their condition can read when that message is the latest are
 * kept (a "last"-scope term in an older message makes no rule a candidate); without it, every
 * hit (replay evaluates each prefix from one collection).
 */
export function collectHits(set: CompiledRuleSet, conversation: Conversation, messages: readonly number[], trigger?: number): Map<number, Hit[]> {
  const byRule = new Map<number, Hit[]>();
  if (set.matcher.patternCount === 0) return byRule;
  const lastOf = new Map<number, number>();
  const latest = (mask: number) => {
    let index = lastOf.get(mask);
    if (index === undefined) {
      index = conversation.lastIndex(mask, trigger!);
      lastOf.set(mask, index);
    }
    return index;
  };
  for (const message of messages) {
    const { stems, clauses } = conversation.words(message);
    const bit = conversation.roleBit(message);
    set.matcher.scan(stems, clauses, (pattern, position) => {
      for (const ref of set.refs[pattern]!) {
        if (trigger !== undefined && ((bit & ref.mask) === 0 || (ref.last && latest(ref.mask) !== message))) continue;
        let hits = byRule.get(ref.rule);
        if (!hits) {
          hits = [];
          byRule.set(ref.rule, hits);
        }
        hits.push({ condition: ref.condition, term: ref.term, message, position });
      }
    });
  }
  return byRule;
}

function scopeMessages(conversation: Conversation, scope: 'last' | 'conversation', mask: number, trigger: number): number[] {
  if (scope === 'last') {
    const index = conversation.lastIndex(mask, trigger);
    return index < 0 ? [] : [index];
  }
  const indexes: number[] = [];
  for (let index = 0; index <= trigger; index++) if ((conversation.roleBit(index) & mask) !== 0) indexes.push(index);
  return indexes;
}

/** One rule's hits found by scanning each of its terms on its own: the per-rule baseline the matcher must agree with. */
export function naiveHits(rule: CompiledRule, conversation: Conversation, trigger: number): Hit[] {
  const hits: Hit[] = [];
  rule.conditions.forEach((condition, conditionIndex) => {
    if (condition.type !== 'keywords') return;
    for (const message of scopeMessages(conversation, condition.scope, condition.mask, trigger)) {
      const { stems, clauses } = conversation.words(message);
      condition.terms.forEach((term, termIndex) => {
        const length = term.stems.length;
        for (let start = 0; start + length <= stems.length; start++) {
          let equal = true;
          for (let k = 0; k < length && equal; k++) equal = stems[start + k] === term.stems[k] && clauses[start + k] === clauses[start];
          if (equal) hits.push({ condition: conditionIndex, term: termIndex, message, position: start });
        }
      });
    }
  });
  return hits;
}

// ---------------------------------------------------------------------------------------------
// Conditions

interface ConditionOutcome {
  passed: boolean;
  matches?: RuleMatch[];
  detail?: string;
}

const byPosition = (a: Hit, b: Hit) => a.message - b.message || a.position - b.position || a.condition - b.condition || a.term - b.term;

function keywordMatches(condition: Extract<CompiledCondition, { type: 'keywords' }>, conditionIndex: number, hits: readonly Hit[], conversation: Conversation): RuleMatch[] {
  return [...hits].sort(byPosition).map((hit) => ({
    condition: conditionIndex,
    type: 'keywords' as const,
    term: condition.terms[hit.term]!.text,
    seq: conversation.seq(hit.message),
    position: hit.position,
  }));
}

/** The hits of one message that put every term within `near` words, or undefined. */
function nearWindow(hits: Hit[], termCount: number, near: number): Hit[] | undefined {
  const sorted = [...hits].sort(byPosition);
  for (let left = 0; left < sorted.length; left++) {
    const seen = new Set<number>();
    for (let right = left; right < sorted.length && sorted[right]!.position - sorted[left]!.position <= near; right++) {
      seen.add(sorted[right]!.term);
      if (seen.size === termCount) return sorted.slice(left, right + 1);
    }
  }
  return undefined;
}

function evaluateKeywords(
  condition: Extract<CompiledCondition, { type: 'keywords' }>,
  conditionIndex: number,
  ruleHits: readonly Hit[],
  conversation: Conversation,
  trigger: number,
  explain: boolean,
): ConditionOutcome {
  let scoped: Hit[];
  let where = '';
  if (condition.scope === 'last') {
    const message = conversation.lastIndex(condition.mask, trigger);
    scoped = message < 0 ? [] : ruleHits.filter((hit) => hit.condition === conditionIndex && hit.message === message);
    if (explain) where = message < 0 ? `no ${describeMask(condition.mask)} message yet` : `the latest ${describeMask(condition.mask)} message (seq ${conversation.seq(message)})`;
  } else {
    scoped = ruleHits.filter((hit) => hit.condition === conditionIndex && hit.message <= trigger && (conversation.roleBit(hit.message) & condition.mask) !== 0);
    if (explain) where = `the ${describeMask(condition.mask)} messages so far`;
  }
  const termList = () => condition.terms.map((term) => `"${term.text}"`).join(', ');
  const found = () => [...new Set(scoped.map((hit) => `"${condition.terms[hit.term]!.text}"`))].join(', ');

  if (condition.mode === 'none') {
    const passed = scoped.length === 0;
    return { passed, ...(explain ? { detail: passed ? `none of ${termList()} in ${where}` : `found ${found()} in ${where}` } : {}) };
  }
  if (condition.mode === 'any') {
    const passed = scoped.length > 0;
    return {
      passed,
      ...(passed ? { matches: keywordMatches(condition, conditionIndex, scoped, conversation) } : {}),
      ...(explain ? { detail: passed ? `found ${found()} in ${where}` : `none of ${termList()} in ${where}` } : {}),
    };
  }
  // all
  const covered = new Set(scoped.map((hit) => hit.term));
  if (covered.size < condition.terms.length) {
    const missing = condition.terms.filter((_, index) => !covered.has(index)).map((term) => `"${term.text}"`);
    return { passed: false, ...(explain ? { detail: `missing ${missing.join(', ')} in ${where}` } : {}) };
  }
  if (condition.near === undefined) {
    return { passed: true, matches: keywordMatches(condition, conditionIndex, scoped, conversation), ...(explain ? { detail: `found all of ${termList()} in ${where}` } : {}) };
  }
  const byMessage = new Map<number, Hit[]>();
  for (const hit of scoped) byMessage.set(hit.message, [...(byMessage.get(hit.message) ?? []), hit]);
  for (const hits of byMessage.values()) {
    const window = nearWindow(hits, condition.terms.length, condition.near);
    if (window) {
      return {
        passed: true,
        matches: keywordMatches(condition, conditionIndex, window, conversation),
        ...(explain ? { detail: `all of ${termList()} within ${condition.near} words in ${where}` } : {}),
      };
    }
  }
  return { passed: false, ...(explain ? { detail: `all of ${termList()} occur in ${where}, but not within ${condition.near} words of each other in one message` } : {}) };
}

function evaluateRegex(condition: Extract<CompiledCondition, { type: 'regex' }>, conditionIndex: number, conversation: Conversation, trigger: number, explain: boolean): ConditionOutcome {
  const messages = scopeMessages(conversation, condition.scope, condition.mask, trigger);
  for (const message of messages) {
    const text = conversation.message(message).text;
    const match = condition.regex.exec(text.length > MAX_REGEX_INPUT ? text.slice(0, MAX_REGEX_INPUT) : text);
    if (!match) continue;
    const seq = conversation.seq(message);
    if (condition.negate) return { passed: false, ...(explain ? { detail: `/${condition.pattern}/ matched "${match[0].slice(0, 100)}" in message seq ${seq}` } : {}) };
    return {
      passed: true,
      matches: [{ condition: conditionIndex, type: 'regex', term: match[0].slice(0, 100), seq, position: match.index }],
      ...(explain ? { detail: `/${condition.pattern}/ matched "${match[0].slice(0, 100)}" in message seq ${seq}` } : {}),
    };
  }
  const where = condition.scope === 'last' ? `the latest ${describeMask(condition.mask)} message` : `the ${describeMask(condition.mask)} messages so far`;
  return { passed: condition.negate, ...(explain ? { detail: `/${condition.pattern}/ matched nothing in ${where}` } : {}) };
}

function inBounds(value: number, above: number | undefined, below: number | undefined): boolean {
  return (above === undefined || value > above) && (below === undefined || value < below);
}

const boundsText = (above: number | undefined, below: number | undefined) =>
  [above === undefined ? '' : `above ${above}`, below === undefined ? '' : `below ${below}`].filter(Boolean).join(' and ');

function evaluateCondition(
  condition: CompiledCondition,
  conditionIndex: number,
  ruleHits: readonly Hit[],
  conversation: Conversation,
  trigger: number,
  context: EvaluationContext,
  explain: boolean,
): ConditionOutcome {
  const latest = conversation.message(trigger);
  switch (condition.type) {
    case 'keywords':
      return evaluateKeywords(condition, conditionIndex, ruleHits, conversation, trigger, explain);
    case 'regex':
      return evaluateRegex(condition, conditionIndex, conversation, trigger, explain);
    case 'role': {
      const passed = (conversation.roleBit(trigger) & condition.mask) !== 0;
      return { passed, ...(explain ? { detail: `the latest message is from ${latest.role}` } : {}) };
    }
    case 'channel': {
      const channel = latest.channel ?? undefined;
      const passed = channel !== undefined && condition.channels.has(channel);
      return { passed, ...(explain ? { detail: channel === undefined ? 'the latest message has no channel' : `the latest message came by ${channel}` } : {}) };
    }
    case 'tone': {
      const messages = scopeMessages(conversation, condition.scope, condition.mask, trigger);
      if (messages.length === 0) return { passed: false, ...(explain ? { detail: `no ${describeMask(condition.mask)} message to take the tone of` } : {}) };
      let sum = 0;
      for (const message of messages) sum += conversation.tone(message);
      const tone = sum / messages.length;
      const passed = inBounds(tone, condition.above, condition.below);
      return { passed, ...(explain ? { detail: `tone ${tone.toFixed(3)} (${condition.scope === 'last' ? 'latest message' : `mean of ${messages.length}`}), wanted ${boundsText(condition.above, condition.below)}` } : {}) };
    }
    case 'business_hours': {
      const tsMs = latest.tsMs;
      const at = context.now ?? (tsMs !== undefined && tsMs !== null ? new Date(tsMs) : new Date());
      const open = context.isOpen ? context.isOpen(at) : true;
      return { passed: open === condition.open, ...(explain ? { detail: `the listing is ${open ? 'open' : 'closed'} at ${at.toISOString()}` } : {}) };
    }
    case 'ticket_source': {
      const source = context.ticketSource;
      const passed = source !== undefined && condition.sources.has(source);
      return { passed, ...(explain ? { detail: source === undefined ? 'the ticket source is not known' : `the ticket came from ${source}` } : {}) };
    }
    case 'outcome_risk': {
      const risk = context.risk?.(condition.target);
      if (risk === undefined || !Number.isFinite(risk)) return { passed: false, ...(explain ? { detail: `no prediction for ${condition.target}` } : {}) };
      const passed = inBounds(risk, condition.above, condition.below);
      return { passed, ...(explain ? { detail: `${condition.target} risk ${risk.toFixed(3)}, wanted ${boundsText(condition.above, condition.below)}` } : {}) };
    }
    case 'turn': {
      const turn = conversation.turns(trigger);
      const passed = turn >= condition.min && turn <= condition.max;
      return { passed, ...(explain ? { detail: `customer turn ${turn}` } : {}) };
    }
  }
}

function renderActions(actions: readonly CompiledAction[], values: TemplateValues): RenderedAction[] {
  return actions.map((action): RenderedAction => {
    switch (action.type) {
      case 'reply_set':
        return {
          type: 'reply_set',
          replies: action.replies.map((parts) => {
            const { text, missing } = renderTemplate(parts, values);
            return { text, missingVariables: missing };
          }),
        };
      case 'auto_action': {
        const rendered = action.text ? renderTemplate(action.text, values) : undefined;
        return {
          type: 'auto_action',
          action: action.action,
          ...(rendered ? { text: rendered.text, missingVariables: rendered.missing } : {}),
          params: action.params,
          ...(action.reason !== undefined ? { reason: action.reason } : {}),
        };
      }
      case 'handoff':
        return { type: 'handoff', priority: action.priority, skills: action.skills, ...(action.reason !== undefined ? { reason: action.reason } : {}) };
      case 'canned':
        return { type: 'canned', cannedResponseIds: action.cannedResponseIds };
      case 'tag':
        return { type: 'tag', tags: action.tags };
    }
  });
}

/** Evaluates one rule's conditions in order (all of them when explaining). */
export function evaluateRule(
  rule: CompiledRule,
  ruleHits: readonly Hit[],
  conversation: Conversation,
  trigger: number,
  context: EvaluationContext,
  explain = false,
): { passed: boolean; matches: RuleMatch[]; conditions?: ConditionResult[] } {
  let passed = true;
  const matches: RuleMatch[] = [];
  const conditions: ConditionResult[] = [];
  for (let index = 0; index < rule.conditions.length; index++) {
    const condition = rule.conditions[index]!;
    const outcome = evaluateCondition(condition, index, ruleHits, conversation, trigger, context, explain);
    if (explain) conditions.push({ index, type: condition.type, passed: outcome.passed, detail: outcome.detail ?? '' });
    if (!outcome.passed) {
      passed = false;
      if (!explain) break;
    } else if (outcome.matches) {
      matches.push(...outcome.matches);
    }
  }
  return { passed, matches: passed ? matches.slice(0, MAX_MATCHES_PER_RULE) : [], ...(explain ? { conditions } : {}) };
}

const NO_HITS: readonly Hit[] = [];

/** Candidate rules in evaluation order: those with a hit, and those that need none. */
function candidates(set: CompiledRuleSet, hits: Map<number, Hit[]>): number[] {
  const list = [...hits.keys(), ...set.unindexed].sort((a, b) => a - b);
  return list.filter((rule, position) => position === 0 || list[position - 1] !== rule);
}

/**
 * Which rules fire for a conversation, highest priority first, with the terms that made them fire
 * and their actions rendered; stops after a fired rule that stops processing.
 */
export function evaluateRules(set: CompiledRuleSet, conversation: Conversation, context: EvaluationContext = {}, options: EvaluateOptions = {}): Evaluation {
  const trigger = options.trigger ?? conversation.length - 1;
  const fired: FiredRule[] = [];
  const explanations: RuleExplanation[] = [];
  if (trigger < 0) return { fired, evaluated: 0, stoppedBy: null, ...(options.explain ? { explanations } : {}) };
  const naive = options.strategy === 'naive';
  const explain = options.explain === true;
  const hits = naive ? undefined : (options.hits ?? collectHits(set, conversation, explain ? allMessages(trigger) : messagesToScan(set, conversation, trigger), trigger));
  const order = naive || explain ? set.rules.map((rule) => rule.index) : candidates(set, hits!);
  const values = context.values ?? {};

  let evaluated = 0;
  let stoppedBy: FiredRule | null = null;
  for (const ruleIndex of order) {
    const rule = set.rules[ruleIndex]!;
    if (stoppedBy) {
      if (explain) explanations.push({ ruleId: rule.ruleId, name: rule.name, fired: false, skipped: true, conditions: [] });
      continue;
    }
    const ruleHits = naive ? naiveHits(rule, conversation, trigger) : (hits!.get(ruleIndex) ?? NO_HITS);
    evaluated++;
    const result = evaluateRule(rule, ruleHits, conversation, trigger, context, explain);
    if (explain) explanations.push({ ruleId: rule.ruleId, name: rule.name, fired: result.passed, skipped: false, conditions: result.conditions! });
    if (!result.passed) continue;
    const firedRule: FiredRule = {
      ruleId: rule.ruleId,
      version: rule.version,
      name: rule.name,
      priority: rule.priority,
      stopProcessing: rule.stopProcessing,
      matches: result.matches,
      actions: renderActions(rule.actions, values),
    };
    fired.push(firedRule);
    if (rule.stopProcessing) stoppedBy = firedRule;
  }
  return { fired, evaluated, stoppedBy, ...(explain ? { explanations } : {}) };
}

function allMessages(trigger: number): number[] {
  return Array.from({ length: trigger + 1 }, (_, index) => index);
}
