/**
 * Prove a new key works before any old key is deleted or deactivated. IAM is eventually consistent:
 * a brand-new key is often refused with InvalidClientTokenId for a few seconds (reports: ~5 s mean,
 * up to ~15 s) and AWS has no "propagated" call, so we poll sts:GetCallerIdentity with the new key
 * every `intervalMs` up to `timeoutMs` instead of sleeping a fixed time.
 */
import { AwsCallError } from "./errors.js";
import type { IamKeyPort, KeyCredentials } from "./port.js";

export const DEFAULT_VERIFY_TIMEOUT_MS = 60_000;
export const DEFAULT_VERIFY_INTERVAL_MS = 1_500;

/** What a not-yet-propagated key gets. */
const PROPAGATING = new Set(["InvalidClientTokenId", "InvalidAccessKeyId", "UnrecognizedClient"]);

export interface VerifyOptions {
  userName: string;
  timeoutMs: number;
  intervalMs: number;
  /** Called between polls (the engine renews its lease). */
  onTick?: (() => void) | undefined;
  /** Ctrl-C: stop polling at once (the outcome says `interrupted`). */
  signal?: AbortSignal | undefined;
  clock?: (() => number) | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

export type VerifyOutcome =
  | { ok: true; attempts: number; arn: string }
  | { ok: false; attempts: number; reason: string; interrupted?: true };

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The user name in an IAM user ARN (`arn:aws:iam::1:user/path/name` → `name`). */
export function userNameOfArn(arn: string): string | undefined {
  const m = /^arn:[^:]+:iam::\d*:user\/(?:.*\/)?([^/]+)$/.exec(arn);
  return m?.[1];
}

export async function verifyNewKey(
  port: IamKeyPort,
  creds: KeyCredentials,
  opts: VerifyOptions,
): Promise<VerifyOutcome> {
  const clock = opts.clock ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const deadline = clock() + opts.timeoutMs;
  let attempts = 0;
  let last = "";
  for (;;) {
    if (opts.signal?.aborted) {
      return { ok: false, attempts, reason: "verification was interrupted", interrupted: true };
    }
    attempts++;
    try {
      // One attempt per poll, bounded by the time left: this loop is the retry, and it ends on time.
      const left = Math.max(1_000, deadline - clock());
      const id = await port.whoAmI(creds, { maxAttempts: 1, requestTimeoutMs: Math.min(10_000, left) });
      const name = userNameOfArn(id.arn);
      if (name !== opts.userName) {
        return {
          ok: false,
          attempts,
          reason: `the new key ${creds.accessKeyId} signs as ${id.arn}, not as IAM user "${opts.userName}"`,
        };
      }
      return { ok: true, attempts, arn: id.arn };
    } catch (err) {
      // Propagation (IAM does not know the key yet) and transient trouble (a timeout, a 5xx, throttling, a
      // reset) are polled through until the deadline; anything else (clock skew, access denied) is final.
      const transient = err instanceof AwsCallError && err.kind === "aws" && err.details?.clockSkew !== true;
      if (!(err instanceof AwsCallError) || (!PROPAGATING.has(err.code) && !transient)) {
        const message = err instanceof Error ? err.message : String(err);
        return { ok: false, attempts, reason: `sts:GetCallerIdentity with the new key failed: ${message}` };
      }
      last = err.code;
    }
    if (clock() + opts.intervalMs > deadline) {
      return {
        ok: false,
        attempts,
        reason: `AWS still refused the new key ${creds.accessKeyId} (${last}) after ${attempts} attempts in ${Math.round(opts.timeoutMs / 1000)} s`,
      };
    }
    opts.onTick?.();
    await (opts.signal ? abortableSleep(sleep, opts.intervalMs, opts.signal) : sleep(opts.intervalMs));
  }
}

/** `sleep(ms)`, cut short when `signal` aborts. */
function abortableSleep(
  sleep: (ms: number) => Promise<void>,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    sleep(ms).then(done, done);
  });
}
