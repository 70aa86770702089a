/**
 * The gateway: a long-running loop over the vault that rotates every pamUser record with a schedule
 * when it is due (scheduler.ts decides when, runner.ts does one attempt, the rotation engine does how).
 *
 * Start-up: finish or undo interrupted rotations (`repairRecords`), then a first tick at once; runs
 * missed while the gateway was down are due then, once each, tagged `startup-catch-up`. A tick (every
 * `tickSeconds`) looks at the vault and plans the pamUser records that may be due: on SQLite and
 * PostgreSQL through the schedule index (schedule-index-source.ts: only new, changed and due records are
 * decrypted), on a Keeper vault by listing it and planning every record. Each due record not already
 * queued or running is handed to the limiter (bounded concurrency overall and per AWS account); every AWS
 * request takes its turn from its account's pacer (pacer.ts: a rate learned from IAM's and STS's
 * throttling). Between ticks the gateway sleeps until the next due time (a record's next run, a retry, a
 * graceful key's end of grace), so `every 3s` means every 3 s, not every tick; a finished job re-reads
 * its record and re-plans at once.
 *
 * Stop (SIGTERM/SIGINT in `rekey gateway`): no more ticks, queued work is dropped (it is still due at
 * the next start), running attempts finish within a bounded wait. A SIGKILL is covered by the engine's
 * journal and by the next start's repair.
 *
 * Several gateways on one vault (PostgreSQL): each record's work runs under its lease, and the due check
 * is redone on fresh data once the lease is held (runner.ts), so a slot is rotated once. Each gateway
 * starts its passes at its own place in the listing (`spreadStart`), so they mostly take different
 * records instead of queueing behind each other's leases. At each listing, work a dead gateway left
 * behind is taken over once its lease is free (holder certainly dead, or expired): a pending rotation
 * journal is repaired, then its attempt marker is recorded (recover.ts).
 *
 * Vault unreachable (the database went away): a listing that fails is logged ("vault unreachable") and
 * retried with backoff (1 s, 2 s, ... 30 s); until a listing succeeds ("vault reachable again") no new
 * work starts and queued jobs are dropped (still due later). Running attempts go on: what they wrote
 * to the journal stays in the database and is repaired by whichever gateway comes first.
 */
import { randomUUID } from "node:crypto";
import {
  graceExpiresAt,
  type RepairOptions,
  type RepairResult,
  type RotationLogger,
} from "../rotation/index.js";
import { JOURNAL_KIND as ROTATION_JOURNAL_KIND } from "../rotation/journal.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { findRecord } from "../vault/find-record.js";
import { getFieldValue } from "../vault/record.js";
import type { JournalEntry, StoredRecord } from "../vault/store.js";
import { type Clock, systemClock } from "./clock.js";
import { type GatewayConfig, ms } from "./config.js";
import type { RotationAttempt } from "./history-model.js";
import { createLimiter, type Limiter } from "./limiter.js";
import { notifyAll, type RotationNotice } from "./notify.js";
import { createPacers, type PaceReport } from "./pacer.js";
import { accountKey, configurationFor, readHistory } from "./records.js";
import { recoverInterrupted, recoverMarker } from "./recover.js";
import {
  ATTEMPT_JOURNAL_KIND,
  type Job,
  type JobOutcome,
  noticeFor,
  type RotateFn,
  type RunnerDeps,
  recordSkipped,
  runJob,
  runnerDeps,
  runRepairJob,
} from "./runner.js";
import { effectiveSchedule } from "./schedule-field.js";
import { indexedSource, listingSource, type RecordSource } from "./schedule-index-source.js";
import { isRunDue, type PlannedRun, parseCreateDate, planRun } from "./scheduler.js";

export interface GatewayOptions {
  /** The local vault (synchronous) or any async vault (a KeeperVault). */
  store: AsyncVaultStore;
  config: GatewayConfig;
  clock?: Clock;
  logger?: RotationLogger;
  /** The engine (default: src/rotation's rotateRecord and repairRecords). */
  rotate?: RotateFn;
  repair?: (store: AsyncVaultStore, opts: RepairOptions) => Promise<RepairResult>;
  /** For the engine's default credential chain and endpoint variables (default process.env). */
  env?: Record<string, string | undefined>;
  /** Webhook delivery (tests). */
  fetch?: typeof fetch;
  random?: () => number;
  /** Recorded in history, audit and record versions. */
  actor?: string;
  runScript?: RunnerDeps["runScript"];
  /**
   * Where this gateway's plan passes begin in the listing, as a fraction (0..1). Default: random, so
   * gateways sharing a vault start on different records; tests pin it (0 = listing order).
   */
  spreadStart?: number;
  /** Told of what the metrics count (the HTTP module's GatewayMetrics fits): never a secret. */
  observer?: GatewayObserver | undefined;
}

/** What a running gateway reports as it goes, beside its history (metrics). */
export interface GatewayObserver {
  awsCall?(account: string): void;
  awsRetry?(account: string, throttled: boolean): void;
  awsPace?(account: string, service: string, requestsPerSecond: number): void;
  webhook?(ok: boolean): void;
  tick?(at: Date): void;
  /** Records decrypted to plan them (the schedule index keeps this near the number due). */
  decrypt?(count: number): void;
}

/** Backoff between listings while the vault is unreachable: 1 s, 2 s, 4 s ... at most 30 s. */
export function unreachableDelayMs(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.min(5, Math.max(0, failures - 1)));
}

export interface GatewayStats {
  /** Attempts recorded by this gateway, by outcome. */
  succeeded: number;
  "script-failed": number;
  /** An old key kept because an application still used it. */
  held: number;
  failed: number;
  skipped: number;
  /** Jobs that found the record's lease held by another gateway. */
  busy: number;
  /** Throttling answers IAM gave (as seen by the engine's retries). */
  throttles: number;
  active: number;
  queued: number;
}

export interface Gateway {
  /** Repair, then the first tick; with `loop` (default true) a tick every tickSeconds until stop(). */
  start(opts?: { loop?: boolean }): Promise<void>;
  /** Queue every due record; returns how many were queued. */
  tick(): Promise<number>;
  /**
   * Queue an on-demand rotation (trigger "manual") of these records (UID or unique title); before
   * start(), they wait for its repair. Rejects when a record is not found.
   */
  rotateNow(refs: readonly string[]): Promise<void>;
  /**
   * Queue one on-demand rotation of record `uid` now (the HTTP API's "rotate now"): its attempt id is
   * allocated here and is the history entry's id. Not queued while the record's rotation runs, the gateway
   * stops, or the vault is unreachable (the reason says which).
   */
  queueManual(
    uid: string,
    opts: { actor: string },
  ): Promise<
    | { queued: true; attemptId: string }
    | { queued: false; reason: "in-flight" | "stopping" | "vault-unreachable" }
  >;
  /** What the gateway is doing: since when, its last successful vault listing, whether the vault answers. */
  state(): { startedAt: Date; lastTickAt: Date | null; vaultReachable: boolean; running: string[] };
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  /** Take no new work; wait up to `timeoutMs` for running attempts. */
  stop(timeoutMs?: number): Promise<{ drained: boolean }>;
  /** Every attempt this gateway recorded, in order. */
  readonly attempts: readonly RotationAttempt[];
  stats(): GatewayStats;
  /** The pace of each AWS account and service this gateway has called (pacer.ts). */
  paces(): PaceReport[];
}

export function createGateway(o: GatewayOptions): Gateway {
  const { config } = o;
  const store = o.store;
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? quiet;
  const actor = o.actor ?? "rekey gateway";
  const random = o.random ?? Math.random;
  const startedAt = new Date(clock.now());
  const limiter: Limiter = createLimiter({
    maxConcurrent: config.maxConcurrent,
    maxPerAccount: config.maxPerAccount,
  });
  // One pace per AWS account and service for all of this gateway's rotations (pacer.ts).
  const pacers = createPacers({
    maxRate: config.throttle.maxRequestsPerSecond,
    clock,
    logger,
    onRate: (r) => o.observer?.awsPace?.(r.account, r.service, r.requestsPerSecond),
  });
  const stats: GatewayStats = {
    succeeded: 0,
    "script-failed": 0,
    held: 0,
    failed: 0,
    skipped: 0,
    busy: 0,
    throttles: 0,
    active: 0,
    queued: 0,
  };
  const attempts: RotationAttempt[] = [];
  /** Per record: its recent history (refreshed by every job), and when this gateway first saw it. */
  const histories = new Map<string, RotationAttempt[]>();
  const firstSeen = new Map<string, Date>();
  const inFlight = new Map<string, Promise<void>>();
  const warned = new Set<string>();
  /** Records found locked by another process: one skipped entry per lock episode, then wait. */
  const lockWaits = new Set<string>();
  let stopping = false;
  let timer: unknown;
  let ticks = 0;
  let started = false;
  let looping = false;
  /** When the next listing is due (tickSeconds after the last), and the earliest planned run or grace end. */
  let nextListAt = 0;
  let nextPlanAt = Number.POSITIVE_INFINITY;
  /** Plan passes run one at a time (a tick and a finished job may both ask for one). */
  let passing: Promise<number> = Promise.resolve(0);
  const pendingManual: string[] = [];
  const spreadStart = Math.min(0.999_999, Math.max(0, o.spreadStart ?? Math.random()));
  /** Which records a pass plans: the schedule index where the store has one, else the whole listing. */
  const source: RecordSource = store.scheduleIndex
    ? indexedSource({
        store,
        index: store.scheduleIndex,
        spreadStart,
        verifyMs: ms(config.indexVerifySeconds),
        startedAt: startedAt.getTime(),
        logger,
        onDecrypt: (n) => o.observer?.decrypt?.(n),
      })
    : listingSource(store, spreadStart);
  /** Set while the vault is unreachable: since when, and how many listings failed. */
  let outage: { since: number; failures: number } | undefined;
  let lastTickAt: Date | null = null;

  const deps: RunnerDeps = runnerDeps({
    store,
    config,
    clock,
    logger,
    actor,
    random,
    env: o.env,
    rotate: o.rotate,
    runScript: o.runScript,
    repair: o.repair,
    pacers,
    onThrottle: () => {
      stats.throttles++;
    },
    onAwsRetry: (account, throttled) => o.observer?.awsRetry?.(account, throttled),
    onAwsCall: (account) => o.observer?.awsCall?.(account),
  });
  const { engine } = deps;

  const configurationOf = (user: StoredRecord) => configurationFor(user.record, source.configurations());

  const plan = (user: StoredRecord, history: RotationAttempt[], now: Date): PlannedRun | null => {
    const { schedule } = effectiveSchedule(user.record, configurationOf(user)?.record);
    return planRun(
      {
        uid: user.uid,
        schedule,
        keyCreatedAt: parseCreateDate(getFieldValue(user.record, "CreateDate")),
        history,
        firstSeenAt: firstSeen.get(user.uid),
      },
      { now, startedAt, maxJitterMs: ms(config.jitterSeconds) },
    );
  };

  const warnOnce = (key: string, obj: object, msg: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    logger.warn(obj, msg);
  };

  const record = (entry: RotationAttempt) => {
    attempts.push(entry);
    stats[entry.outcome]++;
    histories.set(entry.recordUid, [...(histories.get(entry.recordUid) ?? []), entry]);
  };

  const handle = async (job: Job, r: JobOutcome) => {
    if (r.kind === "busy") {
      stats.busy++;
      // Losing a race is not a failure and is never retried blindly: say it once, then wait for the
      // lock to go and re-plan from the vault (the winner has moved CreateDate and written its history).
      if (!lockWaits.has(job.uid)) {
        lockWaits.add(job.uid);
        record(
          await recordSkipped(
            deps,
            job,
            "the record is being rotated by another process (a manual rekey rotate or another gateway); re-planned once it is done",
          ),
        );
      }
      return undefined;
    }
    lockWaits.delete(job.uid);
    histories.set(job.uid, r.history);
    if (r.kind === "not-due") return undefined;
    attempts.push(r.entry);
    stats[r.entry.outcome]++;
    if (r.entry.outcome === "skipped") lockWaits.add(job.uid);
    return r.notice;
  };

  const notify = async (notice: RotationNotice) => {
    if (config.webhooks.length === 0) return;
    const results = await notifyAll(config.webhooks, notice, {
      ...(o.fetch ? { fetch: o.fetch } : {}),
      random,
    });
    for (const w of results) {
      o.observer?.webhook?.(w.ok);
      if (!w.ok)
        logger.warn(
          { recordUid: notice.record.uid, target: w.target, attempts: w.attempts, error: w.error },
          "webhook not delivered",
        );
    }
  };

  /** `work` resolves true when the job changed the record (then it is re-read and re-planned at once). */
  const track = (uid: string, work: Promise<boolean>) => {
    let changed = false;
    const done = work
      .then((c) => {
        changed = c;
      })
      .catch((err: unknown) => {
        // Dropped by stop() while queued: it is still due at the next start.
        if (stopping) return;
        logger.error({ recordUid: uid, error: (err as Error)?.message ?? String(err) }, "job failed");
      })
      // Re-read after the job, so the next plan sees its new CreateDate (or that it is gone).
      .then(() => source.touched(uid, changed))
      .catch((err: unknown) =>
        logger.warn({ recordUid: uid, error: (err as Error)?.message }, "could not re-read the record"),
      )
      .finally(() => {
        inFlight.delete(uid);
        // Re-plan now: a record on a short schedule is due again long before the next listing.
        if (changed && looping && !stopping) replan();
      });
    inFlight.set(uid, done);
  };

  const enqueue = (job: Job) => {
    if (stopping || outage || inFlight.has(job.uid)) return false;
    track(
      job.uid,
      limiter
        .run(job.account, async (): Promise<JobOutcome> => {
          // Queued before the vault went away: dropped, still due once it is back.
          if (outage) return { kind: "not-due", history: histories.get(job.uid) ?? [] };
          return runJob(deps, job);
        })
        .then(async (r) => {
          const notice = await handle(job, r);
          if (notice) await notify(notice);
          return r.kind === "done";
        }),
    );
    return true;
  };

  /**
   * The engine's repair of one record, under its lease: graceful's previous key past its old_key_grace
   * (deleted by a running gateway, no restart needed), or a rotation journal left pending by a process
   * that died or a rotation that failed (finished or undone; a lost create settled).
   */
  const enqueueRepair = (user: StoredRecord) => {
    if (stopping || outage || inFlight.has(user.uid)) return false;
    track(
      user.uid,
      limiter
        .run(accountKey(user.record, configurationOf(user)), async () =>
          outage ? undefined : runRepairJob(deps, user.uid),
        )
        .then((r) => r !== undefined),
    );
    return true;
  };

  /**
   * Attempt markers no job of this gateway holds: another gateway's work in progress (its lease is held:
   * nothing happens), or left by a gateway that died: recorded as interrupted once its lease is free.
   */
  const enqueueRecover = (user: StoredRecord, markers: readonly JournalEntry[]) => {
    if (stopping || outage || inFlight.has(user.uid)) return false;
    const work = async () => {
      let changed = false;
      for (const j of markers) {
        if (outage) break;
        const r = await recoverMarker(deps, j);
        if (r.kind === "busy") {
          // Another gateway's attempt in progress: not looked at again before the next listing.
          stats.busy++;
          lockWaits.add(user.uid);
          break;
        }
        if (r.kind !== "recorded") continue;
        const { entry } = r;
        lockWaits.delete(user.uid);
        changed = true;
        histories.delete(entry.recordUid);
        attempts.push(entry);
        stats[entry.outcome]++;
        const notice = noticeFor(entry);
        if (notice) await notify(notice);
      }
      return changed;
    };
    track(user.uid, limiter.run(accountKey(user.record, configurationOf(user)), work));
    return true;
  };

  /**
   * Plan every known record at `now`: queue what is due, and remember the earliest future run (or end of
   * grace) so the loop sleeps until then.
   */
  const planPass = async (
    now: Date,
    listed: boolean,
    pending: ReadonlySet<string>,
    markers: ReadonlyMap<string, JournalEntry[]>,
  ): Promise<number> => {
    let queued = 0;
    let next = Number.POSITIVE_INFINITY;
    // Listed passes also look at what the journal names; every pass at what may be due. (A record that
    // was locked by another process is due by its row, or changed by the holder: planned either way.)
    const extra = listed ? [...pending, ...markers.keys()] : [];
    const uids = source.candidates(now.getTime(), extra);
    for (const uid of uids) {
      // Checked before decrypting: work under way or waiting for a lock costs nothing.
      if (inFlight.has(uid)) continue;
      // Locked by another process: looked at again at the next listing, not in between.
      if (lockWaits.has(uid) && !listed) continue;
      const user = await source.load(uid);
      if (user?.record.type !== "pamUser") continue;
      // Records there at the first tick were there at start: a never-rotated one is a start-up catch-up.
      if (!firstSeen.has(user.uid)) firstSeen.set(user.uid, ticks === 0 ? startedAt : now);
      // A rotation journal left pending (a dead process, a failed rotation): repaired first.
      if (pending.has(user.uid)) {
        if (enqueueRepair(user)) queued++;
        continue;
      }
      // An attempt marker no job here holds: another gateway's work, or one a dead gateway left.
      const left = markers.get(user.uid);
      if (left) {
        if (enqueueRecover(user, left)) queued++;
        continue;
      }
      let history = histories.get(user.uid);
      if (!history) {
        const read = await readHistory(store, user.uid);
        // A job that ended while this read was under way left a newer history: keep that one.
        history = histories.get(user.uid) ?? read;
        histories.set(user.uid, history);
      }
      const graceEnd = graceExpiresAt(user.record);
      let run: PlannedRun | null;
      try {
        run = plan(user, history, now);
      } catch (err) {
        warnOnce(
          `${user.uid}:${(err as Error).message}`,
          { recordUid: user.uid, error: (err as Error).message },
          "record skipped: its schedule cannot be read",
        );
        run = null;
      }
      const lastOutcome = history.at(-1)?.outcome ?? null;
      const dueAt = Math.min(
        run?.at.getTime() ?? Number.POSITIVE_INFINITY,
        graceEnd?.getTime() ?? Number.POSITIVE_INFINITY,
      );
      source.planned(user, {
        nextDueAt: Number.isFinite(dueAt) ? dueAt : null,
        lastOutcome,
        now: now.getTime(),
      });
      if (run && isRunDue(run, now)) {
        const job: Job = {
          uid: user.uid,
          account: accountKey(user.record, configurationOf(user)),
          trigger: run.trigger,
          attempt: run.attempt,
          slot: run.slot,
          replan: (fresh, h) => plan(fresh, h, new Date(clock.now())),
          configuration: configurationOf,
          rotate: { peers: await source.peers(user) },
        };
        if (enqueue(job)) queued++;
        continue;
      }
      if (run) next = Math.min(next, run.at.getTime());
      if (graceEnd) {
        if (graceEnd.getTime() <= now.getTime()) {
          if (enqueueRepair(user)) queued++;
        } else next = Math.min(next, graceEnd.getTime());
      }
    }
    // Records not planned now: their index rows say when they are due (Infinity without an index).
    next = Math.min(next, source.nextOther(new Set(uids)));
    await source.flush(now.getTime());
    nextPlanAt = next;
    return queued;
  };

  /** Run a plan pass after any pass under way (passes share the caches), then re-arm the timer. */
  const pass = (list: boolean): Promise<number> => {
    const work = passing.then(async () => {
      if (stopping) return 0;
      // While the vault is unreachable only the (backed-off) listing runs: it tells when it is back.
      if (outage && !list) return 0;
      const now = new Date(clock.now());
      if (!list) return planPass(now, false, new Set(), new Map());
      let journal: JournalEntry[];
      try {
        // One listing per tick (a Keeper vault answers it with one KSM request); with a schedule index,
        // a change mark, then only what changed (schedule-index-source.ts).
        await source.list(now.getTime());
        // The periodic repair: work in the journal that no running job of this gateway holds.
        journal = await store.listJournal();
        lastTickAt = now;
        o.observer?.tick?.(now);
      } catch (err) {
        unreachable(now, err);
        return 0;
      }
      if (outage) {
        logger.info(
          { downSeconds: Math.round((now.getTime() - outage.since) / 1000), failedListings: outage.failures },
          "vault reachable again",
        );
        outage = undefined;
      }
      nextListAt = now.getTime() + ms(config.tickSeconds);
      const pending = new Set<string>();
      const markers = new Map<string, JournalEntry[]>();
      for (const j of journal) {
        if (j.kind === ROTATION_JOURNAL_KIND) pending.add(j.recordUid);
        else if (j.kind === ATTEMPT_JOURNAL_KIND)
          markers.set(j.recordUid, [...(markers.get(j.recordUid) ?? []), j]);
      }
      const queued = await planPass(now, true, pending, markers);
      ticks++;
      if (queued > 0) logger.debug({ queued }, "tick");
      return queued;
    });
    passing = work.catch(() => 0);
    return work;
  };

  /** A listing failed: take no new work, and list again after a backoff. */
  const unreachable = (now: Date, err: unknown) => {
    outage ??= { since: now.getTime(), failures: 0 };
    outage.failures++;
    const delay = unreachableDelayMs(outage.failures);
    nextListAt = now.getTime() + delay;
    nextPlanAt = Number.POSITIVE_INFINITY;
    logger.warn(
      {
        error: err instanceof Error ? err.message : String(err),
        failedListings: outage.failures,
        retryInSeconds: delay / 1000,
        running: inFlight.size,
      },
      "vault unreachable",
    );
  };

  /** Sleep until the next listing or the next due time, whichever comes first. */
  const arm = () => {
    if (!looping || stopping) return;
    if (timer !== undefined) clock.clearTimer(timer);
    const wakeAt = Math.min(nextListAt, nextPlanAt);
    timer = clock.setTimer(onTimer, Math.max(0, wakeAt - clock.now()));
  };

  const onTimer = () => {
    timer = undefined;
    if (stopping) return;
    pass(clock.now() >= nextListAt)
      .catch((err: unknown) => logger.error({ error: (err as Error).message }, "tick failed"))
      .finally(arm);
  };

  const replan = () => {
    pass(false)
      .catch((err: unknown) => logger.error({ error: (err as Error).message }, "re-plan failed"))
      .finally(arm);
  };

  const gateway: Gateway = {
    attempts,

    async start(opts = {}) {
      const repair =
        o.repair ??
        (async (s: AsyncVaultStore, r: RepairOptions) =>
          (await import("../rotation/index.js")).repairRecords(s, r));
      try {
        const result = await repair(store, { ...engine, actor, logger });
        for (const r of result.records) {
          const level = r.outcome === "failed" ? "warn" : "info";
          logger[level](
            { recordUid: r.recordUid, outcome: r.outcome, error: r.error?.message },
            "start-up repair",
          );
        }
      } catch (err) {
        logger.error({ error: (err as Error).message }, "start-up repair failed; going on");
      }
      try {
        for (const entry of await recoverInterrupted(deps)) {
          histories.delete(entry.recordUid);
          attempts.push(entry);
          stats[entry.outcome]++;
          const notice = noticeFor(entry);
          if (notice) await notify(notice);
        }
      } catch (err) {
        logger.error({ error: (err as Error).message }, "could not record interrupted attempts; going on");
      }
      started = true;
      // On-demand runs asked for before start: after the repair, like everything else.
      await gateway.rotateNow(pendingManual.splice(0));
      await gateway.tick();
      if (opts.loop === false) return;
      looping = true;
      arm();
    },

    async tick() {
      return pass(true);
    },

    async rotateNow(refs) {
      if (!started) {
        pendingManual.push(...refs);
        return;
      }
      if (refs.length === 0) return;
      await source.prepareManual();
      for (const ref of refs) {
        const user = await findRecord(store, ref);
        enqueue({
          uid: user.uid,
          account: accountKey(user.record, configurationOf(user)),
          trigger: "manual",
          attempt: 1,
          slot: null,
          configuration: configurationOf,
          rotate: { peers: await source.peers(user) },
        });
      }
    },

    async queueManual(uid, _opts) {
      if (stopping) return { queued: false, reason: "stopping" };
      if (outage) return { queued: false, reason: "vault-unreachable" };
      if (inFlight.has(uid)) return { queued: false, reason: "in-flight" };
      await source.prepareManual();
      const user = await findRecord(store, uid);
      const attemptId = randomUUID();
      const queued = enqueue({
        uid: user.uid,
        account: accountKey(user.record, configurationOf(user)),
        trigger: "manual",
        attempt: 1,
        slot: null,
        configuration: configurationOf,
        rotate: { peers: await source.peers(user) },
        attemptId,
      });
      return queued ? { queued: true, attemptId } : { queued: false, reason: "in-flight" };
    },

    state() {
      return { startedAt, lastTickAt, vaultReachable: outage === undefined, running: [...inFlight.keys()] };
    },

    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
    },

    async stop(timeoutMs = ms(config.shutdownTimeoutSeconds)) {
      stopping = true;
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
      limiter.close();
      let expired: unknown;
      const drained = await Promise.race([
        gateway.idle().then(() => true),
        new Promise<boolean>((resolve) => {
          expired = clock.setTimer(() => resolve(false), timeoutMs);
        }),
      ]);
      clock.clearTimer(expired);
      return { drained };
    },

    paces: () => pacers.report(),

    stats() {
      const l = limiter.stats();
      return { ...stats, active: l.active, queued: l.queued };
    },
  };
  return gateway;
}

const quiet: RotationLogger = { debug() {}, info() {}, warn() {}, error() {} };
