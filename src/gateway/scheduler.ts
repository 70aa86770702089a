/**
 * When does a record run next, and as what (trigger, slot, attempt)? Pure: the gateway passes the
 * record's schedule, its key's CreateDate, its stored history and the time; no clock, no I/O.
 *
 * The reference for the next slot is the later of the key's CreateDate and the last settled attempt,
 * both read from the vault: a rotation done just before a crash (record saved, history not yet written)
 * still counts, so a restart neither loses nor doubles a run, and any number of missed slots is one run.
 */
import { lastSettledAt, pendingRetry, type RotationAttempt, type Trigger } from "./history-model.js";
import { nextDue, type Schedule, stableRandom, withJitter } from "./schedule.js";

export interface RecordTiming {
  uid: string;
  schedule: Schedule;
  /** The current key's CreateDate (the record's `CreateDate` field), if any. */
  keyCreatedAt: Date | null;
  /** This record's history entries (any order). */
  history: readonly RotationAttempt[];
  /**
   * When the gateway first saw the record (default: its start). A record never rotated is due then:
   * a fixed time, so its jittered run time is the same at every tick.
   */
  firstSeenAt?: Date | undefined;
}

export interface PlanOptions {
  now: Date;
  /** When this gateway started: a run due at or before it was missed while the gateway was down. */
  startedAt: Date;
  maxJitterMs: number;
}

export interface PlannedRun {
  /** When to run (the slot plus jitter, or the retry time). At or before `now` = now. */
  at: Date;
  /** The slot this run serves (before jitter); a retry keeps its slot. */
  slot: Date;
  trigger: Trigger;
  /** 1 for a slot's first try. */
  attempt: number;
}

/**
 * The record's next run, or null when it has none (on demand only, run-once done).
 *
 * @example
 * planRun({ uid, schedule: parseSchedule("every 1d"), keyCreatedAt: null, history: [] },
 *   { now, startedAt: now, maxJitterMs: 0 }) // { at: now, trigger: "startup-catch-up", attempt: 1, ... }
 */
export function planRun(t: RecordTiming, opts: PlanOptions): PlannedRun | null {
  const retry = retryOwed(t);
  if (retry) return retry;

  // History written by a gateway whose clock runs ahead would otherwise push every due time later:
  // an entry from "the future" counts as settled now.
  const written = lastSettledAt(t.history);
  const settled = written && written.getTime() > opts.now.getTime() ? opts.now : written;
  const ref = later(t.keyCreatedAt, settled);
  const firstSeen = t.firstSeenAt ?? opts.startedAt;
  const slot = nextDue(t.schedule, { lastRotation: ref, now: ref ? opts.now : firstSeen });
  if (!slot) return null;
  const trigger: Trigger = slot.getTime() <= opts.startedAt.getTime() ? "startup-catch-up" : "schedule";
  // Jitter spreads the runs that come due while a gateway runs. It never defers a run that was already
  // due when the gateway started (a missed slot), nor a record never rotated: `rekey status` says "due
  // now" for those, and `gateway --once` or the daemon's first tick rotates them.
  const at =
    trigger === "startup-catch-up" || !ref
      ? slot
      : withJitter(slot, jitterCap(t.schedule, opts.maxJitterMs), stableRandom(t.uid + slot.toISOString()));
  return { at, slot, trigger, attempt: 1 };
}

/** True when `run` should start at `now`. */
export function isRunDue(run: PlannedRun | null, now: Date): boolean {
  return run !== null && run.at.getTime() <= now.getTime();
}

/**
 * A retry still owed for a failed slot, unless the key was rotated since the failure (by `rekey rotate`
 * or another gateway): then that slot is done.
 */
function retryOwed(t: RecordTiming): PlannedRun | null {
  const retry = pendingRetry(t.history);
  if (!retry) return null;
  const failed = latestTried(t.history);
  if (!failed) return null;
  const failedEnd = Date.parse(failed.endedAt ?? failed.startedAt);
  // CreateDate has whole seconds: a key created during the failed attempt is that attempt's own work
  // (finished by the retry through the journal), not a later rotation.
  if (t.keyCreatedAt && t.keyCreatedAt.getTime() > failedEnd + 1000) return null;
  return {
    at: retry.at,
    slot: failed.slot ? new Date(failed.slot) : retry.at,
    trigger: failed.trigger,
    attempt: retry.attempt,
  };
}

function latestTried(entries: readonly RotationAttempt[]): RotationAttempt | undefined {
  let best: RotationAttempt | undefined;
  for (const e of entries) {
    if (e.outcome === "skipped") continue;
    if (!best || Date.parse(e.startedAt) >= Date.parse(best.startedAt)) best = e;
  }
  return best;
}

/** `every <n>` schedules get at most a tenth of their interval as jitter: "every 2s" must stay ~2 s. */
export function jitterCap(s: Schedule, maxJitterMs: number): number {
  return s.kind === "every" ? Math.min(maxJitterMs, Math.floor(s.everyMs / 10)) : maxJitterMs;
}

function later(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() >= b.getTime() ? a : b;
}

/** The record's CreateDate field as a date, or null when absent or unreadable. */
export function parseCreateDate(value: string | undefined): Date | null {
  // `-` / `none`: the template's "no key yet" placeholder (settings.ts NO_KEY_PLACEHOLDERS).
  const v = value?.trim();
  if (!v || v === "-" || v.toLowerCase() === "none") return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t);
}
