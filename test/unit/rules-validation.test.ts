import { describe, expect, it } from 'vitest';
import { regexProblem, ruleDefinition, templateProblems } from '../../src/suggest/rules/index.ts';

const issuesOf = (input: unknown) => {
  const result = ruleDefinition.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => ({ path: issue.path.join('/'), message: issue.message }));
};
const base = { name: 'r', conditions: [{ type: 'keywords', terms: ['refund'] }], actions: [{ type: 'reply_set', replies: [{ text: 'ok' }] }] };

describe('regular expressions in rules', () => {
  it('accepts ordinary patterns', () => {
    for (const pattern of ['order\\s*#?\\d{4,}', '^(?:hi|hello)\\b', '\\b[A-Z]{2}\\d{6}\\b', '(?:mr|mrs)\\.? \\w+', 'a(?=b)', '(\\d{3})-(\\d{4})', '[(+]+\\d+']) {
      expect(regexProblem(pattern, 'iu'), pattern).toBeUndefined();
    }
  });

  it('refuses shapes with exponential backtracking, backreferences and invalid syntax', () => {
    for (const pattern of ['(a+)+$', '(a|aa)*b', '(\\w+\\s?)*$', '((ab)*c)+', '(x+x+)+y', '(a|b){2,}', '(?:\\d+,)*x']) {
      expect(regexProblem(pattern, 'iu'), pattern).toMatch(/exponential/);
    }
    expect(regexProblem('(a)\\1', 'iu')).toMatch(/backreferences/);
    expect(regexProblem('(?<x>a)\\k<x>', 'iu')).toMatch(/backreferences/);
    expect(regexProblem('(unclosed', 'iu')).toMatch(/not a valid regular expression/);
    expect(regexProblem('a'.repeat(301), 'iu')).toMatch(/at most 300/);
  });

  it('points at the bad condition', () => {
    const definition = { ...base, conditions: [{ type: 'role', roles: ['customer'] }, { type: 'turn', min: 1 }, { type: 'regex', pattern: '(a+)+' }] };
    expect(issuesOf(definition)).toEqual([{ path: 'conditions/2/pattern', message: expect.stringMatching(/exponential/) }]);
  });
});

describe('rule definitions', () => {
  it('apply defaults', () => {
    expect(ruleDefinition.parse(base)).toEqual({
      name: 'r',
      description: '',
      priority: 0,
      stopProcessing: false,
      conditions: [{ type: 'keywords', terms: ['refund'], mode: 'any', scope: 'last', roles: ['customer'] }],
      actions: [{ type: 'reply_set', replies: [{ text: 'ok' }] }],
    });
  });

  it('reject unknown variables, unbalanced braces, bad bounds and misplaced options with a path', () => {
    expect(templateProblems('Hi {{customer.nam}}')).toEqual([expect.stringMatching(/unknown variable \{\{customer.nam\}\}/)]);
    expect(templateProblems('Hi {{customer.name')).toEqual([expect.stringMatching(/unbalanced/)]);
    expect(templateProblems('Hi {{ customer.first_name | there }}')).toEqual([]);
    expect(issuesOf({ ...base, actions: [{ type: 'tag', tags: ['x'] }, { type: 'reply_set', replies: [{ text: 'ok' }, { text: '{{agent.name}}' }] }] })).toEqual([
      { path: 'actions/1/replies/1/text', message: expect.stringMatching(/unknown variable/) },
    ]);
    expect(issuesOf({ ...base, conditions: [{ type: 'tone', above: 0.5, below: 0.1 }] })).toEqual([{ path: 'conditions/0/above', message: expect.any(String) }]);
    expect(issuesOf({ ...base, conditions: [{ type: 'tone' }] })).toEqual([{ path: 'conditions/0/below', message: expect.any(String) }]);
    expect(issuesOf({ ...base, conditions: [{ type: 'keywords', terms: ['a', 'b'], near: 2 }] })).toEqual([{ path: 'conditions/0/near', message: expect.stringMatching(/mode "all"/) }]);
    expect(issuesOf({ ...base, conditions: [{ type: 'keywords', terms: ['!!!'] }] })).toEqual([{ path: 'conditions/0/terms/0', message: expect.stringMatching(/at least one word/) }]);
    expect(issuesOf({ ...base, conditions: [{ type: 'turn', min: 3, max: 2 }] })).toEqual([{ path: 'conditions/0/max', message: expect.any(String) }]);
    expect(issuesOf({ ...base, conditions: [{ type: 'weather', sunny: true }] })[0]!.path).toMatch(/^conditions\/0/);
    expect(issuesOf({ ...base, conditions: [] })[0]!.path).toBe('conditions');
    expect(issuesOf({ ...base, extra: 1 })).toHaveLength(1);
  });
});
