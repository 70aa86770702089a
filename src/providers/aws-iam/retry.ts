/**
 * Bounded retries with exponential backoff and jitter, done here rather than by the SDK (whose
 * clients run with maxAttempts 1) because one call is not idempotent: a CreateAccessKey that
 * timed out may have created a key whose secret we will never see. Retrying it blindly could make a
 * second key (or hit the 2-key limit), so for it only "certainly not sent" failures and throttling
 * (AWS rejected the request before acting) are retried; anything else is reported as an unknown
 * outcome and the caller lists the keys before deciding.
 */
import { type AwsFailure, certainlyNotSent, describeFailure, isServerError, isThrottling } from "./errors.js";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff before retry n is drawn from [cap/2, cap] with cap = min(maxDelayMs, baseDelayMs * 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 5000 };

export interface RetryOptions {
  policy: RetryPolicy;
  /** False for CreateAccessKey: 5xx and network errors after sending are not retried. */
  idempotent: boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called before each retry (logging; renewing a lease). */
  onRetry?: (info: { attempt: number; delayMs: number; failure: AwsFailure }) => void;
}

/** What `withRetry` throws when it gives up: the last error and what we know about it. */
export class RetryGaveUp extends Error {
  readonly attempts: number;
  readonly failure: AwsFailure;
  /** A non-idempotent call failed in a way that leaves its effect unknown. */
  readonly outcomeUnknown: boolean;
  readonly last: unknown;

  constructor(last: unknown, failure: AwsFailure, attempts: number, outcomeUnknown: boolean) {
    super(`gave up after ${attempts} attempt(s): ${failure.code}`);
    this.name = "RetryGaveUp";
    this.last = last;
    this.failure = failure;
    this.attempts = attempts;
    this.outcomeUnknown = outcomeUnknown;
  }
}

export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export type RetryDecision = "retry" | "fail" | "unknown";

/** Pure: what to do with a failure. "unknown" = a non-idempotent call may have taken effect. */
export function classify(failure: AwsFailure, idempotent: boolean): RetryDecision {
  if (isThrottling(failure)) return "retry";
  if (failure.network || isServerError(failure)) {
    if (idempotent || certainlyNotSent(failure)) return "retry";
    return "unknown";
  }
  return "fail";
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const failure = describeFailure(err);
      const decision = classify(failure, opts.idempotent);
      if (decision === "unknown") throw new RetryGaveUp(err, failure, attempt, true);
      if (decision === "fail" || attempt >= opts.policy.maxAttempts) {
        throw new RetryGaveUp(err, failure, attempt, false);
      }
      const delayMs = backoffDelay(attempt, opts.policy, random);
      opts.onRetry?.({ attempt, delayMs, failure });
      await sleep(delayMs);
    }
  }
}
