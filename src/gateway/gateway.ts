/**
 * The gateway: a long-running loop over the vault that rotates every pamUser record with a schedule
 * when it is due (scheduler.ts decides when, runner.ts does one attempt, the rotation engine does how).
 *
 * Start-up: finish or undo interrupted rotations (`repairRecords`), then a first tick at once; runs
 * missed while the gateway was down are due then, once each, tagged `startup-catch-up`. Then a tick
 * every `tickSeconds`: each due record not already queued or running is handed to the limiter (bounded
 * concurrency overall and per AWS account, pausing an account IAM throttles).
 *
 * Stop (SIGTERM/SIGINT in `rekey gateway`): no more ticks, queued work is dropped (it is still due at
 * the next start), running attempts finish within a bounded wait. A SIGKILL is covered by the engine's
 * journal and by the next start's repair.
 */
import type { RepairOptions, RepairResult, RotateOptions, RotationLogger } from "../rotation/index.js";
import { type AsyncVaultStore, toAsyncStore } from "../vault/async-store.js";
import { findRecord } from "../vault/find-record.js";
import { getFieldValue } from "../vault/record.js";
import type { StoredRecord, VaultStore } from "../vault/store.js";
import { type Clock, systemClock } from "./clock.js";
import { type GatewayConfig, ms } from "./config.js";
import type { RotationAttempt } from "./history-model.js";
import { createLimiter, type Limiter } from "./limiter.js";
import { notifyAll, type RotationNotice } from "./notify.js";
import { accountKey, configurationFor, readHistory } from "./records.js";
import { recoverInterrupted } from "./recover.js";
import { type Job, type JobOutcome, noticeFor, type RotateFn, type RunnerDeps, runJob } from "./runner.js";
import { effectiveSchedule } from "./schedule-field.js";
import { isRunDue, type PlannedRun, parseCreateDate, planRun } from "./scheduler.js";

export interface GatewayOptions {
  /** The local vault (synchronous) or any async vault (a KeeperVault). */
  store: VaultStore | AsyncVaultStore;
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
}

export interface GatewayStats {
  /** Attempts recorded by this gateway, by outcome. */
  succeeded: number;
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
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  /** Take no new work; wait up to `timeoutMs` for running attempts. */
  stop(timeoutMs?: number): Promise<{ drained: boolean }>;
  /** Every attempt this gateway recorded, in order. */
  readonly attempts: readonly RotationAttempt[];
  stats(): GatewayStats;
}

export function createGateway(o: GatewayOptions): Gateway {
  const { config } = o;
  const store = toAsyncStore(o.store);
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? quiet;
  const actor = o.actor ?? "rekey gateway";
  const random = o.random ?? Math.random;
  const startedAt = new Date(clock.now());
  const limiter: Limiter = createLimiter({
    maxConcurrent: config.maxConcurrent,
    maxPerAccount: config.maxPerAccount,
    clock,
    throttle: {
      pauseMs: ms(config.throttle.pauseSeconds),
      decayMs: ms(config.throttle.recoverySeconds),
    },
  });
  const engine: RotateOptions = {
    endpointUrl: config.engine.endpointUrl,
    region: config.engine.region,
    verify: config.engine.verify,
    verifyTimeoutMs: config.engine.verifyTimeoutSeconds ? ms(config.engine.verifyTimeoutSeconds) : undefined,
    requestTimeoutMs: config.engine.requestTimeoutSeconds
      ? ms(config.engine.requestTimeoutSeconds)
      : undefined,
    retry: config.engine.awsRetry,
    env: o.env ?? process.env,
  };
  const stats: GatewayStats = {
    succeeded: 0,
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
  let configurations: StoredRecord[] = [];
  let stopping = false;
  let timer: unknown;
  let ticks = 0;
  let started = false;
  const pendingManual: string[] = [];

  const deps: RunnerDeps = {
    store,
    clock,
    logger,
    rotate:
      o.rotate ?? (async (s, ref, opts) => (await import("../rotation/index.js")).rotateRecord(s, ref, opts)),
    engine,
    retry: {
      maxAttempts: config.retry.maxAttempts,
      baseDelayMs: ms(config.retry.baseDelaySeconds),
      maxDelayMs: ms(config.retry.maxDelaySeconds),
    },
    leaseTtlMs: ms(config.leaseTtlSeconds),
    scriptTimeoutMs: ms(config.scriptTimeoutSeconds),
    onThrottle: (account) => {
      stats.throttles++;
      limiter.onThrottle(account);
    },
    random,
    actor,
    runScript: o.runScript,
  };

  const configurationOf = (user: StoredRecord) => configurationFor(user.record, configurations);

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

  const handle = (job: Job, r: JobOutcome) => {
    if (r.kind === "busy") {
      stats.busy++;
      logger.debug({ recordUid: job.uid }, "record is being handled by another gateway");
      return undefined;
    }
    histories.set(job.uid, r.history);
    if (r.kind === "not-due") return undefined;
    attempts.push(r.entry);
    stats[r.entry.outcome]++;
    return r.notice;
  };

  const notify = async (notice: RotationNotice) => {
    if (config.webhooks.length === 0) return;
    const results = await notifyAll(config.webhooks, notice, {
      ...(o.fetch ? { fetch: o.fetch } : {}),
      random,
    });
    for (const w of results) {
      if (!w.ok)
        logger.warn(
          { recordUid: notice.record.uid, target: w.target, attempts: w.attempts, error: w.error },
          "webhook not delivered",
        );
    }
  };

  const enqueue = (job: Job) => {
    if (stopping || inFlight.has(job.uid)) return false;
    const work = limiter
      .run(job.account, () => runJob(deps, job))
      .then(async (r) => {
        const notice = handle(job, r);
        if (notice) await notify(notice);
      })
      .catch((err: unknown) => {
        // Dropped by stop() while queued: it is still due at the next start.
        if (stopping) return;
        logger.error({ recordUid: job.uid, error: (err as Error)?.message ?? String(err) }, "job failed");
      })
      .finally(() => inFlight.delete(job.uid));
    inFlight.set(job.uid, work);
    return true;
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
      const loop = () => {
        timer = undefined;
        if (stopping) return;
        gateway
          .tick()
          .catch((err: unknown) => logger.error({ error: (err as Error).message }, "tick failed"))
          .finally(() => {
            if (!stopping) timer = clock.setTimer(loop, ms(config.tickSeconds));
          });
      };
      timer = clock.setTimer(loop, ms(config.tickSeconds));
    },

    async tick() {
      if (stopping) return 0;
      const now = new Date(clock.now());
      // One listing per tick (a Keeper vault answers it with one KSM request; types are sealed in SQLite).
      const records = await store.listRecords();
      configurations = records.filter((r) => r.record.type === "pamAwsConfiguration");
      let queued = 0;
      for (const user of records.filter((r) => r.record.type === "pamUser")) {
        // Records there at the first tick were there at start: a never-rotated one is a start-up catch-up.
        if (!firstSeen.has(user.uid)) firstSeen.set(user.uid, ticks === 0 ? startedAt : now);
        if (inFlight.has(user.uid)) continue;
        let history = histories.get(user.uid);
        if (!history) {
          const read = await readHistory(store, user.uid);
          // A job that ended while this read was under way left a newer history: keep that one.
          history = histories.get(user.uid) ?? read;
          histories.set(user.uid, history);
        }
        let run: PlannedRun | null;
        try {
          run = plan(user, history, now);
        } catch (err) {
          warnOnce(
            `${user.uid}:${(err as Error).message}`,
            { recordUid: user.uid, error: (err as Error).message },
            "record skipped: its schedule cannot be read",
          );
          continue;
        }
        if (!isRunDue(run, now)) continue;
        const job: Job = {
          uid: user.uid,
          account: accountKey(user.record, configurationOf(user)),
          trigger: run.trigger,
          attempt: run.attempt,
          slot: run.slot,
          replan: (fresh, h) => plan(fresh, h, new Date(clock.now())),
          configuration: configurationOf,
        };
        if (enqueue(job)) queued++;
      }
      ticks++;
      if (queued > 0) logger.debug({ queued }, "tick");
      return queued;
    },

    async rotateNow(refs) {
      if (!started) {
        pendingManual.push(...refs);
        return;
      }
      if (refs.length === 0) return;
      configurations = await store.listRecords({ type: "pamAwsConfiguration" });
      for (const ref of refs) {
        const user = await findRecord(store, ref);
        enqueue({
          uid: user.uid,
          account: accountKey(user.record, configurationOf(user)),
          trigger: "manual",
          attempt: 1,
          slot: null,
          configuration: configurationOf,
        });
      }
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

    stats() {
      const l = limiter.stats();
      return { ...stats, active: l.active, queued: l.queued };
    },
  };
  return gateway;
}

const quiet: RotationLogger = { debug() {}, info() {}, warn() {}, error() {} };
