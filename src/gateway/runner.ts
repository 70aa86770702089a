/**
 * One attempt for one record, start to finish: take the record's gateway lease, check it is still due,
 * rotate (or, in scripts-only mode, skip the rotation), run the post-rotation scripts, record the history
 * entry (and its audit copy), release the lease, then notify.
 *
 * Invariants:
 * - Two gateways never work on one record at once: the lease `gateway:<uid>` is held from the due check
 *   to the history write, and the due check is redone on fresh data once it is held, so the loser of a
 *   race sees the winner's entry and does nothing. (The engine's own record lock also keeps a manual
 *   `rekey rotate` apart.)
 * - A failing script never undoes a completed rotation: the attempt stays "succeeded" and says which
 *   script failed. In scripts-only mode the scripts are the work, so their failure fails the attempt.
 * - Nothing written here (history, audit, logs, webhooks) holds a secret: errors are RekeyError messages,
 *   script output is redacted by the runner.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { RekeyError } from "../errors.js";
import type { RotateOptions, RotationLogger, RotationResult } from "../rotation/index.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { getFieldValue, setFieldValue } from "../vault/record.js";
import { newLockOwner } from "../vault/sqlite-locks.js";
import type { Lease, StoredRecord } from "../vault/store.js";
import type { Clock } from "./clock.js";
import {
  type Outcome,
  parseAttempt,
  type RotationAttempt,
  type RotationRetryPolicy,
  retryDecision,
  type ScriptResult,
  type Trigger,
  toAuditEvent,
} from "./history-model.js";
import type { RotationNotice } from "./notify.js";
import { isScriptsOnly, loginOf, readHistory } from "./records.js";
import {
  countScripts,
  describeScriptFailures,
  type RunScriptsInput,
  runRecordScripts,
} from "./run-scripts.js";
import type { PlannedRun } from "./scheduler.js";

export type RotateFn = (
  store: AsyncVaultStore,
  recordRef: string,
  opts: RotateOptions,
) => Promise<RotationResult>;

/** The journal kind of an attempt in progress (the engine's own entries are kind "rotation"). */
export const ATTEMPT_JOURNAL_KIND = "gateway-attempt";

/** Lease names live in the vault's locks table next to the engine's record locks (which use the bare UID). */
export const leaseName = (uid: string) => `gateway:${uid}`;

export interface Job {
  uid: string;
  account: string;
  trigger: Trigger;
  attempt: number;
  slot: Date | null;
  /**
   * Scheduled jobs: re-plan from the fresh record and history once the lease is held (null = not due
   * any more). Manual jobs run regardless.
   */
  replan?: ((user: StoredRecord, history: RotationAttempt[]) => PlannedRun | null) | undefined;
  /** The record's PAM configuration, looked up from the fresh record. */
  configuration: (user: StoredRecord) => StoredRecord | undefined;
}

export interface RunnerDeps {
  store: AsyncVaultStore;
  clock: Clock;
  logger: RotationLogger;
  rotate: RotateFn;
  /** Engine options shared by every rotation (endpoint, region, verify, env, retry, actor...). */
  engine: RotateOptions;
  retry: RotationRetryPolicy;
  leaseTtlMs: number;
  scriptTimeoutMs: number;
  /** IAM throttled a call made for this account. */
  onThrottle: (account: string) => void;
  random: () => number;
  actor: string;
  scriptEnv?: Record<string, string | undefined> | undefined;
  runScript?: RunScriptsInput["run"];
}

export type JobOutcome =
  /** The attempt ran and was recorded. `notice` is what to send (after the lease is released). */
  | { kind: "done"; entry: RotationAttempt; history: RotationAttempt[]; notice: RotationNotice | undefined }
  /** Fresh data says it is not due (another gateway did it, the schedule changed, the record is gone). */
  | { kind: "not-due"; history: RotationAttempt[] }
  /** Another gateway holds the record's lease. */
  | { kind: "busy" };

export async function runJob(deps: RunnerDeps, job: Job): Promise<JobOutcome> {
  const { store } = deps;
  const lease = await store.tryLock(leaseName(job.uid), newLockOwner("rekey-gateway"), deps.leaseTtlMs);
  if (!lease) return { kind: "busy" };
  const renewal = keepRenewed(lease, deps);
  let done: Extract<JobOutcome, { kind: "done" }>;
  try {
    const user = await store.getRecord(job.uid);
    const history = await readHistory(store, job.uid);
    if (!user) return { kind: "not-due", history };
    let { trigger, attempt, slot } = job;
    if (job.replan) {
      const fresh = job.replan(user, history);
      if (!fresh || fresh.at.getTime() > deps.clock.now()) return { kind: "not-due", history };
      ({ trigger, attempt, slot } = fresh);
    }
    const run = { ...job, trigger, attempt, slot };
    const id = randomUUID();
    const startedAt = new Date(deps.clock.now());
    // A marker for the attempt in progress: if the gateway dies before the history entry is written,
    // the next start records the attempt as interrupted (recover.ts) instead of forgetting it.
    await store.putJournal({
      id,
      recordUid: job.uid,
      kind: ATTEMPT_JOURNAL_KIND,
      state: {
        trigger,
        attempt,
        slot: slot ? slot.toISOString() : null,
        startedAt: startedAt.toISOString(),
        mode: isScriptsOnly(user.record) ? "scripts-only" : "rotate",
      },
    });
    const entry = await attemptOnce(deps, run, user, id, startedAt);
    await store.commit(
      [
        { op: "appendRotationHistory", entry, audit: toAuditEvent(entry, deps.actor) },
        { op: "deleteJournal", id },
      ],
      { actor: deps.actor },
    );
    done = { kind: "done", entry, history: [...history, entry], notice: noticeFor(entry) };
  } finally {
    renewal.stop();
    try {
      lease.release();
    } catch (err) {
      deps.logger.warn({ recordUid: job.uid, error: (err as Error).message }, "could not release the lease");
    }
  }
  return done;
}

/** Rotate (or not, in scripts-only mode), run the scripts, and describe what happened. */
async function attemptOnce(
  deps: RunnerDeps,
  job: Job,
  user: StoredRecord,
  id: string,
  startedAt: Date,
): Promise<RotationAttempt> {
  const { store } = deps;
  const now = () => new Date(deps.clock.now());
  const configuration = job.configuration(user);
  const scriptsOnly = isScriptsOnly(user.record);
  const login = loginOf(user.record);
  const oldPassword = getFieldValue(user.record, "password") ?? "";
  const keyIds: RotationAttempt["keyIds"] = { created: null, deleted: [], deactivated: [] };
  let scripts: ScriptResult[] = [];
  let outcome: Outcome = "succeeded";
  let error: RotationAttempt["error"] = null;
  let skippedReason: string | undefined;
  let failure: unknown;
  const log = { recordUid: job.uid, trigger: job.trigger, attempt: job.attempt };
  deps.logger.info({ ...log, mode: scriptsOnly ? "scripts-only" : "rotate" }, "rotation attempt started");

  const runScripts = (current: StoredRecord, newPassword: string) =>
    runRecordScripts({
      store,
      user: current,
      configuration,
      login,
      newPassword,
      oldPassword,
      timeoutMs: deps.scriptTimeoutMs,
      baseEnv: deps.scriptEnv,
      run: deps.runScript,
    });

  try {
    if (scriptsOnly) {
      if (countScripts(user, configuration) === 0) {
        outcome = "skipped";
        skippedReason = "NOOP (scripts only) is set and no post-rotation script is attached";
      } else {
        // The scripts get a new password, as after a rotation; it is kept once they all succeed.
        const newPassword = randomBytes(24).toString("base64url");
        scripts = await runScripts(user, newPassword);
        const failed = describeScriptFailures(scripts);
        if (failed)
          throw new RekeyError("internal", failed, { hint: "see the scripts' output: rekey history" });
        await savePassword(store, job.uid, newPassword, deps.actor);
      }
    } else {
      const result = await deps.rotate(store, job.uid, {
        ...deps.engine,
        actor: deps.actor,
        now,
        logger: throttleWatch(deps.logger, () => deps.onThrottle(job.account)),
      });
      keyIds.created = result.created?.accessKeyId ?? null;
      keyIds.deleted = [...result.deleted];
      keyIds.deactivated = [...result.deactivated];
      const current = (await store.getRecord(job.uid)) ?? user;
      scripts = await runScripts(current, getFieldValue(current.record, "password") ?? "");
      const failed = describeScriptFailures(scripts);
      // Reported, never undone: the new key is in IAM and in the vault.
      if (failed) error = { message: `the key was rotated, but ${failed}`, kind: "script" };
    }
  } catch (err) {
    failure = err;
    outcome = "failed";
    error =
      err instanceof RekeyError
        ? { message: err.message, kind: err.kind, ...(err.hint ? { hint: err.hint } : {}) }
        : { message: err instanceof Error ? err.message : String(err), kind: "internal" };
  }

  const endedAt = now();
  let final = true;
  let nextAttemptAt: string | null = null;
  if (outcome === "failed") {
    const d = retryDecision(deps.retry, job.attempt, endedAt, deps.random, failure);
    if (d.retry) {
      final = false;
      nextAttemptAt = d.at.toISOString();
    }
  }
  const entry = parseAttempt({
    id,
    recordUid: job.uid,
    recordTitle: user.record.title,
    user: login || undefined,
    trigger: job.trigger,
    mode: scriptsOnly ? "scripts-only" : "rotate",
    attempt: job.attempt,
    slot: job.slot ? job.slot.toISOString() : null,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    outcome,
    keyIds,
    scripts,
    error,
    ...(skippedReason ? { skippedReason } : {}),
    final,
    nextAttemptAt,
  });
  const level = outcome === "failed" ? "warn" : "info";
  deps.logger[level](
    { ...log, outcome, final, nextAttemptAt, created: keyIds.created, error: error?.message },
    "rotation attempt ended",
  );
  return entry;
}

/** Keep the scripts' newPassword in the record (re-read, so a concurrent edit of another field stays). */
async function savePassword(
  store: AsyncVaultStore,
  uid: string,
  password: string,
  actor: string,
): Promise<void> {
  for (let tries = 1; ; tries++) {
    const current = await store.getRecord(uid);
    if (!current) return;
    const record = structuredClone(current.record);
    setFieldValue(record, "password", password);
    try {
      await store.saveRecord(uid, record, { expectedRevision: current.revision, actor });
      return;
    } catch (err) {
      if (!(err instanceof RekeyError && err.kind === "conflict") || tries >= 3) throw err;
    }
  }
}

/** Success, or a final failure: what the webhooks hear. A failure that will be retried stays quiet. */
export function noticeFor(e: RotationAttempt): RotationNotice | undefined {
  if (e.outcome === "skipped" || (e.outcome === "failed" && !e.final)) return undefined;
  return {
    event: e.outcome === "succeeded" ? "rotation.succeeded" : "rotation.failed",
    record: { uid: e.recordUid, title: e.recordTitle ?? "" },
    user: e.user ?? "",
    keyIds: e.keyIds,
    ...(e.error ? { error: e.error.message } : {}),
    at: e.endedAt ?? e.startedAt,
  };
}

/**
 * The engine logs each AWS retry at debug level with the AWS error code ("retrying AWS call"): that is
 * where IAM's throttling becomes visible, so the limiter can pause the account while the engine's own
 * backoff retries the call.
 */
export function throttleWatch(logger: RotationLogger, onThrottle: () => void): RotationLogger {
  return {
    debug(obj, msg) {
      if (msg === "retrying AWS call" && isThrottleInfo(obj)) onThrottle();
      logger.debug(obj, msg);
    },
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => logger.error(obj, msg),
  };
}

function isThrottleInfo(obj: object): boolean {
  const o = obj as { awsCode?: unknown; httpStatus?: unknown };
  return (typeof o.awsCode === "string" && /thrott/i.test(o.awsCode)) || o.httpStatus === 429;
}

/** Renew the lease at a third of its TTL while the attempt runs. */
function keepRenewed(lease: Lease, deps: RunnerDeps): { stop(): void } {
  const timer = setInterval(
    () => {
      try {
        lease.renew(deps.leaseTtlMs);
      } catch (err) {
        deps.logger.error(
          { recordUid: lease.recordUid, error: (err as Error).message },
          "gateway lease lost",
        );
      }
    },
    Math.max(1000, Math.floor(deps.leaseTtlMs / 3)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
