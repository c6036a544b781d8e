import { constants, monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

/**
 * What the process's own runtime costs the requests it serves: garbage-collection pauses by kind
 * and the event loop's delay. On a latency-bound path (the suggest API answers in well under a
 * millisecond of CPU) a single scavenge or mark-compact stalls every request in flight, so an
 * operator asking "why is the p99 high?" needs these next to the request figures. Counters are
 * cumulative since the api was built (moments after the process started): a reader (a dashboard,
 * a benchmark) takes two readings and subtracts; pause durations go into fixed buckets so that
 * subtracting keeps their shape.
 */

/** Upper bounds (ms) of the pause buckets; a last bucket takes the rest. */
export const PAUSE_BUCKETS_MS = [1, 2, 5, 10, 20, 50] as const;

export interface PauseStats {
  count: number;
  totalMs: number;
  maxMs: number;
  /** Pauses ≤ 1, ≤ 2, ≤ 5, ≤ 10, ≤ 20, ≤ 50 ms and longer (PAUSE_BUCKETS_MS). */
  buckets: number[];
}

export interface RuntimeStatsView {
  uptimeSeconds: number;
  heap: { usedBytes: number; totalBytes: number; externalBytes: number };
  gc: { scavenge: PauseStats; markCompact: PauseStats; incremental: PauseStats; weakCallbacks: PauseStats };
  /** Since the process started (sampled every 10 ms). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /**
   * Time the event loop spent running JavaScript and callbacks (active) or waiting for I/O (idle),
   * since the process started. Between two readings, active ÷ (active + idle) is how busy the one
   * thread that serves every request was: near 1, the api itself is what limits; well below, the
   * requests are waiting on something else (the database, the network).
   */
  eventLoop: { activeMs: number; idleMs: number };
}

type GcKind = keyof RuntimeStatsView['gc'];

const KIND_OF: Record<number, GcKind> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakCallbacks',
};

const emptyPauses = (): PauseStats => ({ count: 0, totalMs: 0, maxMs: 0, buckets: new Array<number>(PAUSE_BUCKETS_MS.length + 1).fill(0) });

export interface RuntimeStats {
  snapshot(): RuntimeStatsView;
  stop(): void;
}

function eventLoopTimes(): RuntimeStatsView['eventLoop'] {
  const { active, idle } = performance.eventLoopUtilization();
  return { activeMs: Math.round(active * 1000) / 1000, idleMs: Math.round(idle * 1000) / 1000 };
}

export function createRuntimeStats(): RuntimeStats {
  const gc: RuntimeStatsView['gc'] = { scavenge: emptyPauses(), markCompact: emptyPauses(), incremental: emptyPauses(), weakCallbacks: emptyPauses() };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = KIND_OF[((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind ?? -1];
      if (!kind) continue;
      const pauses = gc[kind];
      const ms = entry.duration;
      pauses.count++;
      pauses.totalMs += ms;
      if (ms > pauses.maxMs) pauses.maxMs = ms;
      let bucket = PAUSE_BUCKETS_MS.findIndex((bound) => ms <= bound);
      if (bucket < 0) bucket = PAUSE_BUCKETS_MS.length;
      pauses.buckets[bucket]!++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    snapshot() {
      const memory = process.memoryUsage();
      const copy = (pauses: PauseStats): PauseStats => ({ count: pauses.count, totalMs: round(pauses.totalMs), maxMs: round(pauses.maxMs), buckets: [...pauses.buckets] });
      return {
        uptimeSeconds: round(process.uptime()),
        heap: { usedBytes: memory.heapUsed, totalBytes: memory.heapTotal, externalBytes: memory.external },
        gc: { scavenge: copy(gc.scavenge), markCompact: copy(gc.markCompact), incremental: copy(gc.incremental), weakCallbacks: copy(gc.weakCallbacks) },
        // The histogram is in ns; an empty one answers NaN for its percentiles.
        eventLoopDelayMs: {
          p50: loop.count > 0 ? round(loop.percentile(50) / 1e6) : 0,
          p99: loop.count > 0 ? round(loop.percentile(99) / 1e6) : 0,
          max: loop.count > 0 ? round(loop.max / 1e6) : 0,
        },
        eventLoop: eventLoopTimes(),
      };
    },
    stop() {
      observer.disconnect();
      loop.disable();
    },
  };
}
