/**
 * How fast one AWS account's requests to one service may go: the pure decisions of the pacer
 * (pacer.ts does the waiting). A token bucket whose rate is learned from throttling:
 *
 * - Until AWS first throttles, requests are not paced (rate Infinity; or, with a configured ceiling,
 *   a full bucket at that rate): a single rotation's three or four calls never wait.
 * - A throttle cuts the rate to `decrease` × the rate the account actually served us over the last
 *   `windowMs` (or the rate, when lower): that measured rate is the quota's share left to us, so the
 *   first throttle seeds the pace at once instead of halving down to it. The bucket is emptied, as the
 *   account's own bucket is. Throttles of requests sent before the last cut are its echo and change
 *   nothing (one cut per overshoot, not one per request in flight).
 * - While requests wait for their turn (demand above the pace), the rate probes upward by `probe` of
 *   itself per second (at least `minProbe` requests/s per second), up to the ceiling: the quota may have
 *   grown, or the neighbours gone quiet. Idle, it stays where it is.
 *
 * Multiplicative decrease and additive increase, as TCP does, but of a rate rather than of a number of
 * requests in flight: concurrency is a poor proxy for a requests-per-second quota (a rotation spends
 * most of its time in the vault, not waiting on IAM). Times are milliseconds from an injected clock.
 */

export interface PaceSettings {
  /** Ceiling, and starting rate, in requests/s; undefined: none (not paced until the first throttle). */
  maxRate?: number | undefined;
  /** The learned rate never goes below this (requests/s). */
  minRate: number;
  /** A throttle's cut: new rate = decrease × min(rate, measured). */
  decrease: number;
  /** While requests wait: +probe × rate per second... */
  probe: number;
  /** ...and at least this many requests/s per second. */
  minProbe: number;
  /** The served rate is measured over this window. */
  windowMs: number;
  /** The bucket holds this many seconds' worth of the rate (at least one token). */
  burstSeconds: number;
  /** Tokens in a fresh bucket (a single rotation's calls go at once, even under a low ceiling). */
  startTokens: number;
}

export const DEFAULT_PACE: Readonly<PaceSettings> = Object.freeze({
  minRate: 0.5,
  decrease: 0.9,
  probe: 0.05,
  minProbe: 0.5,
  windowMs: 1000,
  burstSeconds: 0.1,
  startTokens: 10,
});

/** The served-request times kept for the measured rate (enough for a second at 500 requests/s). */
const RING = 512;

export interface PaceState {
  /** Requests/s; Infinity until learned (and no ceiling). */
  rate: number;
  tokens: number;
  updatedAt: number;
  /** When the rate was last cut; throttles of requests sent before it are its echo. */
  cutAt: number;
  /** Times of served requests (a ring of RING, `next` the oldest once full). */
  served: number[];
  next: number;
  throttles: number;
  cuts: number;
}

export function newPaceState(s: PaceSettings, now: number): PaceState {
  const rate = s.maxRate ?? Number.POSITIVE_INFINITY;
  return {
    rate,
    tokens: Math.max(s.startTokens, capacity(s, rate)),
    updatedAt: now,
    cutAt: Number.NEGATIVE_INFINITY,
    served: [],
    next: 0,
    throttles: 0,
    cuts: 0,
  };
}

export const isLearned = (st: PaceState): boolean => Number.isFinite(st.rate);

function capacity(s: PaceSettings, rate: number): number {
  return Number.isFinite(rate) ? Math.max(1, rate * s.burstSeconds) : Number.POSITIVE_INFINITY;
}

/**
 * Time passes to `now`: the rate probes upward if requests were `waiting` meanwhile, then the bucket
 * refills (up to its capacity; a fresh bucket's extra start tokens are kept, not topped up).
 */
export function advance(st: PaceState, s: PaceSettings, now: number, waiting: boolean): void {
  const dt = Math.max(0, now - st.updatedAt) / 1000;
  st.updatedAt = Math.max(st.updatedAt, now);
  if (!Number.isFinite(st.rate) || dt === 0) return;
  if (waiting) {
    const grown = st.rate + Math.max(s.minProbe, st.rate * s.probe) * dt;
    st.rate = Math.min(s.maxRate ?? Number.POSITIVE_INFINITY, grown);
  }
  const cap = capacity(s, st.rate);
  if (st.tokens < cap) st.tokens = Math.min(cap, st.tokens + st.rate * dt);
}

/** How long until a request may go (0: now). */
export function delayMs(st: PaceState): number {
  if (!Number.isFinite(st.rate) || st.tokens >= 1) return 0;
  return Math.ceil(((1 - st.tokens) / st.rate) * 1000);
}

/** A request goes now (the caller checked `delayMs` is 0): its token is spent. */
export function take(st: PaceState): void {
  if (Number.isFinite(st.rate)) st.tokens -= 1;
}

/** The account answered a request (not a throttle): counted for the measured rate. */
export function noteServed(st: PaceState, now: number): void {
  if (st.served.length < RING) st.served.push(now);
  else {
    st.served[st.next] = now;
    st.next = (st.next + 1) % RING;
  }
}

/**
 * Requests/s the account served us over the last window (or since the first served request, when
 * more recent); undefined when none was served in it.
 */
export function servedRate(st: PaceState, s: PaceSettings, now: number): number | undefined {
  const from = now - s.windowMs;
  let n = 0;
  let oldest = Number.POSITIVE_INFINITY;
  for (const t of st.served) {
    if (t < from) continue;
    n++;
    if (t < oldest) oldest = t;
  }
  if (n === 0) return undefined;
  // Span: the whole window, unless every served request we know of is younger (just started, or the
  // ring holds less than the window at this rate); never under a tenth of the window.
  const full = st.served.length === RING && oldest >= from;
  const firstEver = Math.min(...st.served);
  const start = full ? oldest : Math.max(from, firstEver);
  const span = Math.max(s.windowMs / 10, now - start);
  return (n * 1000) / span;
}

/**
 * AWS throttled a request sent at `sentAt`. Returns "cut" when the rate was cut (to `st.rate`),
 * "echo" when the request was sent before the last cut (nothing changes).
 */
export function noteThrottled(st: PaceState, s: PaceSettings, now: number, sentAt: number): "cut" | "echo" {
  st.throttles++;
  if (sentAt < st.cutAt) return "echo";
  const measured = servedRate(st, s, now);
  const base = Math.min(st.rate, measured ?? s.minRate);
  st.rate = Math.max(s.minRate, base * s.decrease);
  if (s.maxRate !== undefined) st.rate = Math.min(st.rate, s.maxRate);
  st.tokens = 0;
  st.updatedAt = Math.max(st.updatedAt, now);
  st.cutAt = now;
  st.cuts++;
  return "cut";
}
