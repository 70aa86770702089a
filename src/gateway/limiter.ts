/**
 * How many rotations run at once: at most `maxConcurrent` overall and `maxPerAccount` per AWS account
 * (IAM's request quota is per account, so one busy account must not starve the others, and a fleet
 * in one account must not exceed its quota).
 *
 * When IAM throttles an account (the engine reports it with `onThrottle`), its concurrency is halved
 * and it takes no new work for a short pause (`pauseMs`) so the quota's bucket refills; the limit then
 * grows by one every `decayMs` without a throttle (additive increase, multiplicative decrease, as TCP
 * does). Throttles reported while the account is paused are the echo of requests sent before the pause
 * and change nothing. The pause does not grow: the engine already backs off each throttled request
 * exponentially, and growing account-wide pauses starved fleets (measured: 32 rotations in 60 s against
 * a 50 requests/s quota; with a fixed pause, 200 in 13 s against 100 requests/s).
 *
 * Waiters are served first come, first served, except that a waiter whose account is blocked does not
 * hold up the others. Time comes from an injectable Clock.
 */
import { conflict } from "../errors.js";
import { type Clock, systemClock } from "./clock.js";

export interface ThrottleOptions {
  /** How long an account takes no new work after a throttle (default 0.5 s). */
  pauseMs?: number;
  /** Every this long without a throttle: limit +1 (default 10 s). */
  decayMs?: number;
}

export interface LimiterOptions {
  maxConcurrent: number;
  maxPerAccount: number;
  throttle?: ThrottleOptions;
  clock?: Clock;
}

export interface AccountState {
  active: number;
  queued: number;
  /** Concurrency allowed now (≤ maxPerAccount). */
  limit: number;
  /** How long until the account may start work again (0 = not paused). */
  pausedForMs: number;
}

export interface Limiter {
  /** Run `fn` when a slot for `account` is free; the slot is released however `fn` ends. */
  run<T>(account: string, fn: () => Promise<T>): Promise<T>;
  /** Wait for a slot; call the returned function (once; more calls do nothing) to release it. */
  acquire(account: string): Promise<() => void>;
  /** IAM throttled a request of `account`: pause it and halve its concurrency. */
  onThrottle(account: string): void;
  account(account: string): AccountState;
  stats(): { active: number; queued: number };
  /** Take no new work: queued and later acquisitions fail with a conflict error. Running work goes on. */
  close(): void;
  /** Resolves when no work is running (use after `close` to drain). */
  idle(): Promise<void>;
}

interface Account {
  active: number;
  /** The limit as of the last throttle (recovers lazily with time). */
  baseLimit: number;
  lastThrottleAt: number;
  pausedUntil: number;
}

interface Waiter {
  account: string;
  grant: (release: () => void) => void;
  reject: (err: Error) => void;
}

export function createLimiter(opts: LimiterOptions): Limiter {
  const clock = opts.clock ?? systemClock;
  const maxConcurrent = Math.max(1, Math.floor(opts.maxConcurrent));
  const maxPerAccount = Math.max(1, Math.floor(opts.maxPerAccount));
  const pauseMs = Math.max(0, opts.throttle?.pauseMs ?? 500);
  const decayMs = Math.max(1, opts.throttle?.decayMs ?? 10_000);

  const accounts = new Map<string, Account>();
  let queue: Waiter[] = [];
  let active = 0;
  let closed = false;
  let idleWaiters: Array<() => void> = [];
  let timer: { handle: unknown; at: number } | undefined;

  const get = (name: string): Account => {
    let a = accounts.get(name);
    if (!a) {
      a = { active: 0, baseLimit: maxPerAccount, lastThrottleAt: -Infinity, pausedUntil: 0 };
      accounts.set(name, a);
    }
    return a;
  };

  /** Decay periods since the last throttle. */
  const periods = (a: Account, now: number) =>
    a.lastThrottleAt === -Infinity ? Infinity : Math.floor((now - a.lastThrottleAt) / decayMs);
  const limitOf = (a: Account, now: number) => Math.min(maxPerAccount, a.baseLimit + periods(a, now));

  const pump = () => {
    const now = clock.now();
    let earliestPause = Infinity;
    const waiting: Waiter[] = [];
    for (const w of queue) {
      const a = get(w.account);
      if (active >= maxConcurrent) {
        waiting.push(w);
        continue;
      }
      if (a.pausedUntil > now) {
        earliestPause = Math.min(earliestPause, a.pausedUntil);
        waiting.push(w);
        continue;
      }
      if (a.active >= limitOf(a, now)) {
        waiting.push(w);
        continue;
      }
      active++;
      a.active++;
      w.grant(releaser(w.account));
    }
    queue = waiting;
    if (earliestPause < Infinity && (!timer || timer.at > earliestPause)) {
      if (timer) clock.clearTimer(timer.handle);
      timer = {
        at: earliestPause,
        handle: clock.setTimer(() => {
          timer = undefined;
          pump();
        }, earliestPause - now),
      };
    }
  };

  const releaser = (name: string) => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      active--;
      get(name).active--;
      pump();
      if (active === 0) {
        const ws = idleWaiters;
        idleWaiters = [];
        for (const r of ws) r();
      }
    };
  };

  const stopping = () =>
    conflict("the gateway is stopping and takes no new work", "start it again to resume scheduled rotations");

  const limiter: Limiter = {
    acquire(account) {
      if (closed) return Promise.reject(stopping());
      return new Promise((grant, reject) => {
        queue.push({ account, grant, reject });
        pump();
      });
    },

    async run(account, fn) {
      const release = await limiter.acquire(account);
      try {
        return await fn();
      } finally {
        release();
      }
    },

    onThrottle(account) {
      const now = clock.now();
      const a = get(account);
      if (a.pausedUntil > now) return; // an echo of requests sent before this pause
      a.baseLimit = Math.max(1, Math.floor(limitOf(a, now) / 2));
      a.lastThrottleAt = now;
      a.pausedUntil = now + pauseMs;
      pump();
    },

    account(name) {
      const now = clock.now();
      const a = get(name);
      return {
        active: a.active,
        queued: queue.filter((w) => w.account === name).length,
        limit: limitOf(a, now),
        pausedForMs: Math.max(0, a.pausedUntil - now),
      };
    },

    stats: () => ({ active, queued: queue.length }),

    close() {
      closed = true;
      const dropped = queue;
      queue = [];
      if (timer) clock.clearTimer(timer.handle);
      timer = undefined;
      for (const w of dropped) w.reject(stopping());
    },

    idle() {
      return active === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r));
    },
  };
  return limiter;
}
