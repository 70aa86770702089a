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
 * - A failing script never undoes a completed rotation, and is never hidden: the attempt is
 *   "script-failed" (the key was rotated, its delivery failed), which status, history, webhooks and exit
 *   codes treat as a failure; it is not retried (a retry would rotate again). In scripts-only mode the
 *   scripts are the work, so their failure fails the attempt.
 * - Losing a race is not a failure: a record whose lease or engine lock is held elsewhere is recorded as
 *   skipped (never retried blindly) and re-planned from the vault once the lock is free.
 * - Nothing written here (history, audit, logs, webhooks) holds a secret: errors are RekeyError messages,
 *   script output is redacted by the runner.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { RekeyError } from "../errors.js";
import {
  isLockHeld,
  type RepairOptions,
  type RepairRecordResult,
  type RepairResult,
  type RotateOptions,
  type RotationLogger,
  type RotationResult,
} from "../rotation/index.js";
import { JOURNAL_KIND as ROTATION_JOURNAL_KIND } from "../rotation/journal.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { newLeaseOwner as newLockOwner } from "../vault/lease-owner.js";
import { getFieldValue, setFieldValue } from "../vault/record.js";
import type { Lease, StoredRecord } from "../vault/store.js";
import type { Clock } from "./clock.js";
import type { GatewayConfig } from "./config.js";
import { ms } from "./config-layers.js";
import {
  attemptEntry,
  type Outcome,
  type RotationAttempt,
  type RotationRetryPolicy,
  retryDecision,
  type ScriptResult,
  type Trigger,
  toAuditEvent,
} from "./history-model.js";
import type { RotationNotice } from "./notify.js";
import { createPacers, type Pacers } from "./pacer.js";
import { isScriptsOnly, loginOf, readHistory, rotationModeOf } from "./records.js";
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
  /** A one-off run (`rekey rotate`): no retry is planned for a failure; the caller reports it. */
  final?: boolean | undefined;
  /** false: rotate without running the post-rotation scripts (`rekey rotate --no-scripts`). */
  scripts?: boolean | undefined;
  /** Per-job engine options (`rekey rotate --strategy/--verify/--force/...`, `signal` for Ctrl-C). */
  rotate?: Partial<RotateOptions> | undefined;
  /** The attempt's id, when the caller allocated it (the HTTP API's "rotate now" returns it). */
  attemptId?: string | undefined;
  /**
   * false: the caller has no use for the record's history (`rekey rotate RECORD`, which reports its own
   * attempt): it is not read (nor parsed), and the outcome's `history` holds this attempt only. Not with
   * `replan`, which plans from it.
   */
  readHistory?: boolean | undefined;
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
  /** Every retried AWS call of this account (throttled or not): metrics. */
  onAwsRetry?: ((account: string, throttled: boolean) => void) | undefined;
  /** Every AWS call made for this account: metrics. */
  onAwsCall?: ((account: string) => void) | undefined;
  /** Paces every AWS request per account and service (one set shared by all the process's rotations). */
  pacers: Pacers;
  random: () => number;
  actor: string;
  scriptEnv?: Record<string, string | undefined> | undefined;
  runScript?: RunScriptsInput["run"];
  /** Who holds the lease, as shown to the loser of a race (default "rekey-gateway"). */
  leaseOwner?: string | undefined;
  /** The engine's repair (grace expiry): default src/rotation's repairRecords. */
  repair?: ((store: AsyncVaultStore, opts: RepairOptions) => Promise<RepairResult>) | undefined;
}

export type JobOutcome =
  /**
   * The attempt ran and was recorded. `notice` is what to send (after the lease is released); `result`
   * the engine's report when it rotated, `failure` the error when it failed.
   */
  | {
      kind: "done";
      entry: RotationAttempt;
      history: RotationAttempt[];
      notice: RotationNotice | undefined;
      result?: RotationResult | undefined;
      failure?: unknown;
    }
  /** Fresh data says it is not due (another gateway did it, the schedule changed, the record is gone). */
  | { kind: "not-due"; history: RotationAttempt[] }
  /** Another process holds the record's lease (`holder`: its owner string, when known). */
  | { kind: "busy"; holder?: string | undefined };

/** The rotation engine's entry points, loaded on first use and kept (not resolved again per rotation). */
let rotationModule: Promise<typeof import("../rotation/index.js")> | undefined;
const rotation = () => {
  rotationModule ??= import("../rotation/index.js");
  return rotationModule;
};

/** The runner's dependencies from the gateway configuration (shared by the gateway and `rekey rotate`). */
export function runnerDeps(o: {
  store: AsyncVaultStore;
  config: GatewayConfig;
  clock: Clock;
  logger: RotationLogger;
  actor: string;
  random?: (() => number) | undefined;
  env?: Record<string, string | undefined> | undefined;
  rotate?: RotateFn | undefined;
  runScript?: RunnerDeps["runScript"];
  repair?: RunnerDeps["repair"];
  onThrottle?: ((account: string) => void) | undefined;
  onAwsRetry?: ((account: string, throttled: boolean) => void) | undefined;
  onAwsCall?: ((account: string) => void) | undefined;
  /** Default: a set of its own (fine for one rotation; a fleet passes one set to all its rotations). */
  pacers?: Pacers | undefined;
  leaseOwner?: string | undefined;
}): RunnerDeps {
  const { config } = o;
  return {
    store: o.store,
    clock: o.clock,
    logger: o.logger,
    rotate: o.rotate ?? (async (s, ref, opts) => (await rotation()).rotateRecord(s, ref, opts)),
    engine: {
      endpointUrl: config.engine.endpointUrl,
      region: config.engine.region,
      verify: config.engine.verify,
      verifyTimeoutMs: config.engine.verifyTimeoutSeconds
        ? ms(config.engine.verifyTimeoutSeconds)
        : undefined,
      requestTimeoutMs: config.engine.requestTimeoutSeconds
        ? ms(config.engine.requestTimeoutSeconds)
        : undefined,
      retry: config.engine.awsRetry,
      deadlineMs: config.engine.deadlineSeconds ? ms(config.engine.deadlineSeconds) : undefined,
      consistencyWindowMs:
        config.engine.consistencyWindowSeconds === undefined
          ? undefined
          : ms(config.engine.consistencyWindowSeconds),
      env: o.env ?? process.env,
    },
    retry: {
      maxAttempts: config.retry.maxAttempts,
      baseDelayMs: ms(config.retry.baseDelaySeconds),
      maxDelayMs: ms(config.retry.maxDelaySeconds),
    },
    leaseTtlMs: ms(config.leaseTtlSeconds),
    scriptTimeoutMs: ms(config.scriptTimeoutSeconds),
    onThrottle: o.onThrottle ?? (() => {}),
    onAwsRetry: o.onAwsRetry,
    onAwsCall: o.onAwsCall,
    pacers:
      o.pacers ??
      createPacers({ maxRate: config.throttle.maxRequestsPerSecond, clock: o.clock, logger: o.logger }),
    random: o.random ?? Math.random,
    actor: o.actor,
    runScript: o.runScript,
    repair: o.repair,
    leaseOwner: o.leaseOwner,
  };
}

export async function runJob(deps: RunnerDeps, job: Job): Promise<JobOutcome> {
  const { store } = deps;
  const lease = await store.tryLock(
    leaseName(job.uid),
    newLockOwner(deps.leaseOwner ?? "rekey-gateway"),
    deps.leaseTtlMs,
  );
  if (!lease) return { kind: "busy" };
  const renewal = keepRenewed(lease, deps);
  let done: Extract<JobOutcome, { kind: "done" }>;
  try {
    const user = await store.getRecord(job.uid);
    const history = job.readHistory === false && !job.replan ? [] : await readHistory(store, job.uid);
    if (!user) return { kind: "not-due", history };
    let { trigger, attempt, slot } = job;
    if (job.replan) {
      // Work a dead holder of this lease left (a gateway killed mid-rotation): its rotation journal is
      // repaired and its attempt recorded first (the gateway's listing does both), then the record is
      // re-planned on that. Rotating now would rotate the slot a second time.
      const left = await store.listJournal({ recordUid: job.uid });
      if (left.some((j) => j.kind === ATTEMPT_JOURNAL_KIND || j.kind === ROTATION_JOURNAL_KIND))
        return { kind: "not-due", history };
      const fresh = job.replan(user, history);
      if (!fresh || fresh.at.getTime() > deps.clock.now()) return { kind: "not-due", history };
      ({ trigger, attempt, slot } = fresh);
    }
    const run = { ...job, trigger, attempt, slot };
    const id = job.attemptId ?? randomUUID();
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
    const { entry, result, failure } = await attemptOnce(deps, run, user, id, startedAt);
    await store.commit(
      [
        { op: "appendRotationHistory", entry, audit: toAuditEvent(entry, deps.actor) },
        { op: "deleteJournal", id },
      ],
      { actor: deps.actor },
    );
    done = {
      kind: "done",
      entry,
      history: [...history, entry],
      notice: noticeFor(entry),
      result,
      failure,
    };
  } finally {
    renewal.stop();
    // Awaited: on a shared database the next gateway may take the record as soon as it is free.
    await releaseQuietly(lease, deps);
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
): Promise<{ entry: RotationAttempt; result: RotationResult | undefined; failure: unknown }> {
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
  let heldReason: string | undefined;
  let failure: unknown;
  let result: RotationResult | undefined;
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
    rotationModeOf(user.record); // an unknown rotation_mode is refused, not guessed
    if (scriptsOnly) {
      if (countScripts(user, configuration) === 0) {
        outcome = "skipped";
        skippedReason = "rotation_mode is scripts-only and no post-rotation script is attached";
      } else {
        // The scripts get a new password, as after a rotation; it is kept once they all succeed.
        const newPassword = randomBytes(24).toString("base64url");
        scripts = job.scripts === false ? [] : await runScripts(user, newPassword);
        const failed = describeScriptFailures(scripts);
        if (failed)
          throw new RekeyError("internal", failed, { hint: "see the scripts' output: rekey history" });
        await savePassword(store, job.uid, newPassword, deps.actor);
      }
    } else {
      // The configuration the gateway chose, read afresh: spares the engine a listing of the whole vault
      // per rotation (it lists to find the configuration otherwise), which at thousands of records cost
      // more than the rotation itself.
      const pamConfiguration = configuration && (await store.getRecord(configuration.uid));
      result = await deps.rotate(store, job.uid, {
        ...deps.engine,
        ...(pamConfiguration ? { pamConfiguration } : {}),
        ...job.rotate,
        actor: deps.actor,
        now,
        logger: deps.logger,
        // Every request takes its turn from the account's pacer, which learns the quota from throttling.
        pace: deps.pacers.forAccount(job.account),
        onAwsCall: deps.onAwsCall ? () => deps.onAwsCall?.(job.account) : undefined,
        onAwsRetry: (r) => {
          deps.onAwsRetry?.(job.account, r.throttled);
          if (r.throttled) deps.onThrottle(job.account);
        },
      });
      keyIds.created = result.created?.accessKeyId ?? null;
      keyIds.deleted = [...result.deleted];
      keyIds.deactivated = [...result.deactivated];
      if (job.rotate?.signal?.aborted && countScripts(user, configuration) > 0) {
        // Ctrl-C after the save: the rotation was finished, the delivery was not started.
        outcome = "script-failed";
        error = {
          message: "the key was rotated, but the post-rotation scripts did not run: interrupted",
          kind: "script",
          hint: "deliver the key: run the scripts by hand, or rotate again",
        };
      } else if (job.scripts !== false) {
        const current = (await store.getRecord(job.uid)) ?? user;
        scripts = await runScripts(current, getFieldValue(current.record, "password") ?? "");
      }
      const failed = describeScriptFailures(scripts);
      if (result.retained?.held && outcome === "succeeded") {
        outcome = "held";
        heldReason = result.retained.why;
      }
      // Reported as a failure, never undone: the new key is in IAM and in the vault.
      if (failed && (outcome === "succeeded" || outcome === "held")) {
        outcome = "script-failed";
        error = {
          message: `the key was rotated, but ${failed}`,
          kind: "script",
          hint: "see the scripts' output (rekey history --scripts), fix the script, then deliver the key again (rekey rotate, or run the script by hand)",
        };
      }
    }
  } catch (err) {
    failure = err;
    if (isLockHeld(err)) {
      // Lost a race with another process: not a failure, never retried blindly.
      outcome = "skipped";
      skippedReason = (err as Error).message;
    } else if (err instanceof RekeyError && err.details?.held === true) {
      // The previous rotation's key is still in use: nothing changed; retried like a failure.
      outcome = "held";
      heldReason = err.message;
      error = { message: err.message, kind: err.kind, ...(err.hint ? { hint: err.hint } : {}) };
    } else {
      outcome = "failed";
      error =
        err instanceof RekeyError
          ? { message: err.message, kind: err.kind, ...(err.hint ? { hint: err.hint } : {}) }
          : { message: err instanceof Error ? err.message : String(err), kind: "internal" };
    }
  }

  const endedAt = now();
  // Lost a lock race: not final, so the slot stays open and is re-planned from the vault.
  let final = !isLockHeld(failure);
  let nextAttemptAt: string | null = null;
  if ((outcome === "failed" || (outcome === "held" && !keyIds.created)) && !job.final) {
    const d = retryDecision(deps.retry, job.attempt, endedAt, deps.random, failure);
    if (d.retry) {
      final = false;
      nextAttemptAt = d.at.toISOString();
    }
  }
  const entry = attemptEntry({
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
    ...(heldReason ? { heldReason } : {}),
    final,
    nextAttemptAt,
  });
  const level = outcome === "failed" || outcome === "script-failed" ? "warn" : "info";
  deps.logger[level](
    { ...log, outcome, final, nextAttemptAt, created: keyIds.created, error: error?.message },
    "rotation attempt ended",
  );
  return { entry, result, failure };
}

/**
 * Record that a job found the record locked by another process (a manual `rekey rotate`, another
 * gateway): a skipped attempt, not final, never retried; the gateway re-plans once the lock is free.
 */
export async function recordSkipped(deps: RunnerDeps, job: Job, reason: string): Promise<RotationAttempt> {
  const user = await deps.store.getRecord(job.uid);
  const at = new Date(deps.clock.now()).toISOString();
  const entry = attemptEntry({
    id: randomUUID(),
    recordUid: job.uid,
    recordTitle: user?.record.title,
    user: (user && loginOf(user.record)) || undefined,
    trigger: job.trigger,
    mode: user && isScriptsOnly(user.record) ? "scripts-only" : "rotate",
    attempt: job.attempt,
    slot: job.slot ? job.slot.toISOString() : null,
    startedAt: at,
    endedAt: at,
    outcome: "skipped",
    keyIds: { created: null, deleted: [], deactivated: [] },
    skippedReason: reason,
    final: false,
  });
  await deps.store.appendRotationHistory(entry, toAuditEvent(entry, deps.actor));
  deps.logger.info({ recordUid: job.uid, reason }, "rotation attempt skipped");
  return entry;
}

/**
 * The engine's repair of one record under its gateway lease: delete graceful's previous key once its
 * `old_key_grace` has passed, and finish or undo a rotation journal left pending. Returns undefined when
 * another process holds the lease.
 */
export async function runRepairJob(deps: RunnerDeps, uid: string): Promise<RepairRecordResult | undefined> {
  const lease = await deps.store.tryLock(
    leaseName(uid),
    newLockOwner(deps.leaseOwner ?? "rekey-gateway"),
    deps.leaseTtlMs,
  );
  if (!lease) return undefined;
  const renewal = keepRenewed(lease, deps);
  try {
    const repair =
      deps.repair ?? (async (s: AsyncVaultStore, o: RepairOptions) => (await rotation()).repairRecords(s, o));
    const { records } = await repair(deps.store, {
      ...deps.engine,
      actor: deps.actor,
      now: () => new Date(deps.clock.now()),
      logger: deps.logger,
      records: [uid],
    });
    const r = records[0];
    if (r) {
      const level = r.outcome === "failed" ? "warn" : "info";
      deps.logger[level](
        { recordUid: uid, outcome: r.outcome, deleted: r.deleted, error: r.error?.message },
        "repair",
      );
    }
    return r;
  } finally {
    renewal.stop();
    await releaseQuietly(lease, deps);
  }
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

/**
 * Success, a failed delivery, or a final failure: what the webhooks hear. A failure that will be retried
 * stays quiet.
 */
export function noticeFor(e: RotationAttempt): RotationNotice | undefined {
  if (e.outcome === "skipped" || ((e.outcome === "failed" || e.outcome === "held") && !e.final))
    return undefined;
  return {
    event: `rotation.${e.outcome}`,
    record: { uid: e.recordUid, title: e.recordTitle ?? "" },
    user: e.user ?? "",
    keyIds: e.keyIds,
    ...(e.error ? { error: e.error.message } : e.heldReason ? { error: e.heldReason } : {}),
    at: e.endedAt ?? e.startedAt,
  };
}

/** Renew the lease at a third of its TTL while the attempt runs. */
function keepRenewed(lease: Lease, deps: RunnerDeps): { stop(): void } {
  const renewNow = async () => {
    try {
      // A database lease answers later: awaited here so a lost lease is logged when it is found lost.
      await lease.renew(deps.leaseTtlMs);
    } catch (err) {
      deps.logger.error({ recordUid: lease.recordUid, error: (err as Error).message }, "gateway lease lost");
    }
  };
  const timer = setInterval(
    () => {
      void renewNow();
    },
    Math.max(1000, Math.floor(deps.leaseTtlMs / 3)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Release a lease and wait for it (a database round trip); a failure is logged, the lease expires anyway. */
export async function releaseQuietly(lease: Lease, deps: Pick<RunnerDeps, "logger">): Promise<void> {
  try {
    await lease.release();
  } catch (err) {
    deps.logger.warn(
      { recordUid: lease.recordUid, error: (err as Error).message },
      "could not release the lease (it expires on its own)",
    );
  }
}
