import { describe, expect, it } from 'vitest';
import { buildPrompt, SYSTEM_PROMPT } from '../../src/drafts/index.ts';

describe('draft prompt', () => {
  it('quotes the conversation with its roles between markers and lists the grounding replies', () => {
    const [system, user] = buildPrompt(
      [
        { role: 'customer', text: 'Hi,\n  my  order is late' },
        { role: 'bot', text: 'Let me get someone.' },
        { role: 'csr', text: 'Hello, I am Ana.' },
        { role: 'system', text: 'Hand-off from the bot.' },
      ],
      ['It ships tomorrow.', 'Here is your tracking link.'],
    );
    expect(system).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    expect(user!.content).toBe(
      [
        '<conversation>\nCustomer: Hi, my order is late\nBot: Let me get someone.\nCSR: Hello, I am Ana.\nSystem note: Hand-off from the bot.\n</conversation>',
        'Replies that worked in similar conversations (reuse their facts and wording where they fit):\n1. It ships tomorrow.\n2. Here is your tracking link.',
        "Write the CSR's next reply.",
      ].join('\n\n'),
    );
  });

  it('keeps the latest messages within the limits and clips long ones', () => {
    const conversation = Array.from({ length: 30 }, (_, i) => ({ role: 'customer' as const, text: `message ${i} ${'x'.repeat(i === 29 ? 2000 : 10)}` }));
    const content = buildPrompt(conversation, [], { maxMessages: 5, maxMessageChars: 100, maxConversationChars: 10_000 })[1]!.content;
    expect(content).not.toContain('message 24');
    expect(content).toContain('message 25');
    expect(content).toContain(`message 29 ${'x'.repeat(50)}`);
    expect(content).toContain('…');
    expect(content).not.toContain('Replies that worked');
    const tight = buildPrompt(conversation, [], { maxMessages: 30, maxConversationChars: 200 })[1]!.content;
    expect(tight.split('\n').filter((line) => line.startsWith('Customer:')).length).toBeLessThan(30);
    expect(tight).toContain('message 29');
  });
});
