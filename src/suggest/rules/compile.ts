import type { SenderRole } from '../../messages/index.ts';
import { runToEnd, type Steps } from '../../platform/index.ts';
import { messageWords, roleMask } from './conversation.ts';
import { buildMatcher, type Matcher } from './matcher.ts';
import { regexFlags } from './regex-safety.ts';
import type { autoActions as autoActionList, RuleAction, RuleCondition, RuleDefinition } from './rules.schemas.ts';

type AutoActionName = (typeof autoActionList)[number];
type HandoffPriority = 'normal' | 'high' | 'urgent';
import { parseTemplate, type TemplatePart } from './templates.ts';

/** A rule to compile: a saved version (ids set) or an unsaved draft (ids null). */
export interface RuleSource {
  ruleId: string | null;
  version: number | null;
  definition: RuleDefinition;
}

export interface CompiledTerm {
  text: string;
  stems: string[];
}

export type CompiledCondition =
  | { type: 'keywords'; terms: CompiledTerm[]; mode: 'any' | 'all' | 'none'; near: number | undefined; scope: 'last' | 'conversation'; mask: number }
  | { type: 'regex'; regex: RegExp; pattern: string; negate: boolean; scope: 'last' | 'conversation'; mask: number }
  | { type: 'role'; mask: number; roles: SenderRole[] }
  | { type: 'channel'; channels: ReadonlySet<string> }
  | { type: 'tone'; below: number | undefined; above: number | undefined; scope: 'last' | 'conversation'; mask: number }
  | { type: 'business_hours'; open: boolean }
  | { type: 'ticket_source'; sources: ReadonlySet<string> }
  | { type: 'outcome_risk'; target: string; below: number | undefined; above: number | undefined }
  | { type: 'turn'; min: number; max: number };

export type CompiledAction =
  | { type: 'reply_set'; replies: TemplatePart[][] }
  | { type: 'canned'; cannedResponseIds: string[] }
  | { type: 'auto_action'; action: AutoActionName; text: TemplatePart[] | undefined; params: Record<string, string | number | boolean>; reason: string | undefined }
  | { type: 'handoff'; priority: HandoffPriority; skills: string[]; reason: string | undefined }
  | { type: 'tag'; tags: string[] };

export interface CompiledRule {
  /** Position in evaluation order (priority first). */
  index: number;
  ruleId: string | null;
  version: number | null;
  name: string;
  priority: number;
  stopProcessing: boolean;
  conditions: CompiledCondition[];
  actions: CompiledAction[];
  /**
   * Has a keyword condition in mode any/all: it cannot hold unless the matcher reports a hit for
   * it, so the rule is only evaluated when one of its terms occurs.
   */
  indexed: boolean;
}

/** Which (rule, condition, term) a matcher pattern stands for. */
export interface TermRef {
  rule: number;
  condition: number;
  term: number;
  /** The condition reads only the latest message from `mask` (else every message from it). */
  last: boolean;
  mask: number;
}

export interface CompiledRuleSet {
  rules: CompiledRule[];
  matcher: Matcher;
  /** Per matcher pattern, every rule term with that stem sequence. */
  refs: TermRef[][];
  /** Rules evaluated on every request (no any/all keyword condition), in evaluation order. */
  unindexed: number[];
  /** Role masks of keyword conditions with scope "last", and the union of those with scope "conversation". */
  lastMasks: number[];
  conversationMask: number;
}

/** Stems of a term's words (punctuation dropped), as the matcher compares them. */
export function termStems(term: string): string[] {
  return messageWords(term).stems;
}

function compileCondition(condition: RuleCondition): CompiledCondition {
  switch (condition.type) {
    case 'keywords':
      return {
        type: 'keywords',
        terms: condition.terms.map((text) => ({ text, stems: termStems(text) })),
        mode: condition.mode,
        near: condition.near,
        scope: condition.scope,
        mask: roleMask(condition.roles),
      };
    case 'regex':
      return {
        type: 'regex',
        regex: new RegExp(condition.pattern, regexFlags(condition.caseSensitive)),
        pattern: condition.pattern,
        negate: condition.negate,
        scope: condition.scope,
        mask: roleMask(condition.roles),
      };
    case 'role':
      return { type: 'role', mask: roleMask(condition.roles), roles: condition.roles };
    case 'channel':
      return { type: 'channel', channels: new Set(condition.channels) };
    case 'tone':
      return { type: 'tone', below: condition.below, above: condition.above, scope: condition.scope, mask: roleMask(condition.roles) };
    case 'business_hours':
      return { type: 'business_hours', open: condition.open };
    case 'ticket_source':
      return { type: 'ticket_source', sources: new Set(condition.sources) };
    case 'outcome_risk':
      return { type: 'outcome_risk', target: condition.target, below: condition.below, above: condition.above };
    case 'turn':
      return { type: 'turn', min: condition.min ?? 1, max: condition.max ?? Number.MAX_SAFE_INTEGER };
  }
}

function compileAction(action: RuleAction): CompiledAction {
  switch (action.type) {
    case 'reply_set':
      return { type: 'reply_set', replies: action.replies.map((reply) => parseTemplate(reply.text)) };
    case 'canned':
      return { type: 'canned', cannedResponseIds: action.cannedResponseIds };
    case 'auto_action':
      return { type: 'auto_action', action: action.action, text: action.text === undefined ? undefined : parseTemplate(action.text), params: action.params ?? {}, reason: action.reason };
    case 'handoff':
      return { type: 'handoff', priority: action.priority, skills: action.skills, reason: action.reason };
    case 'tag':
      return { type: 'tag', tags: action.tags };
  }
}

/** Evaluation order: priority descending, then name, then id, so ties are deterministic. */
function byPriority(a: RuleSource, b: RuleSource): number {
  if (a.definition.priority !== b.definition.priority) return b.definition.priority - a.definition.priority;
  if (a.definition.name !== b.definition.name) return a.definition.name < b.definition.name ? -1 : 1;
  const idA = a.ruleId ?? '';
  const idB = b.ruleId ?? '';
  return idA < idB ? -1 : idA > idB ? 1 : 0;
}

/**
 * Compiles rule versions into one matcher plus per-rule condition programs. Done once per
 * published set (on publish, rollback or delete), never per request.
 */
export function compileRules(sources: readonly RuleSource[]): CompiledRuleSet {
  return runToEnd(compileRulesSteps(sources));
}

/**
 * compileRules as steps (time-slice.ts): the api recompiles a listing's published set while it
 * serves requests (2,000 rules are ~40 ms of work).
 */
export function* compileRulesSteps(sources: readonly RuleSource[]): Steps<CompiledRuleSet> {
  const ordered = [...sources].sort(byPriority);
  const patternIds = new Map<string, number>();
  const patterns: string[][] = [];
  const refs: TermRef[][] = [];
  const lastMasks = new Set<number>();
  let conversationMask = 0;

  const rules: CompiledRule[] = [];
  for (const [index, source] of ordered.entries()) {
    if (index % 16 === 0) yield;
    const conditions = source.definition.conditions.map(compileCondition);
    let indexed = false;
    conditions.forEach((condition, conditionIndex) => {
      if (condition.type !== 'keywords') return;
      if (condition.mode !== 'none') indexed = true;
      if (condition.scope === 'last') lastMasks.add(condition.mask);
      else conversationMask |= condition.mask;
      condition.terms.forEach((term, termIndex) => {
        const key = term.stems.join(' ');
        let pattern = patternIds.get(key);
        if (pattern === undefined) {
          pattern = patterns.length;
          patternIds.set(key, pattern);
          patterns.push(term.stems);
          refs.push([]);
        }
        refs[pattern]!.push({ rule: index, condition: conditionIndex, term: termIndex, last: condition.scope === 'last', mask: condition.mask });
      });
    });
    rules.push({
      index,
      ruleId: source.ruleId,
      version: source.version,
      name: source.definition.name,
      priority: source.definition.priority,
      stopProcessing: source.definition.stopProcessing,
      conditions,
      actions: source.definition.actions.map(compileAction),
      indexed,
    });
  }

  return {
    rules,
    matcher: buildMatcher(patterns),
    refs,
    unindexed: rules.filter((rule) => !rule.indexed).map((rule) => rule.index),
    lastMasks: [...lastMasks],
    conversationMask,
  };
}
