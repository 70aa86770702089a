/**
 * Rotation history: one entry per attempt (what `rekey history` shows and the gateway reads back at
 * start-up), and the retry policy for failed attempts. Pure: schemas and decisions, no storage.
 *
 * An entry never holds a secret: key ids yes, secret keys no; script output is redacted by the runner
 * before it gets here. `final` marks the attempt that settled its slot (success, or the last failed
 * retry): the next slot is computed from the last final entry, so a failure is retried a bounded
 * number of times and then waits for the next slot, across restarts. The zod schema of an entry is in
 * history-schema.ts: a manual rotation builds its entry here (attemptEntry) and never loads zod.
 */
import { RekeyError } from "../errors.js";
import type { AuditEvent } from "../vault/store.js";
import { type BackoffPolicy, backoffDelay } from "./backoff.js";
import type { RotationAttempt, RotationAttemptInput, ScriptResult } from "./history-schema.js";

/** What started the slot; a retry keeps its slot's trigger (attempt > 1 says it is a retry). */
export const TRIGGERS = ["schedule", "manual", "startup-catch-up"] as const;
/**
 * "script-failed": the key was rotated (IAM and the vault hold the new key), but a post-rotation script
 * failed, so the applications it feeds may not have the new key. A failure everywhere (exit code,
 * webhook, status), never retried (a retry would rotate again); the slot is settled.
 */
/**
 * "held": an application still used an old key after the new key existed (IAM's last use), so rekey kept
 * that key: either the rotation saved the new key and holds the old one (retired later, by the gateway's
 * recheck), or the rotation waits because the previous rotation's key is still in use (retried).
 */
export const OUTCOMES = ["succeeded", "script-failed", "held", "failed", "skipped"] as const;
export type Trigger = (typeof TRIGGERS)[number];
export type Outcome = (typeof OUTCOMES)[number];

export type { RotationAttempt, RotationAttemptInput, ScriptResult } from "./history-schema.js";

/** A script result as the runner builds it: the schema's defaults applied, without the schema. */
export type ScriptResultInput = Omit<ScriptResult, "timedOut"> & { timedOut?: boolean | undefined };

/**
 * An entry the runner builds from its own, typed data: what parseAttempt (history-schema.ts) would return for
 * it (the same defaults), without zod (history-model.test.ts checks that both agree). Data read back from
 * storage goes through parseAttempt.
 */
export function attemptEntry(
  input: Omit<RotationAttemptInput, "scripts"> & { scripts?: readonly ScriptResultInput[] | undefined },
): RotationAttempt {
  return {
    ...input,
    mode: input.mode ?? "rotate",
    slot: input.slot ?? null,
    keyIds: { ...input.keyIds },
    scripts: (input.scripts ?? []).map((s) => ({ ...s, timedOut: s.timedOut ?? false })),
    error: input.error ?? null,
    nextAttemptAt: input.nextAttemptAt ?? null,
  };
}

// --- Retry policy -------------------------------------------------------------------------------

export interface RotationRetryPolicy extends BackoffPolicy {
  /** Attempts per slot, the first included. */
  maxAttempts: number;
}

/** 4 tries over about 7 minutes at most (30 s, 1 min, 2 min caps, with jitter), then the next slot. */
export const DEFAULT_ROTATION_RETRY: RotationRetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 30_000,
  maxDelayMs: 10 * 60_000,
};

export type RetryDecision =
  | { retry: true; attempt: number; at: Date; delayMs: number }
  | { retry: false; reason: "max-attempts" | "not-retryable" };

/**
 * After attempt `attempt` failed at `failedAt`: retry (which attempt, when) or give up until the next
 * slot. A failure the user must fix (bad record, access denied, tampered data) is not retried.
 *
 * @example retryDecision(DEFAULT_ROTATION_RETRY, 1, new Date(0), () => 1) // { retry: true, attempt: 2, at: 30 s, ... }
 */
export function retryDecision(
  policy: RotationRetryPolicy,
  attempt: number,
  failedAt: Date,
  random: () => number = Math.random,
  error?: unknown,
): RetryDecision {
  if (error !== undefined && !isRetryable(error)) return { retry: false, reason: "not-retryable" };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: "max-attempts" };
  const delayMs = backoffDelay(attempt, policy, random);
  return { retry: true, attempt: attempt + 1, at: new Date(failedAt.getTime() + delayMs), delayMs };
}

/**
 * Worth retrying: AWS trouble, a lock held by another actor, anything unexpected. Not: usage (the
 * record is wrong), not-found, auth (access denied stays denied), integrity.
 */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof RekeyError)) return true;
  // A refusal that only the user can lift (two records for one IAM user, a key the vault does not hold).
  if (error.details?.retryable === false) return false;
  return error.kind === "aws" || error.kind === "conflict" || error.kind === "internal";
}

// --- Reading history back -------------------------------------------------------------------------

/**
 * The time the last slot was settled (a success, or the last try of a failed slot): pass it (or the
 * key's CreateDate, whichever is later) as `lastRotation` to nextDue. Null if none.
 */
export function lastSettledAt(entries: readonly RotationAttempt[]): Date | null {
  let best: number | null = null;
  for (const e of entries) {
    if (!e.final || !e.endedAt) continue;
    const t = Date.parse(e.endedAt);
    if (best === null || t > best) best = t;
  }
  return best === null ? null : new Date(best);
}

/** True when the attempt rotated the key (its scripts may still have failed). */
export function rotatedKey(e: RotationAttempt): boolean {
  return (
    e.outcome === "succeeded" || e.outcome === "script-failed" || (e.outcome === "held" && !!e.keyIds.created)
  );
}

/** True for the outcomes that are failures everywhere (exit code, webhook, status). */
export function isFailure(e: RotationAttempt): boolean {
  return e.outcome === "failed" || e.outcome === "script-failed";
}

/** The last attempt that rotated the key (scripts may have failed), for `rekey status`. */
export function lastSucceeded(entries: readonly RotationAttempt[]): RotationAttempt | undefined {
  return latest(entries.filter(rotatedKey));
}

/**
 * A retry still owed: the latest attempt failed, was not final, and named when to retry. Survives
 * a restart because it is read from stored history.
 */
export function pendingRetry(entries: readonly RotationAttempt[]): { attempt: number; at: Date } | null {
  const last = latest(entries.filter((e) => e.outcome !== "skipped"));
  if ((last?.outcome !== "failed" && last?.outcome !== "held") || last.final || !last.nextAttemptAt)
    return null;
  return { attempt: last.attempt + 1, at: new Date(last.nextAttemptAt) };
}

function latest(entries: readonly RotationAttempt[]): RotationAttempt | undefined {
  let best: RotationAttempt | undefined;
  for (const e of entries) if (!best || Date.parse(e.startedAt) >= Date.parse(best.startedAt)) best = e;
  return best;
}

/**
 * The audit log's copy of an attempt: the facts without script output (it is in the history entry;
 * the audit log stays small).
 */
export function toAuditEvent(e: RotationAttempt, actor = "rekey gateway"): AuditEvent {
  return {
    action: `gateway.rotation.${e.outcome}`,
    recordUid: e.recordUid,
    actor,
    details: {
      attemptId: e.id,
      trigger: e.trigger,
      mode: e.mode,
      attempt: e.attempt,
      final: e.final,
      startedAt: e.startedAt,
      endedAt: e.endedAt,
      keyIds: e.keyIds,
      scripts: e.scripts.map((s) => ({
        name: s.name,
        command: s.command,
        exitCode: s.exitCode,
        success: s.success,
      })),
      ...(e.error ? { error: e.error.message } : {}),
      ...(e.nextAttemptAt ? { nextAttemptAt: e.nextAttemptAt } : {}),
      ...(e.skippedReason ? { skippedReason: e.skippedReason } : {}),
    },
  };
}
