import type { Clock } from './clock';

/**
 * A clock for tests: `sleep` records the delay asked for and advances time by it at once, so
 * tests assert the exact waits (backoff, Retry-After, pacing) without waiting on the wall clock.
 */
export interface FakeClock extends Clock {
  /** Every delay passed to sleep(), in order. */
  readonly sleeps: number[];
  advance(ms: number): void;
}

export function fakeClock(start = Date.UTC(2026, 1, 18, 8, 0, 0)): FakeClock {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      t += ms;
    },
  };
}
