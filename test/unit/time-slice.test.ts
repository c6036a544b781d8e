import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTimeSlice, runSliced, runToEnd } from '../../src/platform/index.ts';
import { countLoopTurns } from '../support/event-loop.ts';

const busyFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('time slice', () => {
  it('is due only once its budget of work has run, and a pause starts a new budget', async () => {
    // A budget long enough that being descheduled for a moment on a busy machine does not spend it.
    const slice = createTimeSlice(50);
    expect(slice.due()).toBe(false);
    busyFor(55);
    expect(slice.due()).toBe(true);
    await slice.pause();
    expect(slice.due()).toBe(false);
  });

  it('lets timers and I/O that became due during the work run before it goes on, from any phase', async () => {
    let peer: net.Socket | undefined;
    const server = net.createServer((socket) => (peer = socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((resolve) => client.once('connect', resolve));
    while (!peer) await new Promise((resolve) => setImmediate(resolve));
    const order: string[] = [];
    client.on('data', (data) => {
      if (data.toString().includes('ping')) order.push('reply');
    });
    const slice = createTimeSlice(0);
    // Started from a timer, an immediate and an I/O callback: the three phases work resumes in.
    const phases = {
      timer: (go: () => void) => setTimeout(go, 0),
      immediate: (go: () => void) => setImmediate(go),
      io: (go: () => void) => client.once('data', go),
    };
    for (const [phase, schedule] of Object.entries(phases)) {
      order.length = 0;
      if (phase === 'io') peer.write('go');
      await new Promise<void>((done) =>
        schedule(() => {
          setTimeout(() => order.push('timer'), 0);
          peer!.write('ping'); // in the client's socket buffer at once
          busyFor(20); // and the timer falls due meanwhile
          void slice.pause().then(() => {
            order.push('more work');
            done();
          });
        }),
      );
      expect(order, phase).toEqual(expect.arrayContaining(['timer', 'reply', 'more work']));
      expect(order.indexOf('timer'), phase).toBeLessThan(order.indexOf('more work'));
      expect(order.indexOf('reply'), phase).toBeLessThan(order.indexOf('more work'));
    }
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('with a rest, takes at most its share of the event loop however much other work is waiting', async () => {
    /** Works in 0.5 ms steps for `ms`, pausing when the slice says so; the share of the time spent working. */
    const workFor = async (slice: ReturnType<typeof createTimeSlice>, ms: number) => {
      const started = performance.now();
      let worked = 0;
      while (performance.now() - started < ms) {
        const step = performance.now();
        busyFor(0.5);
        worked += performance.now() - step;
        if (slice.due()) await slice.pause();
      }
      return worked / (performance.now() - started);
    };
    let timerRuns = 0;
    const timer = setInterval(() => timerRuns++, 1);
    // 3 ms of work, then at least 9 ms for everything else: at most a quarter of the loop.
    const share = await workFor(createTimeSlice(3, 9), 300);
    clearInterval(timer);
    expect(share).toBeLessThan(0.35);
    // Timers ran during the rests (a 1 ms interval over ~300 ms).
    expect(timerRuns).toBeGreaterThan(10);
    // Without a rest the same work keeps the thread nearly to itself: a pause is one turn of the loop.
    expect(await workFor(createTimeSlice(3), 100)).toBeGreaterThan(0.6);
  });

  it('runs steps written once either to the end at once or in slices, with the same result', async () => {
    function* squares(n: number) {
      let sum = 0;
      for (let i = 1; i <= n; i++) {
        yield;
        sum += i * i;
      }
      return sum;
    }
    expect(runToEnd(squares(10))).toBe(385);
    const { result, turns } = await countLoopTurns(() => runSliced(squares(10), createTimeSlice(0)));
    expect(result).toBe(385);
    // A budget of 0 pauses at every step: other work ran between them.
    expect(turns).toBeGreaterThanOrEqual(10);
  });
});
