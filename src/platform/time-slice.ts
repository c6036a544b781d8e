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

export function createTimeSlice(budgetMs = DEFAULT_SLICE_MS): TimeSlice {
  let started = performance.now();
  return {
    due: () => performance.now() - started >= budgetMs,
    // Two immediates: one queued from an I/O callback runs in the same loop iteration, before
    // the next poll for I/O; the second is queued from the check phase and so runs only after the
    // loop has gone round once (timers, then the requests that arrived meanwhile).
    pause: () =>
      new Promise<void>((resolve) =>
        setImmediate(() =>
          setImmediate(() => {
            started = performance.now();
            resolve();
          }),
        ),
      ),
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
