/**
 * Keeper's schedule JSON → a rekey Schedule (keeper-protocol.md §4). Keeper documents the types and
 * property names but not every detail, so this reads liberally and keeps the object as given (plus
 * `tz` when it had none) as the stored form.
 *
 * | type                 | properties read                              | evaluated as (Quartz cron)        |
 * |----------------------|----------------------------------------------|-----------------------------------|
 * | CRON                 | cron (5 or 6/7 fields), tz                   | the pattern                       |
 * | DAILY                | time / utcTime, tz, intervalCount (days)     | `s m h * * ?`                     |
 * | WEEKLY               | weekday (or a list), time, tz, intervalCount | `s m h ? * MON`                   |
 * | MONTHLY_BY_DAY       | monthDay (1-31, LAST), time, tz, intervalCnt | `s m h 15 * ?` / `s m h L * ?`    |
 * | MONTHLY_BY_WEEKDAY   | weekday, occurrence (FIRST..FIFTH, LAST)     | `s m h ? * FRI#3` / `FRI#L`        |
 * | YEARLY               | month, monthDay, time, tz, intervalCount     | `s m h 20 MAY ?`                  |
 * | RUN_ONCE             | date (YYYY-MM-DD) + time, or an ISO date-time| a single instant                  |
 * | INTERVAL (rekey's)   | every ("6h")                                 | every n after the last rotation   |
 *
 * - `time` is wall-clock time in `tz` (HH:MM or HH:MM:SS). `utcTime` is UTC: the whole schedule,
 *   days included, is then evaluated in UTC. Neither: 00:00:00.
 * - `tz` (also `timezone`): IANA name; default the caller's `--tz`, else Etc/UTC.
 * - Names (weekday, month, occurrence) in any case, full or 3-letter; numbers also work for months
 *   (1-12) and occurrences (1-5, -1 = last). Weekdays by name only (1 is Monday in some systems and
 *   Sunday in others).
 * - `intervalCount` n > 1: the n-th slot after the last rotation (every n days/weeks/months/years).
 * - monthDay 29-31 skips months that are shorter (cron semantics); use LAST for the month's last day.
 */

import { Cron } from "croner";
import { usageError } from "../errors.js";
import { parseJsonSafely } from "../json.js";
import type { KeeperScheduleJson, ParseScheduleOptions, Schedule } from "./schedule.js";
import { checkTimeZone, quartzCron, toQuartz } from "./schedule-cron.js";

const TYPES = [
  "CRON",
  "DAILY",
  "WEEKLY",
  "MONTHLY_BY_DAY",
  "MONTHLY_BY_WEEKDAY",
  "YEARLY",
  "RUN_ONCE",
  "INTERVAL",
] as const;

const EXAMPLES: Record<(typeof TYPES)[number], string> = {
  CRON: '{"type":"CRON","cron":"0 0 4 * * ?","tz":"Etc/UTC"}',
  DAILY: '{"type":"DAILY","time":"04:00:00","tz":"Etc/UTC","intervalCount":1}',
  WEEKLY: '{"type":"WEEKLY","weekday":"SUNDAY","time":"03:00:00","tz":"Etc/UTC"}',
  MONTHLY_BY_DAY: '{"type":"MONTHLY_BY_DAY","monthDay":15,"time":"02:00:00","tz":"Etc/UTC"}',
  MONTHLY_BY_WEEKDAY:
    '{"type":"MONTHLY_BY_WEEKDAY","weekday":"TUESDAY","occurrence":"SECOND","time":"09:30:00","tz":"America/New_York"}',
  YEARLY: '{"type":"YEARLY","month":"MAY","monthDay":20,"time":"00:00:00","tz":"Etc/UTC"}',
  RUN_ONCE: '{"type":"RUN_ONCE","date":"2030-01-23","time":"10:00:00","tz":"Europe/Paris"}',
  INTERVAL: '{"type":"INTERVAL","every":"12h"}',
};

const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const OCCURRENCES: Record<string, string> = {
  FIRST: "1",
  SECOND: "2",
  THIRD: "3",
  FOURTH: "4",
  FIFTH: "5",
  LAST: "L",
  "1": "1",
  "2": "2",
  "3": "3",
  "4": "4",
  "5": "5",
  "-1": "L",
  L: "L",
};

const UNIT_MS: Array<[RegExp, number, string]> = [
  [/^(s|secs?|seconds?)$/i, 1000, "s"],
  [/^(m|mins?|minutes?)$/i, 60_000, "m"],
  [/^(h|hrs?|hours?)$/i, 3_600_000, "h"],
  [/^(d|days?)$/i, 86_400_000, "d"],
  [/^(w|wks?|weeks?)$/i, 7 * 86_400_000, "w"],
];
const MAX_EVERY_MS = 3660 * 86_400_000;

/**
 * `every` text without the word "every": "6h", "90 d", "15 minutes".
 * @example parseEvery("6h", "every 6h") // { kind: "every", everyMs: 21600000, text: "6h" }
 */
export function parseEvery(rest: string, shown: string): Schedule {
  const m = /^(\d+)\s*([a-z]+)$/i.exec(rest.trim());
  const unit = m ? UNIT_MS.find(([re]) => re.test(m[2]!)) : undefined;
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !unit) {
    throw usageError(
      `"${shown}" is not an interval`,
      'write "every <n><unit>" with unit s, m, h or d, e.g. "every 30d" or "every 12h"',
    );
  }
  const everyMs = n * unit[1];
  if (n < 1 || everyMs > MAX_EVERY_MS) {
    throw usageError(`"${shown}" is out of range`, "an interval runs from 1s to 3660d, e.g. every 90d");
  }
  return { kind: "every", everyMs, text: `${n}${unit[2]}` };
}

/** Keeper's schedule JSON (or its field value: `[]`, `[{...}]`) → Schedule. Throws usage errors. */
export function fromKeeperJson(value: unknown, opts: ParseScheduleOptions = {}): Schedule {
  let v = value;
  if (Array.isArray(v)) {
    if (v.length === 0) return { kind: "none" };
    if (v.length > 1) {
      throw usageError(
        `a schedule holds one entry, this one has ${v.length}`,
        `give a single object, e.g. ${EXAMPLES.DAILY}`,
      );
    }
    v = v[0];
  }
  if (typeof v === "string" && v.trim().startsWith("{")) {
    v = parseJsonSafely(v, "the schedule", { hint: `e.g. ${EXAMPLES.CRON}` });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw usageError('a Keeper schedule must be a JSON object with a "type"', `e.g. ${EXAMPLES.CRON}`);
  }
  const o = v as Record<string, unknown>;
  const type = String(o.type ?? "")
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, "_");
  if (!(TYPES as readonly string[]).includes(type)) {
    throw usageError(
      o.type === undefined ? 'the schedule JSON has no "type"' : `unknown schedule type "${String(o.type)}"`,
      `use one of ${TYPES.join(", ")}, e.g. ${EXAMPLES.WEEKLY}`,
    );
  }
  const t = type as (typeof TYPES)[number];
  const ctx = new Ctx(t, o, opts);

  if (t === "INTERVAL") {
    const every = ctx.str("every", "interval");
    if (!every) throw ctx.missing("every");
    return parseEvery(every.replace(/^every\s*/i, ""), every);
  }
  if (t === "RUN_ONCE") return { kind: "once", at: ctx.runOnceAt(), keeper: ctx.keeper() };

  const tz = ctx.evalTz();
  let cron: string;
  if (t === "CRON") {
    const pattern = ctx.str("cron", "expression", "pattern");
    if (!pattern) throw ctx.missing("cron");
    cron = toQuartz(pattern, tz);
    return { kind: "cron", cron, tz, intervalCount: 1, keeper: { ...ctx.keeper(), cron } };
  }
  const hms = ctx.hms();
  switch (t) {
    case "DAILY":
      cron = `${hms} * * ?`;
      break;
    case "WEEKLY":
      cron = `${hms} ? * ${ctx.weekdays()}`;
      break;
    case "MONTHLY_BY_DAY":
      cron = `${hms} ${ctx.monthDay()} * ?`;
      break;
    case "MONTHLY_BY_WEEKDAY":
      cron = `${hms} ? * ${ctx.weekday()}#${ctx.occurrence()}`;
      break;
    case "YEARLY":
      cron = `${hms} ${ctx.monthDay()} ${ctx.month()} ?`;
      break;
  }
  // Our own patterns are valid by construction; this also catches impossible dates (FEB 30).
  if (!quartzCron(cron, tz).nextRun(new Date(Date.UTC(2024, 0, 1)))) {
    throw usageError(`the ${t} schedule never fires (${cron})`, `e.g. ${EXAMPLES[t]}`);
  }
  return { kind: "cron", cron, tz, intervalCount: ctx.intervalCount(), keeper: ctx.keeper() };
}

/** Reads one schedule object's properties, with errors that name the type and give its example. */
class Ctx {
  constructor(
    readonly type: (typeof TYPES)[number],
    readonly o: Record<string, unknown>,
    readonly opts: ParseScheduleOptions,
  ) {}

  str(...keys: string[]): string | undefined {
    for (const k of keys) {
      const v = this.o[k];
      if (typeof v === "string" && v.trim()) return v.trim();
      if (typeof v === "number" && Number.isFinite(v)) return String(v);
    }
    return undefined;
  }

  missing(prop: string) {
    return usageError(`the ${this.type} schedule has no "${prop}"`, `e.g. ${EXAMPLES[this.type]}`);
  }

  bad(prop: string, got: unknown, want: string) {
    return usageError(
      `the ${this.type} schedule's "${prop}" is ${JSON.stringify(got)}; expected ${want}`,
      `e.g. ${EXAMPLES[this.type]}`,
    );
  }

  /** The zone the stored form names (given, else --tz, else Etc/UTC). */
  namedTz(): string {
    return checkTimeZone(this.str("tz", "timezone", "timeZone") ?? this.opts.tz ?? "Etc/UTC");
  }

  /** The zone to evaluate in: UTC when the time is given as `utcTime`. */
  evalTz(): string {
    const named = this.namedTz();
    return this.str("time") === undefined && this.str("utcTime") !== undefined ? "Etc/UTC" : named;
  }

  /** The stored form: the object as given, type normalised, `tz` made explicit. */
  keeper(): KeeperScheduleJson {
    return { ...structuredClone(this.o), type: this.type, tz: this.namedTz() };
  }

  time(): [number, number, number] {
    const prop = this.str("time") !== undefined ? "time" : "utcTime";
    const raw = this.str(prop);
    if (raw === undefined) return [0, 0, 0];
    const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(raw);
    const [h, mi, s] = m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [99, 0, 0];
    if (h > 23 || mi > 59 || s > 59) throw this.bad(prop, raw, "HH:MM or HH:MM:SS (24-hour)");
    return [h, mi, s];
  }

  /** "s m h" for a cron pattern. */
  hms(): string {
    const [h, m, s] = this.time();
    return `${s} ${m} ${h}`;
  }

  intervalCount(): number {
    const raw = this.o.intervalCount ?? this.o.interval;
    if (raw === undefined || raw === null || raw === "") return 1;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw this.bad("intervalCount", raw, "a whole number ≥ 1");
    return n;
  }

  weekday(): string {
    const raw = this.o.weekday ?? this.o.dayOfWeek;
    if (raw === undefined || raw === null || raw === "") throw this.missing("weekday");
    return this.dayName(raw);
  }

  /** One weekday, or a list (`["MONDAY","FRIDAY"]`) for WEEKLY. */
  weekdays(): string {
    const raw = this.o.weekdays ?? this.o.weekday ?? this.o.dayOfWeek;
    if (Array.isArray(raw) && raw.length > 0) return [...new Set(raw.map((d) => this.dayName(d)))].join(",");
    return this.weekday();
  }

  private dayName(raw: unknown): string {
    const s = typeof raw === "string" ? raw.trim().toUpperCase().slice(0, 3) : "";
    if (!WEEKDAYS.includes(s)) throw this.bad("weekday", raw, "a day name, SUNDAY..SATURDAY");
    return s;
  }

  monthDay(): string {
    const raw = this.o.monthDay ?? this.o.dayOfMonth ?? this.o.day;
    if (raw === undefined || raw === null || raw === "") throw this.missing("monthDay");
    if (typeof raw === "string" && ["LAST", "L"].includes(raw.trim().toUpperCase())) return "L";
    const n = Number(raw);
    if (n === -1) return "L";
    if (!Number.isInteger(n) || n < 1 || n > 31) throw this.bad("monthDay", raw, "1-31 or LAST");
    return String(n);
  }

  month(): string {
    const raw = this.o.month;
    if (raw === undefined || raw === null || raw === "") throw this.missing("month");
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= 12) return MONTHS[n - 1]!;
    const s = typeof raw === "string" ? raw.trim().toUpperCase().slice(0, 3) : "";
    if (!MONTHS.includes(s)) throw this.bad("month", raw, "JANUARY..DECEMBER or 1-12");
    return s;
  }

  occurrence(): string {
    const raw = this.o.occurrence ?? this.o.weekOfMonth;
    if (raw === undefined || raw === null || raw === "") throw this.missing("occurrence");
    const occ = OCCURRENCES[String(raw).trim().toUpperCase()];
    if (!occ) throw this.bad("occurrence", raw, "FIRST, SECOND, THIRD, FOURTH, FIFTH or LAST");
    return occ;
  }

  /** RUN_ONCE: an absolute ISO date-time, or a date (+ time) read in the schedule's zone. */
  runOnceAt(): Date {
    const epoch = this.o.timestamp ?? this.o.epochMs;
    if (typeof epoch === "number" && Number.isFinite(epoch)) return new Date(epoch);
    const raw = this.str(
      "dateTime",
      "datetime",
      "runAt",
      "at",
      "date",
      "runOnceDate",
      "startDate",
      "utcDate",
    );
    if (!raw) throw this.missing("date");
    if (/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})$/i.test(raw)) {
      const d = new Date(raw);
      if (Number.isNaN(d.getTime())) throw this.bad("date", raw, "an ISO 8601 date-time");
      return d;
    }
    const local = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}:\d{2}(?::\d{2})?))?$/.exec(raw);
    if (!local) throw this.bad("date", raw, "YYYY-MM-DD (with time/utcTime) or an ISO 8601 date-time");
    let hms: [number, number, number];
    if (local[2]) {
      const [h, m, s] = local[2].split(":").map(Number) as [number, number, number?];
      hms = [h, m, s ?? 0];
    } else hms = this.time();
    const tz = local[2] ? this.namedTz() : this.evalTz();
    const p2 = (n: number) => String(n).padStart(2, "0");
    const iso = `${local[1]}T${p2(hms[0])}:${p2(hms[1])}:${p2(hms[2])}`;
    const at = new Date(`${iso}Z`);
    if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 19) !== iso) {
      throw this.bad("date", raw, "a real calendar date and time");
    }
    return zonedToInstant(iso, tz);
  }
}

/** Wall-clock `YYYY-MM-DDTHH:MM:SS` in `tz` → the instant (croner's one-off date handling, DST-aware). */
function zonedToInstant(iso: string, tz: string): Date {
  // A Cron built from an ISO string is a one-off date; getOnce() is that instant read in `tz`.
  const at = new Cron(iso, { timezone: tz, paused: true }).getOnce();
  if (!at) throw usageError(`cannot place ${iso} in time zone ${tz}`, `e.g. ${EXAMPLES.RUN_ONCE}`);
  return at;
}
