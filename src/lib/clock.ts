/** Time is a parameter: production uses the system clock, tests a settable one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface TestClock extends Clock {
  set(at: Date | string): void;
  advanceMs(ms: number): void;
}

export function createTestClock(start: Date | string = '2026-01-05T09:00:00Z'): TestClock {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    set: (at) => {
      current = new Date(at).getTime();
    },
    advanceMs: (ms) => {
      current += ms;
    },
  };
}
