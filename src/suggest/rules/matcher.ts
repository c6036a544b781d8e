/**
 * Aho–Corasick over stemmed word sequences: every keyword and phrase of every rule of a listing
 * in one automaton, so one pass over a message's stems finds every occurrence of every term —
 * the cost depends on the message's length and the number of hits, not on the number of rules.
 * The alphabet is the stems that occur in some term (a word outside it resets to the root), and
 * a clause boundary resets too, so a phrase never spans punctuation.
 */
export interface Matcher {
  readonly patternCount: number;
  /** The length, in words, of each pattern. */
  readonly lengths: readonly number[];
  /** Calls `onMatch(pattern, startWord)` for every occurrence, in order of their last word. */
  scan(stems: readonly string[], clauses: readonly number[], onMatch: (pattern: number, start: number) => void): void;
}

export function buildMatcher(patterns: ReadonlyArray<readonly string[]>): Matcher {
  const alphabet = new Map<string, number>();
  const next: Array<Map<number, number>> = [new Map()];
  const output: number[][] = [[]];
  const lengths = patterns.map((pattern) => pattern.length);

  patterns.forEach((pattern, index) => {
    let state = 0;
    for (const word of pattern) {
      let symbol = alphabet.get(word);
      if (symbol === undefined) {
        symbol = alphabet.size;
        alphabet.set(word, symbol);
      }
      let target = next[state]!.get(symbol);
      if (target === undefined) {
        target = next.length;
        next.push(new Map());
        output.push([]);
        next[state]!.set(symbol, target);
      }
      state = target;
    }
    output[state]!.push(index);
  });

  // Failure links, breadth first; each state's output also gets the outputs of its failure state
  // (the patterns that end as a suffix of this one), so scanning never walks the failure chain
  // just to report.
  const fail = new Int32Array(next.length);
  const queue: number[] = [];
  for (const child of next[0]!.values()) queue.push(child);
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    for (const [symbol, child] of next[state]!) {
      let candidate = fail[state]!;
      while (candidate !== 0 && !next[candidate]!.has(symbol)) candidate = fail[candidate]!;
      const target = next[candidate]!.get(symbol);
      fail[child] = target !== undefined && target !== child ? target : 0;
      const inherited = output[fail[child]!]!;
      if (inherited.length > 0) output[child] = [...output[child]!, ...inherited];
      queue.push(child);
    }
  }

  return {
    patternCount: patterns.length,
    lengths,
    scan(stems, clauses, onMatch) {
      let state = 0;
      let clause = -1;
      for (let position = 0; position < stems.length; position++) {
        if (clauses[position] !== clause) {
          clause = clauses[position]!;
          state = 0;
        }
        const symbol = alphabet.get(stems[position]!);
        if (symbol === undefined) {
          state = 0;
          continue;
        }
        while (state !== 0 && !next[state]!.has(symbol)) state = fail[state]!;
        state = next[state]!.get(symbol) ?? 0;
        const ends = output[state]!;
        for (let k = 0; k < ends.length; k++) {
          const pattern = ends[k]!;
          onMatch(pattern, position - lengths[pattern]! + 1);
        }
      }
    },
  };
}
