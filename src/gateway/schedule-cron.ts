/**
 * Cron text → the one cron form rekey stores and evaluates: Quartz, 6 fields (7 with a year),
 * seconds first, day-of-week numbered 1=SUN..7=SAT (Keeper's `{"type":"CRON","cron":"0 0 4 * * ?"}`).
 *
 * Why one form: a schedule is evaluated from what is stored, so the form parsed from the command
 * line and the form read back from the record must fire at the same instants. A 5-field (Unix)
 * pattern is therefore converted to Quartz on input and the conversion is checked against croner's
 * own reading of the Unix pattern, run for run; a pattern that does not convert exactly is refused.
 *
 * Why Quartz numbering for 6 fields: Keeper's CRON schedules are Quartz, where `2` is Monday. In
 * Unix cron (and croner's default) `2` is Tuesday. Names (MON-FRI) mean the same in both.
 */
import { Cron } from "croner";
import { usageError } from "../errors.js";

export const CRON_EXAMPLES =
  'e.g. "0 0 4 * * ?" (Quartz: 04:00:00 every day) or "30 2 * * MON-FRI" (Unix: 02:30 on weekdays)';

const DOW_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] as const;

const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A fixed reference, so parsing is pure (the same text always gives the same answer). */
const REFERENCE = new Date(Date.UTC(2024, 0, 1));
const VERIFY_RUNS = 64;

/** A croner instance for a stored Quartz pattern. Never scheduled: it only computes dates. */
export function quartzCron(quartz: string, tz: string): Cron {
  return new Cron(quartz, {
    timezone: tz,
    alternativeWeekdays: true,
    sloppyRanges: true,
    mode: "6-or-7-parts",
    paused: true,
  });
}

/** True if `text` has the shape of a cron pattern (5-7 space-separated fields, or a nickname). */
export function looksLikeCron(text: string): boolean {
  const t = text.trim();
  if (t.toLowerCase() in NICKNAMES) return true;
  const n = t.split(/\s+/).length;
  return n >= 5 && n <= 7 && /^[\d*?/,\-#LW+A-Za-z\s]+$/.test(t);
}

/**
 * Normalise cron text to the stored Quartz form, validated. 5 fields = Unix (minute first),
 * 6 fields = Quartz with seconds, 7 = Quartz with a year. Throws a usage error naming the problem.
 *
 * @example toQuartz("30 2 * * 1-5", "Etc/UTC") // "0 30 2 ? * MON-FRI"
 */
export function toQuartz(text: string, tz: string): string {
  let src = text.trim().replace(/\s+/g, " ");
  const nickname = NICKNAMES[src.toLowerCase()];
  if (nickname) src = nickname;
  const fields = src.split(" ");
  if (fields.length === 5) {
    const quartz = unixToQuartz(fields);
    checkSameRuns(src, quartz, tz);
    return quartz;
  }
  if (fields.length === 6 || fields.length === 7) {
    const quartz = fields.join(" ");
    const cron = build(() => quartzCron(quartz, tz), quartz, true);
    if (!nextOf(cron, quartz)) throw neverFires(quartz);
    return quartz;
  }
  throw usageError(
    `cron pattern "${text.trim()}" has ${fields.length} field(s); expected 5 (Unix) or 6 (Quartz, seconds first)`,
    CRON_EXAMPLES,
  );
}

/** [min, hour, dom, month, dow] → "0 min hour dom month dow" with day names and Quartz's `?`. */
function unixToQuartz(f: string[]): string {
  const [min, hour, dom0, month, dow0] = f as [string, string, string, string, string];
  // A bare number at the start of a list item or range end is a day; one after `/` or `#` is not.
  let dow = dow0.replace(/(^|[,-])(\d+)/g, (_m, pre: string, n: string) => {
    const name = DOW_NAMES[Number(n) % 7];
    return Number(n) <= 7 && name ? `${pre}${name}` : `${pre}${n}`;
  });
  let dom = dom0;
  const wild = (s: string) => s === "*" || s === "?";
  if (wild(dom) && wild(dow)) dow = "?";
  else if (wild(dom)) dom = "?";
  else if (wild(dow)) dow = "?";
  return ["0", min, hour, dom, month, dow].join(" ");
}

function checkSameRuns(unix: string, quartz: string, tz: string): void {
  const a = build(
    () => new Cron(unix, { timezone: tz, sloppyRanges: true, mode: "5-part", paused: true }),
    unix,
    false,
  );
  const first = nextOf(a, unix);
  if (!first) throw neverFires(unix);
  const b = build(() => quartzCron(quartz, tz), unix, false);
  const ra = a.nextRuns(VERIFY_RUNS, REFERENCE).map((d) => d.getTime());
  const rb = b.nextRuns(VERIFY_RUNS, REFERENCE).map((d) => d.getTime());
  if (ra.length !== rb.length || ra.some((t, i) => t !== rb[i])) {
    throw usageError(
      `cron pattern "${unix}" cannot be stored as a Quartz pattern without changing when it fires`,
      `write it with 6 fields (seconds first, day names such as MON-FRI), ${CRON_EXAMPLES}`,
    );
  }
}

function build(make: () => Cron, shown: string, quartz: boolean): Cron {
  try {
    return make();
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^Cron\w*:\s*/, "") : String(err);
    const dowHint =
      quartz && /dayOfWeek/i.test(why)
        ? "in 6-field (Quartz) cron, day-of-week numbers run 1=SUN..7=SAT; names such as MON-FRI are clearer; "
        : "";
    throw usageError(`invalid cron pattern "${shown}": ${why}`, `${dowHint}${CRON_EXAMPLES}`);
  }
}

function nextOf(cron: Cron, shown: string): Date | null {
  try {
    return cron.nextRun(REFERENCE);
  } catch (err) {
    // croner reports a bad time zone only when it first computes a date.
    const why = err instanceof Error ? err.message : String(err);
    throw usageError(`cannot evaluate cron pattern "${shown}": ${why}`, CRON_EXAMPLES);
  }
}

function neverFires(shown: string) {
  return usageError(`cron pattern "${shown}" never fires after 2024-01-01`, CRON_EXAMPLES);
}

/** Validate an IANA time zone name (croner only notices a bad one when it first computes a date). */
export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return tz;
  } catch {
    throw usageError(`unknown time zone "${tz}"`, 'use an IANA name such as "Etc/UTC" or "Europe/Paris"');
  }
}
