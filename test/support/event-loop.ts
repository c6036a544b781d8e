/**
 * Runs `work` while a 5 ms timer watches the event loop, and reports the longest wait between two
 * of its turns: what a request arriving meanwhile would have waited. A block right at the end is
 * counted too (the caller's continuation would otherwise run before the overdue timer).
 */
export async function withLoopProbe<T>(work: () => Promise<T>): Promise<{ result: T; longestGapMs: number }> {
  let last = performance.now();
  let longestGapMs = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, 5);
  try {
    const result = await work();
    longestGapMs = Math.max(longestGapMs, performance.now() - last);
    return { result, longestGapMs };
  } finally {
    clearInterval(probe);
  }
}

/** Runs `work` and counts the event-loop turns other work got meanwhile (0: it never let go). */
export async function countLoopTurns<T>(work: () => T | Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let counting = true;
  const count = () => {
    if (!counting) return;
    turns++;
    setImmediate(count);
  };
  setImmediate(count);
  try {
    return { result: await work(), turns };
  } finally {
    counting = false;
  }
}
