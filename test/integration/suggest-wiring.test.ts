import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../support/context.ts';

/** The composition root's wiring between contexts (src/core.ts): published rules reach the hand-off assessment. */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('rules → hand-off', () => {
  it('a published rule with a hand-off action raises the assessment, with its skills and priority', async () => {
    const { developerKey, botKey } = await ctx.seedListing();
    const messages = [{ role: 'customer', text: 'My card was charged twice for the same order' }];
    const before = await ctx.request(botKey, 'POST', '/v1/handoff/assess', { messages });
    expect(before.status).toBe(200);
    expect(before.body.signals.map((signal: { name: string }) => signal.name)).not.toContain('rule_match');

    const rule = await ctx.request(developerKey, 'POST', '/v1/rules', {
      name: 'Billing dispute',
      conditions: [{ type: 'keywords', terms: ['charged twice'] }],
      actions: [{ type: 'handoff', priority: 'high', skills: ['billing'], reason: 'billing disputes go to a person' }],
    });
    expect(rule.status).toBe(201);
    expect((await ctx.request(developerKey, 'POST', `/v1/rules/${rule.body.id}/publish`, {})).status).toBe(200);

    // A publish reaches the compiled set within about RULES_REFRESH_MS (recompiled in the background).
    let after = await ctx.request(botKey, 'POST', '/v1/handoff/assess', { messages });
    for (let attempt = 0; attempt < 30 && !after.body.signals.some((signal: { name: string }) => signal.name === 'rule_match'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await ctx.request(botKey, 'POST', '/v1/handoff/assess', { messages });
    }
    expect(after.body.signals.map((signal: { name: string }) => signal.name)).toContain('rule_match');
    expect(after.body.confidence).toBeGreaterThan(before.body.confidence);
  });
});
