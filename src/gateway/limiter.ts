/**
 * How many rotations run at once: at most `maxConcurrent` overall and `maxPerAccount` per AWS account
 * (so that one busy account does not starve the others).
 *
 * It bounds work in flight, not requests per second: keeping to an account's IAM quota is the pacer's
 * job (pacer.ts, every AWS request takes its turn there). This limiter used to halve an account's
 * concurrency and pause it on each throttle; measured, that kept fleets at about half the quota (a
 * rotation spends most of its time in the vault, so fewer rotations at once means fewer requests than
 * the quota allows, and each pause left the quota unused).
 *
 * Waiters are served first come, first served, except that a waiter whose account is full does not
 * hold up the others.
 */
import { conflict } from "../errors.js";

export interface LimiterOptions {
  maxConcurrent: number;
  maxPerAccount: number;
}

export interface AccountState {
  active: number;
  queued: number;
}

export interface Limiter {
  /** Run `fn` when a slot for `account` is free; the slot is released however `fn` ends. */
  run<T>(account: string, fn: () => Promise<T>): Promise<T>;
  /** Wait for a slot; call the returned function (once; more calls do nothing) to release it. */
  acquire(account: string): Promise<() => void>;
  account(account: string): AccountState;
  stats(): { active: number; queued: number };
  /** Take no new work: queued and later acquisitions fail with a conflict error. Running work goes on. */
  close(): void;
  /** Resolves when no work is running (use after `close` to drain). */
  idle(): Promise<void>;
}

interface Account {
  active: number;
}

interface Waiter {
  account: string;
  grant: (release: () => void) => void;
  reject: (err: Error) => void;
}

export function createLimiter(opts: LimiterOptions): Limiter {
  const maxConcurrent = Math.max(1, Math.floor(opts.maxConcurrent));
  const maxPerAccount = Math.max(1, Math.floor(opts.maxPerAccount));

  const accounts = new Map<string, Account>();
  let queue: Waiter[] = [];
  let active = 0;
  let closed = false;
  let idleWaiters: Array<() => void> = [];

  const get = (name: string): Account => {
    let a = accounts.get(name);
    if (!a) {
      a = { active: 0 };
      accounts.set(name, a);
    }
    return a;
  };

  const pump = () => {
    const waiting: Waiter[] = [];
    for (const w of queue) {
      const a = get(w.account);
      if (active >= maxConcurrent || a.active >= maxPerAccount) {
        waiting.push(w);
        continue;
      }
      active++;
      a.active++;
      w.grant(releaser(w.account));
    }
    queue = waiting;
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

    account(name) {
      return { active: get(name).active, queued: queue.filter((w) => w.account === name).length };
    },

    stats: () => ({ active, queued: queue.length }),

    close() {
      closed = true;
      const dropped = queue;
      queue = [];
      for (const w of dropped) w.reject(stopping());
    },

    idle() {
      return active === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r));
    },
  };
  return limiter;
}
