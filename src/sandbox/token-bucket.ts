/**
 * The token bucket IAM throttles with: `rate` tokens per second refill a bucket of `burst` tokens;
 * a request takes one token or is throttled. Pure: the caller keeps one bucket per account and
 * passes the clock in.
 */

export interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** A full bucket, so that a fresh account starts with its burst. */
export function newBucket(burst: number, now: number): Bucket {
  return { tokens: burst, updatedAt: now };
}

/** Refills for the time elapsed, then takes one token if there is one. Returns false when throttled. */
export function takeToken(bucket: Bucket, now: number, rate: number, burst: number): boolean {
  const elapsed = Math.max(0, now - bucket.updatedAt);
  bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * rate) / 1000);
  bucket.updatedAt = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return true;
  }
  return false;
}

/** The burst to use when none is configured: one second's worth of requests, at least one. */
export function effectiveBurst(rate: number, burst: number): number {
  return burst > 0 ? burst : Math.max(1, Math.ceil(rate));
}
