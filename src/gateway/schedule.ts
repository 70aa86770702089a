/**
 * Rotation schedules: parse what the user types, decide when a record is due. Pure: no clock, no I/O
 * (the caller passes `now`), so every decision is table-tested.
 *
 * Accepted input (`parseSchedule`):
 * - `every <n>(s|m|h|d)`: an interval counted from the last rotation (also `sec`, `min`, `hours`,
 *   `days`, `w`/`weeks`).
 * - a cron pattern: 5 fields (Unix, minute first) or 6 fields (Quartz, seconds first, `?` accepted,
 *   day-of-week 1=SUN..7=SAT), 7 with a year; `@daily`-style nicknames. Time zone: `opts.tz`, default
 *   Etc/UTC (never the host's zone: a gateway moved to another host must not shift its schedule).
 * - a Keeper schedule JSON object, or Keeper's field value (an array of one such object; `[]` = on
 *   demand). Mapping in schedule-keeper.ts.
 * - `none` (also `never`, `manual`, `on-demand`): on demand only.
 *
 * The stored form is always Keeper's schedule JSON (`toKeeperJson`); see schedule-field.ts.
 */

import { createHash } from "node:crypto";
import { usageError } from "../errors.js";
import { parseJsonSafely } from "../json.js";
import { checkTimeZone, looksLikeCron, quartzCron, toQuartz } from "./schedule-cron.js";
import { fromKeeperJson, parseEvery } from "./schedule-keeper.js";

/** Keeper's schedule JSON (`{"type":"CRON","cron":"0 0 4 * * ?","tz":"Etc/UTC"}`), kept as given. */
export interface KeeperScheduleJson {
  type: string;
  [property: string]: unknown;
}

export type Schedule =
  /** On demand only (Keeper: an empty schedule, `[]`). */
  | { kind: "none" }
  /** Every `everyMs` after the last rotation. `text` is the canonical spelling, e.g. "6h". */
  | { kind: "every"; everyMs: number; text: string }
  /**
   * A calendar schedule as a Quartz cron in `tz`. `intervalCount` > 1 (Keeper's "every 2 days")
   * skips slots: the due time is the n-th slot after the last rotation. `keeper` is the stored form.
   */
  | { kind: "cron"; cron: string; tz: string; intervalCount: number; keeper: KeeperScheduleJson }
  /** Once, at `at` (Keeper RUN_ONCE). */
  | { kind: "once"; at: Date; keeper: KeeperScheduleJson };

export interface ParseScheduleOptions {
  /** Time zone for a cron pattern, and for Keeper JSON that names none. Default "Etc/UTC". */
  tz?: string | undefined;
}

export const SCHEDULE_EXAMPLES =
  'e.g. "every 12h", "0 0 4 * * ?" (04:00 daily, Quartz), "30 2 * * MON-FRI" --tz Europe/Paris, ' +
  '\'{"type":"WEEKLY","weekday":"SUNDAY","time":"03:00:00","tz":"Etc/UTC"}\', or "none"';

const NONE_WORDS = new Set(["none", "never", "manual", "off", "on-demand", "ondemand", "on demand"]);

/**
 * Parse a schedule as typed on the command line or read from a record.
 *
 * @example parseSchedule("every 90d")                // { kind: "every", everyMs: 7776000000, text: "90d" }
 * @example parseSchedule("0 4 * * *", { tz: "Europe/Paris" }).kind // "cron"
 * @throws RekeyError (usage) naming the problem, with examples in the hint.
 */
export function parseSchedule(input: string, opts: ParseScheduleOptions = {}): Schedule {
  const text = input.trim();
  if (!text) throw usageError("the schedule is empty", `give one, ${SCHEDULE_EXAMPLES}`);
  if (NONE_WORDS.has(text.toLowerCase())) return { kind: "none" };
  if (text.startsWith("{") || text.startsWith("[")) {
    return fromKeeperJson(parseJsonSafely(text, "the schedule", { hint: SCHEDULE_EXAMPLES }), opts);
  }
  if (/^every\b/i.test(text)) return parseEvery(text.replace(/^every\s*/i, ""), text);
  if (looksLikeCron(text)) {
    const tz = checkTimeZone(opts.tz ?? "Etc/UTC");
    const cron = toQuartz(text, tz);
    return { kind: "cron", cron, tz, intervalCount: 1, keeper: { type: "CRON", cron, tz } };
  }
  throw usageError(`"${text}" is not a schedule`, SCHEDULE_EXAMPLES);
}

/** The stored form: Keeper's schedule JSON, or null for "on demand only" (Keeper stores `[]`). */
export function toKeeperJson(s: Schedule): KeeperScheduleJson | null {
  switch (s.kind) {
    case "none":
      return null;
    case "every":
      // Not a Keeper type: rekey's own. Keeper keeps a user's schedule outside the record, so no
      // Keeper component reads this field; rekey reads it back with parseSchedule.
      return { type: "INTERVAL", every: s.text };
    case "cron":
    case "once":
      return structuredClone(s.keeper);
  }
}

/**
 * The canonical text of a schedule: the JSON of its record field value (`[]` or `[{...}]`).
 * `parseSchedule(serializeSchedule(s))` gives `s` back.
 */
export function serializeSchedule(s: Schedule): string {
  const json = toKeeperJson(s);
  return JSON.stringify(json ? [json] : []);
}

/** One line for `rekey status` and logs. */
export function describeSchedule(s: Schedule): string {
  switch (s.kind) {
    case "none":
      return "on demand only";
    case "every":
      return `every ${s.text}`;
    case "once":
      return `once at ${s.at.toISOString()}`;
    case "cron": {
      const every = s.intervalCount > 1 ? `, every ${s.intervalCount} slots` : "";
      const type = s.keeper.type === "CRON" ? "cron" : s.keeper.type;
      return `${type} "${s.cron}" in ${s.tz}${every}`;
    }
  }
}

export interface DueInput {
  /**
   * When the record was last rotated, or its last slot given up after failed retries (whichever is
   * later); null if never. From stored data, so a restart neither loses nor doubles a run.
   */
  lastRotation: Date | null;
  now: Date;
  /**
   * A slot this close after `lastRotation` counts as done by it (default 1000 ms): AWS's CreateDate has
   * whole seconds, so a rotation at 04:00:00.300 is stored as 04:00:00 and must not look like it
   * preceded the 04:00:00 slot.
   */
  toleranceMs?: number;
}

/**
 * When the record is next due, or null if never (on demand only, a run-once already done, a cron
 * with a past year). A time at or before `now` means due now: however many slots were missed while
 * the gateway was down, it is one run, because the run moves `lastRotation` past all of them.
 * A record never rotated (`lastRotation` null) is due now.
 */
export function nextDue(s: Schedule, input: DueInput): Date | null {
  const { lastRotation, now } = input;
  const tolerance = input.toleranceMs ?? 1000;
  switch (s.kind) {
    case "none":
      return null;
    case "every":
      return lastRotation ? new Date(lastRotation.getTime() + s.everyMs) : now;
    case "once":
      if (lastRotation && lastRotation.getTime() + tolerance >= s.at.getTime()) return null;
      return s.at;
    case "cron": {
      if (!lastRotation) return now;
      const from = new Date(lastRotation.getTime() + tolerance);
      const runs = quartzCron(s.cron, s.tz).nextRuns(s.intervalCount, from);
      return runs.length === s.intervalCount ? (runs[runs.length - 1] ?? null) : null;
    }
  }
}

/** True if the record should run at `now`. */
export function isDue(s: Schedule, input: DueInput): boolean {
  const due = nextDue(s, input);
  return due !== null && due.getTime() <= input.now.getTime();
}

/**
 * `date` moved later by [0, maxJitterMs), to spread a fleet whose slots coincide. Never earlier: a run
 * before its slot would leave the slot itself still ahead of the new `lastRotation`.
 * Use `stableRandom(uid + slot)` as `rand` so a restart computes the same jittered time.
 */
export function withJitter(date: Date, maxJitterMs: number, rand: () => number = Math.random): Date {
  if (!(maxJitterMs > 0)) return date;
  const r = Math.min(Math.max(rand(), 0), 0.999_999_999);
  return new Date(date.getTime() + Math.floor(r * maxJitterMs));
}

/** A deterministic random source in [0, 1) seeded by a string (mulberry32 over a SHA-256 prefix). */
export function stableRandom(seed: string): () => number {
  let a = createHash("sha256").update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
