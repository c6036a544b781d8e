/**
 * Lets long synchronous work share the event loop with requests. The work calls `due()` between
 * small steps (a conversation folded, a row appended) and, when it answers true, awaits `pause()`,
 * so that timers and the requests that arrived meanwhile run before the work goes on. A budget in
 * milliseconds instead of a step count bounds what a request waits however large the steps are;
 * `due()` is one clock read, cheap enough to call per row.
 */
export interface TimeSlice {
  /** True once `budgetMs` of work has run since the last pause (or since the slice was made). */
  due(): boolean;
  /** Yields until the event loop has gone round once (timers and I/O included); starts a new budget. */
  pause(): Promise<void>;
}

/** The default budget: a request waits at most about this long behind background work. */
const DEFAULT_SLICE_MS = 4;

/**
 * `restMs` > 0: every pause lasts at least that long (a timer) instead of one turn of the loop, so
 * the work takes at most budgetMs / (budgetMs + restMs) of the event loop however busy the process
 * is — for background work that must keep up with a load without competing with its requests.
 */
export function createTimeSlice(budgetMs = DEFAULT_SLICE_MS, restMs = 0): TimeSlice {
  let started = performance.now();
  const restart = (resolve: () => void) => {
    started = performance.now();
    resolve();
  };
  return {
    due: () => performance.now() - started >= budgetMs,
    pause:
      restMs > 0
        ? () => new Promise<void>((resolve) => setTimeout(restart, restMs, resolve))
        : // Two immediates: one queued from an I/O callback runs in the same loop iteration, before
          // the next poll for I/O; the second is queued from the check phase and so runs only after
          // the loop has gone round once (timers, then the requests that arrived meanwhile).
          () => new Promise<void>((resolve) => setImmediate(() => setImmediate(restart, resolve))),
  };
}

/**
 * Work written once as a generator that yields between small steps, so it can run either to the
 * end at once (`runToEnd`: builds and tools that own their process) or in time slices
 * (`runSliced`: the same work in a process that serves requests).
 */
export type Steps<T> = Generator<void, T, void>;

export function runToEnd<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

export async function runSliced<T>(steps: Steps<T>, slice: TimeSlice = createTimeSlice()): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (slice.due()) await slice.pause();
  }
}
