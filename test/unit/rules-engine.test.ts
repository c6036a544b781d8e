import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/platform/index.ts';
import {
  collectHits,
  compileRules,
  createConversation,
  evaluateRules,
  naiveHits,
  ruleDefinition,
  type ConversationMessage,
  type EvaluationContext,
  type Hit,
  type RuleDefinitionInput,
} from '../../src/suggest/rules/index.ts';

const compile = (...definitions: RuleDefinitionInput[]) =>
  compileRules(definitions.map((definition, index) => ({ ruleId: `rule-${index}`, version: 1, definition: ruleDefinition.parse(definition) })));

const reply = (text = 'ok') => [{ type: 'reply_set' as const, replies: [{ text }] }];
const keywords = (terms: string[], extra: Record<string, unknown> = {}) => ({ type: 'keywords' as const, terms, ...extra });
const customer = (text: string, extra: Partial<ConversationMessage> = {}): ConversationMessage => ({ role: 'customer', text, ...extra });
const csr = (text: string): ConversationMessage => ({ role: 'csr', text });

function fired(definitions: RuleDefinitionInput[], messages: ConversationMessage[], context: EvaluationContext = {}) {
  const set = compile(...definitions);
  const conversation = createConversation(messages);
  const compiled = evaluateRules(set, conversation, context);
  // Every case doubles as a parity check against the per-rule baseline.
  expect(evaluateRules(set, createConversation(messages), context, { strategy: 'naive' }).fired).toEqual(compiled.fired);
  return compiled.fired;
}
const names = (definitions: RuleDefinitionInput[], messages: ConversationMessage[], context: EvaluationContext = {}) =>
  fired(definitions, messages, context).map((rule) => rule.name);

describe('keywords', () => {
  it('match on Porter stems, so inflections find each other both ways', () => {
    const rule = { name: 'refund', conditions: [keywords(['refunds'])], actions: reply() };
    expect(names([rule], [customer('Can I get a refund?')])).toEqual(['refund']);
    expect(names([rule], [customer('I was REFUNDED twice')])).toEqual(['refund']);
    // Stemming joins derived forms too ("refundable" → "refund"), but not other words sharing letters.
    expect(names([rule], [customer('Is it refundable?')])).toEqual(['refund']);
    expect(names([rule], [customer('a fund or refundz')])).toEqual([]);
    const [result] = fired([rule], [customer('Hello. Refunding takes long')]);
    expect(result!.matches).toEqual([{ condition: 0, type: 'keywords', term: 'refunds', seq: 1, position: 1 }]);
  });

  it('match phrases as consecutive words within one clause', () => {
    const rule = { name: 'money back', conditions: [keywords(['money back'])], actions: reply() };
    expect(names([rule], [customer('I want my money back now')])).toEqual(['money back']);
    expect(names([rule], [customer('money, back')])).toEqual([]);
    expect(names([rule], [customer('back money')])).toEqual([]);
    expect(names([rule], [customer('money is back')])).toEqual([]);
  });

  it('any, all and none', () => {
    const any = { name: 'any', conditions: [keywords(['cancel', 'refund'], { mode: 'any' })], actions: reply() };
    const all = { name: 'all', conditions: [keywords(['cancel', 'refund'], { mode: 'all' })], actions: reply() };
    const none = { name: 'none', conditions: [keywords(['cancel', 'refund'], { mode: 'none' })], actions: reply() };
    expect(names([any, all, none], [customer('please cancel it')])).toEqual(['any']);
    expect(names([any, all, none], [customer('cancel and refund please')])).toEqual(['all', 'any']);
    expect(names([any, all, none], [customer('where is my parcel')])).toEqual(['none']);
  });

  it('proximity: every term within `near` words, in one message', () => {
    const rule = { name: 'near', conditions: [keywords(['cancel', 'subscription'], { mode: 'all', near: 3 })], actions: reply() };
    expect(names([rule], [customer('cancel my monthly subscription')])).toEqual(['near']);
    expect(names([rule], [customer('subscription: I would cancel')])).toEqual(['near']);
    expect(names([rule], [customer('cancel it now, I really do not want this subscription')])).toEqual([]);
    // Across two messages the terms are never "near".
    const scoped = { ...rule, conditions: [keywords(['cancel', 'subscription'], { mode: 'all', near: 3, scope: 'conversation' })] };
    expect(names([scoped], [customer('cancel'), customer('subscription')])).toEqual([]);
  });

  it('scope and roles: the latest customer message by default, or the whole conversation', () => {
    const last = { name: 'last', conditions: [keywords(['refund'])], actions: reply() };
    const conversation = { name: 'conversation', conditions: [keywords(['refund'], { scope: 'conversation' })], actions: reply() };
    const fromCsr = { name: 'csr said', conditions: [keywords(['refund'], { roles: ['csr'] })], actions: reply() };
    // The CSR's reply after the customer's message does not hide the customer's latest message.
    expect(names([last, conversation, fromCsr], [customer('refund please'), csr('let me check')])).toEqual(['conversation', 'last']);
    expect(names([last, conversation, fromCsr], [customer('refund please'), csr('ok'), customer('thanks')])).toEqual(['conversation']);
    expect(names([last, conversation, fromCsr], [customer('hi'), csr('a refund is possible')])).toEqual(['csr said']);
  });
});

describe('other conditions', () => {
  it('regex on the scoped messages, with negate', () => {
    const order = { name: 'order', conditions: [{ type: 'regex' as const, pattern: 'order\\s*#?\\d{4,}' }], actions: reply() };
    const noOrder = { name: 'no order', conditions: [{ type: 'regex' as const, pattern: 'order\\s*#?\\d{4,}', negate: true }], actions: reply() };
    const [match] = fired([order, noOrder], [customer('It is ORDER #12345, thanks')]);
    expect(match!.name).toBe('order');
    expect(match!.matches).toEqual([{ condition: 0, type: 'regex', term: 'ORDER #12345', seq: 1, position: 6 }]);
    expect(names([order, noOrder], [customer('my order is late')])).toEqual(['no order']);
    const caseSensitive = { name: 'cs', conditions: [{ type: 'regex' as const, pattern: 'ORDER', caseSensitive: true }], actions: reply() };
    expect(names([caseSensitive], [customer('order')])).toEqual([]);
  });

  it('role and channel of the latest message', () => {
    const role = { name: 'customer spoke', conditions: [{ type: 'role' as const, roles: ['customer' as const] }], actions: reply() };
    const sms = { name: 'sms', conditions: [{ type: 'channel' as const, channels: ['sms'] }], actions: reply() };
    expect(names([role, sms], [customer('hi', { channel: 'sms' })])).toEqual(['customer spoke', 'sms']);
    expect(names([role, sms], [customer('hi', { channel: 'sms' }), csr('hello')])).toEqual([]);
  });

  it('tone below/above a threshold, of the latest message or the conversation mean', () => {
    const angry = { name: 'angry', conditions: [{ type: 'tone' as const, below: -0.2 }], actions: reply() };
    const happy = { name: 'happy', conditions: [{ type: 'tone' as const, above: 0.2 }], actions: reply() };
    const meanAngry = { name: 'mean angry', conditions: [{ type: 'tone' as const, below: -0.2, scope: 'conversation' as const }], actions: reply() };
    expect(names([angry, happy, meanAngry], [customer('This is terrible, awful service')])).toEqual(['angry', 'mean angry']);
    expect(names([angry, happy, meanAngry], [customer('great, thank you')])).toEqual(['happy']);
    expect(names([angry, happy, meanAngry], [customer('terrible awful horrible'), customer('ok')])).toEqual(['mean angry']);
  });

  it('business hours, ticket source, predicted risk and customer turns', () => {
    const closed = { name: 'after hours', conditions: [{ type: 'business_hours' as const, open: false }], actions: reply() };
    const ivr = { name: 'ivr', conditions: [{ type: 'ticket_source' as const, sources: ['ivr' as const] }], actions: reply() };
    const risky = { name: 'risky', conditions: [{ type: 'outcome_risk' as const, target: 'resolution', above: 0.7 }], actions: reply() };
    const third = { name: 'third turn', conditions: [{ type: 'turn' as const, min: 3 }], actions: reply() };
    const messages = [customer('hi'), customer('anyone?'), csr('yes'), customer('ok'), csr('?'), customer('so?')];
    expect(names([closed, ivr, risky, third], messages, {})).toEqual(['third turn']);
    expect(names([closed, ivr, risky, third], messages.slice(0, 4))).toEqual([]);
    const context: EvaluationContext = { isOpen: () => false, ticketSource: 'ivr', risk: (target) => (target === 'resolution' ? 0.9 : undefined) };
    expect(names([closed, ivr, risky, third], messages, context)).toEqual(['after hours', 'ivr', 'risky', 'third turn']);
    expect(names([risky], messages, { risk: () => undefined })).toEqual([]);
  });

  it('all conditions must hold', () => {
    const rule = { name: 'both', conditions: [keywords(['refund']), { type: 'turn' as const, max: 1 }], actions: reply() };
    expect(names([rule], [customer('refund')])).toEqual(['both']);
    expect(names([rule], [customer('hi'), csr('hello'), customer('refund')])).toEqual([]);
  });
});

describe('priority, stop-processing and actions', () => {
  it('fires in priority order (then name); a fired stop-processing rule ends the evaluation', () => {
    const low = { name: 'a low', priority: 1, conditions: [keywords(['refund'])], actions: reply() };
    const high = { name: 'b high', priority: 10, conditions: [keywords(['refund'])], actions: reply() };
    const sameAsLow = { name: 'b low', priority: 1, conditions: [{ type: 'role' as const, roles: ['customer' as const] }], actions: reply() };
    expect(names([low, high, sameAsLow], [customer('refund')])).toEqual(['b high', 'a low', 'b low']);
    const stop = { ...high, stopProcessing: true };
    const set = compile(low, stop, sameAsLow);
    const result = evaluateRules(set, createConversation([customer('refund')]));
    expect(result.fired.map((rule) => rule.name)).toEqual(['b high']);
    expect(result.stoppedBy?.name).toBe('b high');
    // A stop-processing rule that does not fire stops nothing.
    expect(names([low, { ...stop, conditions: [keywords(['cancel'])] }, sameAsLow], [customer('refund')])).toEqual(['a low', 'b low']);
  });

  it('renders variables, with fallbacks, and reports variables left without a value', () => {
    const rule = {
      name: 'greet',
      conditions: [keywords(['hello'])],
      actions: [
        { type: 'reply_set' as const, replies: [{ text: 'Hi {{customer.first_name | there}}, {{csr.name}} from {{listing.name}} here.' }, { text: 'Ticket {{ ticket.ref }}' }] },
        { type: 'auto_action' as const, action: 'send_offer' as const, text: '10% off, {{customer.name}}', params: { percent: 10 } },
      ],
    };
    const [withValues] = fired([rule], [customer('hello')], { values: { 'customer.name': 'Ada Lovelace', 'customer.first_name': 'Ada', 'csr.name': 'Sam', 'listing.name': 'Acme', 'ticket.ref': 'AC-7' } });
    expect(withValues!.actions).toEqual([
      { type: 'reply_set', replies: [{ text: 'Hi Ada, Sam from Acme here.', missingVariables: [] }, { text: 'Ticket AC-7', missingVariables: [] }] },
      { type: 'auto_action', action: 'send_offer', text: '10% off, Ada Lovelace', missingVariables: [], params: { percent: 10 } },
    ]);
    const [bare] = fired([rule], [customer('hello')]);
    expect(bare!.actions[0]).toEqual({
      type: 'reply_set',
      replies: [{ text: 'Hi there,  from  here.', missingVariables: ['csr.name', 'listing.name'] }, { text: 'Ticket ', missingVariables: ['ticket.ref'] }],
    });
  });

  it('evaluates only rules with a keyword hit, plus rules without keyword conditions', () => {
    const definitions = Array.from({ length: 200 }, (_, index) => ({ name: `r${index}`, conditions: [keywords([`word${index}`])], actions: reply() }));
    definitions.push({ name: 'always', conditions: [{ type: 'role' as const, roles: ['customer' as const] }] as never, actions: reply() });
    const set = compile(...definitions);
    const result = evaluateRules(set, createConversation([customer('word7 and word42')]));
    expect(result.fired.map((rule) => rule.name)).toEqual(['always', 'r42', 'r7']);
    expect(result.evaluated).toBe(3);
  });
});

// -------------------------------------------------------------------------------------------
// Property: the compiled matcher and the naive per-rule scan agree on random rules and messages.

const VOCABULARY = [
  'refund', 'refunds', 'refunded', 'cancel', 'cancelled', 'cancellation', 'order', 'orders', 'charge', 'charged', 'money', 'back',
  'account', 'close', 'closing', 'help', 'agent', 'human', 'the', 'my', 'a', 'is', 'not', 'great', 'terrible', 'late', 'delivery', 'deliveries',
];
const ROLES = ['customer', 'csr', 'bot', 'system'] as const;

function randomRules(random: () => number, count: number): RuleDefinitionInput[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const phrase = () => Array.from({ length: 1 + Math.floor(random() * (random() < 0.7 ? 1 : 3)) }, () => pick(VOCABULARY)).join(' ');
  const roles = () => {
    const chosen = ROLES.filter(() => random() < 0.4);
    return chosen.length > 0 ? chosen : ['customer' as const];
  };
  return Array.from({ length: count }, (_, index) => {
    const conditions: unknown[] = [];
    const conditionCount = 1 + Math.floor(random() * 3);
    for (let k = 0; k < conditionCount; k++) {
      const kind = random();
      if (kind < 0.6) {
        const terms = Array.from({ length: 1 + Math.floor(random() * 3) }, phrase);
        const mode = pick(['any', 'any', 'all', 'none'] as const);
        conditions.push({
          type: 'keywords',
          terms,
          mode,
          ...(mode === 'all' && terms.length > 1 && random() < 0.5 ? { near: 1 + Math.floor(random() * 6) } : {}),
          scope: pick(['last', 'conversation'] as const),
          roles: roles(),
        });
      } else if (kind < 0.7) conditions.push({ type: 'regex', pattern: `\\b${pick(VOCABULARY)}\\b`, negate: random() < 0.3, scope: pick(['last', 'conversation'] as const) });
      else if (kind < 0.8) conditions.push({ type: 'role', roles: roles() });
      else if (kind < 0.9) conditions.push({ type: 'turn', min: 1 + Math.floor(random() * 3) });
      else conditions.push({ type: 'tone', below: random() - 0.5 });
    }
    return {
      name: `rule ${index}`,
      priority: Math.floor(random() * 5),
      stopProcessing: random() < 0.05,
      conditions,
      actions: reply(`reply ${index} {{customer.first_name|there}}`),
    } as RuleDefinitionInput;
  });
}

function randomMessages(random: () => number): ConversationMessage[] {
  return Array.from({ length: 1 + Math.floor(random() * 6) }, () => {
    const words = Array.from({ length: 1 + Math.floor(random() * 14) }, () => {
      const word = VOCABULARY[Math.floor(random() * VOCABULARY.length)]!;
      return random() < 0.1 ? `${word}${random() < 0.5 ? ',' : '.'}` : random() < 0.1 ? word.toUpperCase() : word;
    });
    return { role: ROLES[Math.floor(random() * (random() < 0.7 ? 2 : 4))]!, text: words.join(' ') };
  });
}

const hitKey = (hit: Hit) => `${hit.condition}:${hit.term}:${hit.message}:${hit.position}`;

describe('compiled matcher vs naive per-rule evaluation (property)', () => {
  it('give the same fired rules, matches and actions on random rules and conversations', () => {
    const random = seededRandom(20261121);
    let firedTotal = 0;
    for (let round = 0; round < 100; round++) {
      const set = compileRules(randomRules(random, 40).map((definition, index) => ({ ruleId: `r${index}`, version: 1, definition: ruleDefinition.parse(definition) })));
      for (let sample = 0; sample < 8; sample++) {
        const messages = randomMessages(random);
        const context: EvaluationContext = { values: { 'customer.first_name': 'Ada' } };
        const compiled = evaluateRules(set, createConversation(messages), context);
        const naive = evaluateRules(set, createConversation(messages), context, { strategy: 'naive' });
        expect(compiled.fired).toEqual(naive.fired);
        expect(compiled.stoppedBy?.name).toEqual(naive.stoppedBy?.name);
        firedTotal += compiled.fired.length;

        // Replay's path: hits over every message once, then each prefix as the latest.
        const conversation = createConversation(messages);
        const allHits = collectHits(set, conversation, messages.map((_, index) => index));
        for (let trigger = 0; trigger < messages.length; trigger++) {
          const prefix = evaluateRules(set, conversation, context, { trigger, hits: allHits });
          const reference = evaluateRules(set, createConversation(messages.slice(0, trigger + 1)), context, { strategy: 'naive' });
          expect(prefix.fired).toEqual(reference.fired);
        }
        // And the raw hits: the automaton finds exactly the occurrences a per-term scan finds.
        const trigger = messages.length - 1;
        for (const rule of set.rules) {
          const scanned = naiveHits(rule, conversation, trigger).map(hitKey).sort();
          const indexed = (allHits.get(rule.index) ?? [])
            .filter((hit) => {
              const condition = rule.conditions[hit.condition]!;
              if (condition.type !== 'keywords') return false;
              if ((conversation.roleBit(hit.message) & condition.mask) === 0) return false;
              return condition.scope === 'conversation' || hit.message === conversation.lastIndex(condition.mask, trigger);
            })
            .map(hitKey)
            .sort();
          expect(indexed).toEqual(scanned);
        }
      }
    }
    // The generator must exercise firing, not only silence.
    expect(firedTotal).toBeGreaterThan(500);
  });
});
