/**
 * Regular expressions in rules run on every message, in the API process, with JavaScript's
 * backtracking engine: one pattern like `(a+)+$` can hold the event loop for seconds on a
 * 30-character input (ReDoS). There is no linear-time engine among the dependencies, so two
 * measures together:
 *
 * 1. Patterns are screened when a rule is saved: a repeated group (`*`, `+`, `{n,}`, `{n,m}` with
 *    m > 1) may contain neither a quantifier nor an alternation — the shapes behind exponential
 *    backtracking ((a+)+, (a|aa)*, (\w+\s?)*) — and backreferences are refused. The screen is
 *    conservative: it also refuses some harmless patterns, and says how to rewrite them.
 * 2. A pattern only ever sees the first MAX_REGEX_INPUT characters of a message, which bounds
 *    what the screen lets through (polynomial cases such as `.*a.*b`) to ~10⁶ steps.
 */
export const MAX_REGEX_INPUT = 1_000;
export const MAX_REGEX_LENGTH = 300;

export function regexFlags(caseSensitive: boolean): string {
  return caseSensitive ? 'u' : 'iu';
}

interface Group {
  quantified: boolean;
  alternation: boolean;
}

const COUNTED = /^\{(\d+)(,(\d*))?\}/;

/** Why the pattern is refused, or undefined when it may be used. */
export function regexProblem(pattern: string, flags: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `a pattern has at most ${MAX_REGEX_LENGTH} characters`;
  try {
    new RegExp(pattern, flags);
  } catch (error) {
    return `not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
  const stack: Group[] = [{ quantified: false, alternation: false }];
  /** The atom a following quantifier applies to: risky when it is a group with a quantifier or an alternation inside. */
  let lastAtomRisky = false;
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i]!;
    const top = stack[stack.length - 1]!;
    if (char === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && pattern[i + 2] === '<')) {
        return 'backreferences (\\1, \\k<name>) are not allowed: they force backtracking';
      }
      if ((next === 'p' || next === 'P' || next === 'u') && pattern[i + 2] === '{') i = pattern.indexOf('}', i) + 1;
      else if (next === 'u') i += 6;
      else if (next === 'x') i += 4;
      else if (next === 'c') i += 3;
      else i += 2;
      lastAtomRisky = false;
      continue;
    }
    if (char === '[') {
      i++;
      if (pattern[i] === '^') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      lastAtomRisky = false;
      continue;
    }
    if (char === '(') {
      stack.push({ quantified: false, alternation: false });
      i++;
      if (pattern[i] === '?') {
        // (?: (?= (?! (?<= (?<! (?<name>
        i++;
        if (pattern[i] === '<' && pattern[i + 1] !== '=' && pattern[i + 1] !== '!') i = pattern.indexOf('>', i) + 1;
        else i += pattern[i] === '<' ? 2 : 1;
      }
      lastAtomRisky = false;
      continue;
    }
    if (char === ')') {
      const group = stack.length > 1 ? stack.pop()! : top;
      const outer = stack[stack.length - 1]!;
      // What a group holds, its enclosing groups hold too.
      outer.quantified ||= group.quantified;
      outer.alternation ||= group.alternation;
      lastAtomRisky = group.quantified || group.alternation;
      i++;
      continue;
    }
    if (char === '|') {
      top.alternation = true;
      lastAtomRisky = false;
      i++;
      continue;
    }
    let repeats: boolean | undefined;
    let length = 1;
    if (char === '*' || char === '+') repeats = true;
    else if (char === '?') repeats = false;
    else if (char === '{') {
      const counted = COUNTED.exec(pattern.slice(i));
      if (counted) {
        length = counted[0].length;
        const min = Number(counted[1]);
        const max = counted[2] === undefined ? min : counted[3] === '' ? Infinity : Number(counted[3]);
        repeats = max > 1;
      }
    }
    if (repeats === undefined) {
      lastAtomRisky = false;
      i++;
      continue;
    }
    if (repeats && lastAtomRisky) {
      return (
        `the repeated group ending at character ${i} contains a quantifier or an alternation (like (a+)+ or (a|b)*), ` +
        'which can take exponential time; repeat a character class instead (e.g. [\\w\\s]+) or drop the outer repetition'
      );
    }
    top.quantified = true;
    i += length;
    if (pattern[i] === '?') i++; // lazy modifier
    lastAtomRisky = false;
  }
  return undefined;
}
