/**
 * The pacers of one process: one per AWS account and service (IAM, STS), shared by every rotation the
 * process runs for that account (the gateway's, or `rekey rotate --all`'s), so that together they keep
 * to the account's quota. The decisions (the rate learned from throttling) are pace-rate.ts's; this file
 * queues the requests waiting for their turn, first come first served, and wakes them with the Clock.
 *
 * The engine sees an `AwsPacer` (providers/aws-iam/pacing.ts): `forAccount(account)` is the one a
 * rotation in that account is given.
 */
import type { AwsPacer, AwsService, PaceOutcome, PaceTicket } from "../providers/aws-iam/pacing.js";
import type { RotationLogger } from "../rotation/index.js";
import { type Clock, systemClock } from "./clock.js";
import {
  advance,
  DEFAULT_PACE,
  delayMs,
  isLearned,
  newPaceState,
  noteServed,
  noteThrottled,
  type PaceSettings,
  type PaceState,
  take,
} from "./pace-rate.js";

export interface PaceReport {
  account: string;
  service: AwsService;
  /** The pace learned from throttling, requests/s; null while not learned (not paced, no ceiling). */
  rate: number | null;
  throttles: number;
  /** Requests waiting for their turn now. */
  waiting: number;
}

export interface Pacers {
  /** The pacer a rotation for `account` takes its turns from. */
  forAccount(account: string): AwsPacer;
  /** Every (account, service) seen so far. */
  report(): PaceReport[];
}

export interface PacersOptions {
  /** Ceiling per account and service, requests/s (the gateway config's throttle.maxRequestsPerSecond). */
  maxRate?: number | undefined;
  clock?: Clock | undefined;
  logger?: RotationLogger | undefined;
  /** Told of each cut of a pace (the rate learned from a throttle): metrics. */
  onRate?: ((r: { account: string; service: AwsService; requestsPerSecond: number }) => void) | undefined;
  /** Tuning (tests). */
  settings?: Partial<PaceSettings> | undefined;
}

interface Pace {
  account: string;
  service: AwsService;
  state: PaceState;
  queue: Array<(ticket: PaceTicket) => void>;
  timer: { handle: unknown; at: number } | undefined;
}

export function createPacers(o: PacersOptions = {}): Pacers {
  const clock = o.clock ?? systemClock;
  const settings: PaceSettings = { ...DEFAULT_PACE, ...o.settings, maxRate: o.maxRate };
  const paces = new Map<string, Pace>();

  const get = (account: string, service: AwsService): Pace => {
    const key = `${service} ${account}`;
    let p = paces.get(key);
    if (!p) {
      p = { account, service, state: newPaceState(settings, clock.now()), queue: [], timer: undefined };
      paces.set(key, p);
    }
    return p;
  };

  const ticket = (p: Pace): PaceTicket => {
    const sentAt = clock.now();
    take(p.state);
    let done = false;
    return {
      done(outcome: PaceOutcome) {
        if (done) return;
        done = true;
        const now = clock.now();
        if (outcome === "served") noteServed(p.state, now);
        if (outcome !== "throttled") return;
        const learned = isLearned(p.state);
        if (noteThrottled(p.state, settings, now, sentAt) === "cut") {
          const fields = { account: p.account, service: p.service, requestsPerSecond: round(p.state.rate) };
          // The first throttle is news (info); the later cuts are the pace's ordinary probing (debug).
          if (learned) o.logger?.debug(fields, "AWS throttled: pacing requests slower");
          else o.logger?.info(fields, "AWS throttled: pacing this account's requests from now on");
          o.onRate?.(fields);
          pump(p);
        }
      },
    };
  };

  /** Lets waiting requests go while there are tokens; arms a timer for the next one. */
  const pump = (p: Pace): void => {
    const now = clock.now();
    advance(p.state, settings, now, p.queue.length > 0);
    while (p.queue.length > 0 && delayMs(p.state) === 0) p.queue.shift()!(ticket(p));
    if (p.timer) {
      clock.clearTimer(p.timer.handle);
      p.timer = undefined;
    }
    if (p.queue.length === 0) return;
    const wait = Math.max(1, delayMs(p.state));
    p.timer = {
      at: now + wait,
      handle: clock.setTimer(() => {
        p.timer = undefined;
        pump(p);
      }, wait),
    };
  };

  return {
    forAccount(account) {
      return {
        take(service) {
          const p = get(account, service);
          if (p.queue.length === 0) {
            advance(p.state, settings, clock.now(), false);
            if (delayMs(p.state) === 0) return Promise.resolve(ticket(p));
          }
          return new Promise<PaceTicket>((resolve) => {
            p.queue.push(resolve);
            if (!p.timer) pump(p);
          });
        },
      };
    },

    report() {
      return [...paces.values()].map((p) => ({
        account: p.account,
        service: p.service,
        rate: isLearned(p.state) ? round(p.state.rate) : null,
        throttles: p.state.throttles,
        waiting: p.queue.length,
      }));
    },
  };
}

const round = (r: number) => Math.round(r * 10) / 10;
