import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/features/index.ts';
import {
  assessHandoff,
  BIAS,
  countTurns,
  defaultHandoffSettings,
  findHumanRequest,
  summarize,
  type RuleHit,
  type TranscriptMessage,
} from '../../src/handoff/index.ts';

const customer = (text: string): TranscriptMessage => ({ role: 'customer', text });
const bot = (text: string): TranscriptMessage => ({ role: 'bot', text });
const request = (text: string) => findHumanRequest(tokenize(text))?.kind;
const names = (messages: TranscriptMessage[], extras = {}) => assessHandoff(messages, defaultHandoffSettings(), extras).signals.map((signal) => signal.name);

describe('explicit requests for a person', () => {
  it.each([
    'I want to talk to a human',
    'Can I speak to a real person please?',
    'agent',
    'human please',
    'LIVE AGENT',
    'Connect me with a representative',
    'why can\'t I talk to an agent?',
    "Why don't you just get me a supervisor",
    'Is there a human I can talk to?',
    'I need someone real, not a bot',
    'No, I want an agent',
    'please escalate this',
    'live chat',
  ])('"%s" asks for one', (text) => {
    expect(request(text)).toBe('request');
  });

  it.each([
    "I don't want a human",
    'I do not need to speak to an agent',
    'no human please',
    'No need for an agent, thanks',
    'I never asked for a representative',
    "Please don't escalate",
  ])('"%s" declines one', (text) => {
    expect(request(text)).toBe('declined');
  });

  it.each(['My manager told me to ask', 'I am the manager here', 'are you a human?', 'What time do you open?', 'The agent was rude yesterday'])(
    '"%s" neither asks nor declines',
    (text) => {
      expect(request(text)).toBeUndefined();
    },
  );

  it('hands off on an explicit request alone, and a declined one lowers the confidence below the baseline', () => {
    const asked = assessHandoff([customer('Where is my parcel?'), bot('It is on its way.'), customer('I want to speak to a human')]);
    expect(asked.handoff).toBe(true);
    expect(asked.confidence).toBeCloseTo(1 / (1 + Math.exp(-(BIAS + 5))), 4);
    expect(asked.signals[0]).toMatchObject({ name: 'explicit_request', weight: 5, value: 1, contribution: 5 });
    expect(asked.signals[0]!.reason).toContain('speak to a human');

    const declined = assessHandoff([customer("I don't want a human, just tell me the opening hours")]);
    expect(declined.handoff).toBe(false);
    expect(declined.signals.map((signal) => signal.name)).toEqual(['declined_human']);
    expect(declined.confidence).toBeLessThan(1 / (1 + Math.exp(-BIAS)));
  });

  it('takes "yes" after the bot offered a person as a request, and "no" as declining', () => {
    const offer = bot('I am not able to do that. Would you like to talk to an agent?');
    expect(names([customer('change my plan'), offer, customer('yes please')])).toContain('explicit_request');
    expect(names([customer('change my plan'), offer, customer('no thanks')])).toContain('declined_human');
  });

  it('counts an earlier request the bot talked past at half strength', () => {
    const result = assessHandoff([customer('agent'), bot('I can help with that! What is your order number?'), customer('12345')]);
    expect(result.signals.find((signal) => signal.name === 'explicit_request')).toMatchObject({ value: 0.5 });
  });
});

describe('repeated failure', () => {
  it('counts the bot fallbacks among its last six messages, saturating at three', () => {
    const one = assessHandoff([customer('blorp the widget'), bot("Sorry, I didn't understand that.")]);
    expect(one.signals).toEqual([expect.objectContaining({ name: 'bot_fallback', value: 0.3333 })]);
    expect(one.handoff).toBe(false);
    const three = assessHandoff([
      customer('blorp'),
      bot("Sorry, I didn't understand that."),
      customer('the blorp'),
      bot('Could you rephrase your question?'),
      customer('widget thing'),
      bot("I'm still learning. Please try again."),
    ]);
    expect(three.signals.find((signal) => signal.name === 'bot_fallback')).toMatchObject({ value: 1, contribution: 3 });
    expect(three.confidence).toBeGreaterThanOrEqual(0.5);
    expect(three.handoff).toBe(true);
  });

  it('sees a customer rephrasing (high word overlap between consecutive turns)', () => {
    const result = assessHandoff([
      customer('How do I change the delivery address of my order?'),
      bot('You can track your order on the website.'),
      customer('I need to change the delivery address on my order'),
      bot('Orders usually arrive within 3 days.'),
    ]);
    expect(result.signals.map((signal) => signal.name)).toEqual(['rephrasing']);
    expect(result.signals[0]!.value).toBe(0.5);
  });

  it('hands off on two fallbacks plus a rephrasing', () => {
    const result = assessHandoff([
      customer('How do I change the delivery address of my order?'),
      bot("Sorry, I didn't get that."),
      customer('change delivery address of my order'),
      bot('I am not sure what you mean.'),
    ]);
    expect(result.signals.map((signal) => signal.name).sort()).toEqual(['bot_fallback', 'rephrasing']);
    expect(result.handoff).toBe(true);
  });
});

describe('tone, intent, rules and risk', () => {
  it('sees a falling tone and anger, and anger raises the priority', () => {
    const result = assessHandoff([
      customer('Hi, I have a question about my order, thanks'),
      bot('Sure, what is it?'),
      customer('It has not arrived and this is terrible, awful service. I am furious!'),
    ]);
    const fired = result.signals.map((signal) => signal.name);
    expect(fired).toEqual(expect.arrayContaining(['falling_tone', 'negative_tone']));
    expect(result.priorityLabel).toBe('high');
  });

  it('predicts the intent from the lexicon, marks high-value ones, and a listing keyword counts too', () => {
    const refund = assessHandoff([customer('I want a refund for my last order'), bot('Let me check.'), customer('the refund please')]);
    expect(refund.intent).toBe('refund');
    expect(refund.signals.map((signal) => signal.name)).toContain('high_value_intent');
    expect(refund.priorityLabel).toBe('high');

    const settings = { ...defaultHandoffSettings(), highValueIntents: [], highValueKeywords: ['business account'] };
    const keyword = assessHandoff([customer('I would like to open a business account')], settings);
    expect(keyword.intent).toBe('business account');
    expect(keyword.signals.map((signal) => signal.name)).toEqual(['high_value_intent']);
    expect(assessHandoff([customer('I want a refund')], settings).signals).toEqual([]);
  });

  it('makes an angry high-value customer urgent', () => {
    const result = assessHandoff([customer('Cancel my account now. This is the worst, terrible, awful service!!')]);
    expect(result.intent).toBe('cancel');
    expect(result.priorityLabel).toBe('urgent');
    expect(result.priority).toBe(20);
  });

  it('follows hand-off rules (action or tag) with their skills and priority, and ignores other rules', () => {
    const hits: RuleHit[] = [
      { ruleId: 'r1', name: 'mortgage questions', actions: [{ type: 'handoff', priority: 'urgent', skills: ['mortgages'] }] },
      { ruleId: 'r2', name: 'greeting', actions: [{ type: 'reply_set' }] },
    ];
    const result = assessHandoff([customer('question about my mortgage')], defaultHandoffSettings(), { ruleHits: hits });
    expect(result.signals).toEqual([expect.objectContaining({ name: 'rule_match', reason: 'Hand-off rule matched: mortgage questions' })]);
    expect(result.handoff).toBe(true);
    expect(result.skills).toEqual(['mortgages']);
    expect(result.priorityLabel).toBe('urgent');
    const tagged = assessHandoff([customer('hi')], defaultHandoffSettings(), { ruleHits: [{ ruleId: null, name: 't', actions: [{ type: 'tag', tags: ['handoff'] }] }] });
    expect(tagged.signals.map((signal) => signal.name)).toEqual(['rule_match']);
    expect(names([customer('hi')], { ruleHits: [hits[1]!] })).toEqual([]);
  });

  it('takes model risk from 0.5 up, scaled to 0–1', () => {
    expect(names([customer('hi')], { risk: 0.4 })).toEqual([]);
    const result = assessHandoff([customer('hi')], defaultHandoffSettings(), { risk: 0.9 });
    expect(result.signals).toEqual([expect.objectContaining({ name: 'outcome_risk', value: 0.8, contribution: 1.6 })]);
    expect(result.priorityLabel).toBe('high');
  });
});

describe('confidence and settings', () => {
  it('is the logistic of the bias plus the weighted signals, and the threshold decides', () => {
    const messages = [customer('blorp'), bot("Sorry, I didn't understand that.")];
    const base = assessHandoff(messages);
    expect(base.logit).toBeCloseTo(BIAS + 1, 4);
    expect(base.confidence).toBeCloseTo(1 / (1 + Math.exp(-(BIAS + 1))), 4);
    const lenient = assessHandoff(messages, { ...defaultHandoffSettings(), threshold: 0.1 });
    expect(lenient.handoff).toBe(true);
    const heavier = assessHandoff(messages, { ...defaultHandoffSettings(), weights: { bot_fallback: 9 } });
    expect(heavier.logit).toBeCloseTo(BIAS + 3, 4);
  });

  it('gives a quiet conversation the baseline confidence and no reasons', () => {
    const result = assessHandoff([customer('What are your opening hours?'), bot('We are open 9 to 5.'), customer('Great, thanks!')]);
    expect(result).toMatchObject({ handoff: false, signals: [], intent: null, priority: 0, customerTurns: 2 });
    expect(result.confidence).toBeCloseTo(0.0474, 3);
  });

  it('counts customer turns as runs of customer messages and flags long conversations', () => {
    expect(countTurns([customer('a'), customer('b'), bot('c'), customer('d')])).toBe(2);
    const long = Array.from({ length: 8 }, (_, i) => [customer(`question number ${i} about shoes`), bot('Here is some information.')]).flat();
    expect(names(long)).toContain('long_conversation');
  });

  it('summarises extractively with the intent and the reasons', () => {
    const messages = [customer('I want a refund for order 42'), bot("Sorry, I didn't understand that."), customer('I want to talk to a human')];
    const assessment = assessHandoff(messages);
    const summary = summarize(messages, assessment);
    expect(summary).toContain('Customer opened with: "I want a refund for order 42"');
    expect(summary).toContain('Latest: "I want to talk to a human"');
    expect(summary).toContain('Intent: refund');
    expect(summary).toContain('Why handed off: The customer asked for a person');
  });
});
