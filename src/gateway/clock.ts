/**
 * Time as a dependency: the gateway's timing logic (limiter pauses, scheduler ticks) takes a Clock so
 * tests drive it with a fake one instead of waiting on wall-clock time.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // Not unref'd: work waiting out a pause must keep the process alive (close() clears the timer).
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};
