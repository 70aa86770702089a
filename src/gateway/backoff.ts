/**
 * Exponential backoff with "equal jitter", shared by webhook delivery and rotation retries.
 * Pure: the random source is a parameter, so tests pin it.
 */

export interface BackoffPolicy {
  /** Cap for the first retry; doubles at each further one. */
  baseDelayMs: number;
  /** No delay is ever longer than this. */
  maxDelayMs: number;
}

/**
 * The delay before retry number `retry` (1 = the first retry): drawn from [cap/2, cap] with
 * cap = min(maxDelayMs, baseDelayMs * 2^(retry-1)). Half the cap is fixed so a retry never comes
 * back at once; the other half is random so a fleet failing together does not retry together.
 *
 * @example backoffDelay(3, { baseDelayMs: 100, maxDelayMs: 10_000 }, () => 1) // 400
 */
export function backoffDelay(
  retry: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(30, Math.max(0, Math.floor(retry) - 1));
  const cap = Math.max(0, Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exp));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(cap / 2 + (r * cap) / 2);
}
