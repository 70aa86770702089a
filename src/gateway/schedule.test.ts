import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RekeyError } from "../errors.js";
import {
  describeSchedule,
  isDue,
  nextDue,
  parseSchedule,
  type Schedule,
  serializeSchedule,
  stableRandom,
  toKeeperJson,
  withJitter,
} from "./schedule.js";
import { toQuartz } from "./schedule-cron.js";

const D = (iso: string) => new Date(iso);
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The first `n` due times, each run happening exactly at its due time. */
function firstRuns(s: Schedule, start: string, n: number): string[] {
  let last: Date | null = D(start);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const due = nextDue(s, { lastRotation: last, now: D(start) });
    if (!due) break;
    out.push(due.toISOString());
    last = due;
  }
  return out;
}

describe("parseSchedule", () => {
  const ok: Array<[string, string | undefined, Partial<Schedule> & Record<string, unknown>]> = [
    ["every 6h", undefined, { kind: "every", everyMs: 6 * 3600_000, text: "6h" }],
    ["every 90d", undefined, { kind: "every", everyMs: 90 * 86_400_000, text: "90d" }],
    ["EVERY 15 minutes", undefined, { kind: "every", everyMs: 900_000, text: "15m" }],
    ["every 10s", undefined, { kind: "every", everyMs: 10_000, text: "10s" }],
    ["none", undefined, { kind: "none" }],
    ["On-Demand", undefined, { kind: "none" }],
    ["[]", undefined, { kind: "none" }],
    ["0 0 4 * * ?", undefined, { kind: "cron", cron: "0 0 4 * * ?", tz: "Etc/UTC", intervalCount: 1 }],
    ["0 4 * * *", "Europe/Paris", { kind: "cron", cron: "0 0 4 * * ?", tz: "Europe/Paris" }],
    ["30 2 * * 1-5", undefined, { kind: "cron", cron: "0 30 2 ? * MON-FRI" }],
    ["0 3 15 * *", undefined, { kind: "cron", cron: "0 0 3 15 * ?" }],
    ["@daily", undefined, { kind: "cron", cron: "0 0 0 * * ?" }],
    ["0 0 4 ? * 2", undefined, { kind: "cron", cron: "0 0 4 ? * 2" }],
    ["0 0/15 * * * ?", undefined, { kind: "cron", cron: "0 0/15 * * * ?" }],
    ['{"type":"CRON","cron":"0 0 4 * * ?","tz":"Etc/UTC"}', undefined, { kind: "cron", cron: "0 0 4 * * ?" }],
    ['{"type":"daily","time":"17:00:00","tz":"Asia/Calcutta"}', undefined, { cron: "0 0 17 * * ?" }],
    ['{"type":"WEEKLY","utcTime":"00:00","weekday":"SATURDAY","tz":"America/New_York"}', undefined, {}],
    ['[{"type":"MONTHLY_BY_DAY","monthDay":"LAST","time":"02:00"}]', undefined, { cron: "0 0 2 L * ?" }],
  ];
  for (const [input, tz, want] of ok) {
    test(`accepts ${input}${tz ? ` --tz ${tz}` : ""}`, () => {
      const s = parseSchedule(input, { tz });
      for (const [k, v] of Object.entries(want)) assert.deepEqual((s as Record<string, unknown>)[k], v, k);
    });
  }

  const bad: Array<[string, RegExp]> = [
    ["", /empty/],
    ["every", /not an interval/],
    ["every 0h", /out of range/],
    ["every 5y", /not an interval/],
    ["daily at noon", /not a schedule/],
    ["0 0 99 * * ?", /invalid cron pattern.*hour/i],
    ["0 0 4 ? * 0", /invalid cron pattern/],
    ["0 0 4 30 2 ?", /never fires/],
    ["0 4 * *", /not a schedule/],
    ['{"type":"CRON"', /not valid JSON/],
    ['{"cron":"0 0 4 * * ?"}', /no "type"/],
    ['{"type":"HOURLY"}', /unknown schedule type "HOURLY"/],
    ['{"type":"WEEKLY","time":"17:00:00"}', /no "weekday"/],
    ['{"type":"WEEKLY","time":"17:00:00","weekday":"FUNDAY"}', /"weekday" is "FUNDAY"/],
    ['{"type":"DAILY","time":"25:00"}', /"time" is "25:00"/],
    ['{"type":"DAILY","intervalCount":0}', /intervalCount/],
    ['{"type":"MONTHLY_BY_WEEKDAY","weekday":"TUESDAY"}', /no "occurrence"/],
    ['{"type":"YEARLY","monthDay":20}', /no "month"/],
    ['{"type":"YEARLY","month":"FEBRUARY","monthDay":30}', /never fires/],
    ['{"type":"DAILY","tz":"Mars/Olympus"}', /unknown time zone "Mars\/Olympus"/],
    ['{"type":"RUN_ONCE"}', /no "date"/],
    ['{"type":"RUN_ONCE","date":"2030-02-30"}', /real calendar date/],
    ['[{"type":"DAILY"},{"type":"WEEKLY"}]', /one entry/],
  ];
  for (const [input, re] of bad) {
    test(`refuses ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseSchedule(input),
        (err: unknown) => {
          assert.ok(err instanceof RekeyError);
          assert.equal(err.kind, "usage");
          assert.match(err.message, re);
          assert.ok(
            err.hint && /e\.g\.|write|use|give|set/.test(err.hint),
            `hint with an example: ${err.hint}`,
          );
          return true;
        },
      );
    });
  }

  test("--tz is refused when unknown", () => {
    assert.throws(() => parseSchedule("0 4 * * *", { tz: "Nowhere/X" }), /unknown time zone/);
  });
});

describe("Keeper schedule types → due times", () => {
  // 2024-01-01 is a Monday.
  const cases: Array<[string, string, string[]]> = [
    [
      '{"type":"CRON","cron":"0 0 4 * * ?","tz":"Etc/UTC"}',
      "2024-01-01T00:00:00Z",
      ["2024-01-01T04:00:00.000Z", "2024-01-02T04:00:00.000Z"],
    ],
    [
      '{"type":"DAILY","time":"17:00:00","tz":"Asia/Calcutta"}',
      "2024-01-01T00:00:00Z",
      ["2024-01-01T11:30:00.000Z", "2024-01-02T11:30:00.000Z"],
    ],
    [
      '{"type":"DAILY","utcTime":"17:56","tz":"Asia/Calcutta"}',
      "2024-01-01T00:00:00Z",
      ["2024-01-01T17:56:00.000Z"],
    ],
    [
      '{"type":"DAILY","time":"04:00","intervalCount":3}',
      "2024-01-01T04:00:00Z",
      ["2024-01-04T04:00:00.000Z", "2024-01-07T04:00:00.000Z"],
    ],
    [
      '{"type":"WEEKLY","weekday":"WEDNESDAY","time":"03:00:00","tz":"Etc/UTC"}',
      "2024-01-01T00:00:00Z",
      ["2024-01-03T03:00:00.000Z", "2024-01-10T03:00:00.000Z"],
    ],
    [
      '{"type":"WEEKLY","weekday":"saturday","utcTime":"00:00","intervalCount":2}',
      "2024-01-06T00:00:00Z",
      ["2024-01-20T00:00:00.000Z", "2024-02-03T00:00:00.000Z"],
    ],
    [
      '{"type":"WEEKLY","weekdays":["MONDAY","FRIDAY"],"time":"01:00:00"}',
      "2024-01-01T02:00:00Z",
      ["2024-01-05T01:00:00.000Z", "2024-01-08T01:00:00.000Z"],
    ],
    [
      '{"type":"MONTHLY_BY_DAY","monthDay":15,"time":"02:00:00","tz":"Etc/UTC"}',
      "2024-01-20T00:00:00Z",
      ["2024-02-15T02:00:00.000Z", "2024-03-15T02:00:00.000Z"],
    ],
    [
      '{"type":"MONTHLY_BY_DAY","monthDay":"LAST","time":"02:00:00"}',
      "2024-01-31T03:00:00Z",
      ["2024-02-29T02:00:00.000Z", "2024-03-31T02:00:00.000Z"],
    ],
    [
      '{"type":"MONTHLY_BY_WEEKDAY","weekday":"TUESDAY","occurrence":"SECOND","time":"09:30:00","tz":"America/New_York"}',
      "2024-01-01T00:00:00Z",
      ["2024-01-09T14:30:00.000Z", "2024-02-13T14:30:00.000Z"],
    ],
    [
      '{"type":"MONTHLY_BY_WEEKDAY","weekday":"FRIDAY","occurrence":"LAST","time":"00:00:00"}',
      "2024-01-01T00:00:00Z",
      ["2024-01-26T00:00:00.000Z", "2024-02-23T00:00:00.000Z"],
    ],
    [
      '{"type":"YEARLY","month":"MAY","monthDay":20,"time":"00:00:00","tz":"Etc/UTC"}',
      "2024-01-01T00:00:00Z",
      ["2024-05-20T00:00:00.000Z", "2025-05-20T00:00:00.000Z"],
    ],
    [
      '{"type":"YEARLY","month":12,"monthDay":31,"time":"23:00"}',
      "2024-01-01T00:00:00Z",
      ["2024-12-31T23:00:00.000Z"],
    ],
    [
      '{"type":"RUN_ONCE","date":"2030-01-23","time":"10:00:00","tz":"Europe/Paris"}',
      "2024-01-01T00:00:00Z",
      ["2030-01-23T09:00:00.000Z"],
    ],
    [
      '{"type":"RUN_ONCE","dateTime":"2030-01-23T10:00:00Z"}',
      "2024-01-01T00:00:00Z",
      ["2030-01-23T10:00:00.000Z"],
    ],
    [
      '{"type":"INTERVAL","every":"12h"}',
      "2024-01-01T00:00:00Z",
      ["2024-01-01T12:00:00.000Z", "2024-01-02T00:00:00.000Z"],
    ],
    ["0 0 4 ? * 2", "2024-01-01T05:00:00Z", ["2024-01-08T04:00:00.000Z"]], // Quartz 2 = Monday
    ["0 4 * * 1", "2024-01-01T05:00:00Z", ["2024-01-08T04:00:00.000Z"]], // Unix 1 = Monday
    ["0 0 4 ? * 6L", "2024-01-01T00:00:00Z", ["2024-01-26T04:00:00.000Z"]], // Quartz last Friday
  ];
  for (const [input, start, want] of cases) {
    test(`${input} from ${start}`, () => {
      const s = parseSchedule(input);
      assert.deepEqual(firstRuns(s, start, want.length), want);
    });
  }

  test("DST: 02:30 Europe/Paris on the spring-forward day runs once, after the gap", () => {
    const s = parseSchedule("0 30 2 * * ?", { tz: "Europe/Paris" });
    assert.deepEqual(firstRuns(s, "2024-03-30T12:00:00Z", 2), [
      "2024-03-31T01:00:00.000Z",
      "2024-04-01T00:30:00.000Z",
    ]);
  });
});

describe("5-field → stored Quartz form", () => {
  const cases: Array<[string, string]> = [
    ["0 4 * * *", "0 0 4 * * ?"],
    ["*/15 * * * *", "0 */15 * * * ?"],
    ["30 2 * * 1-5", "0 30 2 ? * MON-FRI"],
    ["0 4 * * 0,6", "0 0 4 ? * SUN,SAT"],
    ["0 4 * * 7", "0 0 4 ? * SUN"],
    ["0 4 * * */2", "0 0 4 ? * */2"],
    ["0 4 * * 5#2", "0 0 4 ? * FRI#2"],
    ["0 4 1 * *", "0 0 4 1 * ?"],
    ["0 4 1 1 *", "0 0 4 1 1 ?"],
  ];
  for (const [unix, quartz] of cases) {
    test(`${unix} → ${quartz}`, () => assert.equal(toQuartz(unix, "Etc/UTC"), quartz));
  }
});

describe("nextDue", () => {
  const daily = parseSchedule("0 0 4 * * ?");
  const every6h = parseSchedule("every 6h");
  const once = parseSchedule('{"type":"RUN_ONCE","dateTime":"2024-01-10T00:00:00Z"}');
  const cases: Array<[string, Schedule, string | null, string, string | null]> = [
    // name, schedule, lastRotation, now, expected due
    ["none is never due", { kind: "none" }, null, "2024-01-01T00:00:00Z", null],
    ["never rotated: due now", daily, null, "2024-01-01T10:00:00Z", "2024-01-01T10:00:00.000Z"],
    ["never rotated interval: due now", every6h, null, "2024-01-01T10:00:00Z", "2024-01-01T10:00:00.000Z"],
    [
      "next slot after the last rotation",
      daily,
      "2024-01-01T04:00:00Z",
      "2024-01-01T10:00:00Z",
      "2024-01-02T04:00:00.000Z",
    ],
    [
      "rotation stored with whole seconds still covers its slot",
      daily,
      "2024-01-01T03:59:59.500Z",
      "2024-01-01T10:00:00Z",
      "2024-01-02T04:00:00.000Z",
    ],
    [
      "a manual rotation moves the next slot",
      daily,
      "2024-01-01T05:00:00Z",
      "2024-01-01T10:00:00Z",
      "2024-01-02T04:00:00.000Z",
    ],
    [
      "missed slots while down: one due time, in the past",
      daily,
      "2024-01-01T04:00:00Z",
      "2024-01-09T10:00:00Z",
      "2024-01-02T04:00:00.000Z",
    ],
    [
      "interval counts from the last rotation",
      every6h,
      "2024-01-01T01:30:00Z",
      "2024-01-01T02:00:00Z",
      "2024-01-01T07:30:00.000Z",
    ],
    ["run once: before its time", once, null, "2024-01-01T00:00:00Z", "2024-01-10T00:00:00.000Z"],
    [
      "run once: missed, due once",
      once,
      "2024-01-01T00:00:00Z",
      "2024-02-01T00:00:00Z",
      "2024-01-10T00:00:00.000Z",
    ],
    ["run once: done", once, "2024-01-10T00:00:00.200Z", "2024-02-01T00:00:00Z", null],
    [
      "cron with a past year never fires again",
      parseSchedule("0 0 4 1 1 ? 2025"),
      "2025-01-01T04:00:00Z",
      "2025-06-01T00:00:00Z",
      null,
    ],
  ];
  for (const [name, s, last, now, want] of cases) {
    test(name, () => {
      const got = nextDue(s, { lastRotation: last ? D(last) : null, now: D(now) });
      assert.equal(iso(got), want);
    });
  }

  test("missed runs catch up once: after the catch-up run, the next slot is in the future", () => {
    const now = D("2024-01-09T10:00:00Z");
    assert.equal(isDue(daily, { lastRotation: D("2024-01-01T04:00:00Z"), now }), true);
    // The catch-up run happens now; it is the new last rotation.
    assert.equal(isDue(daily, { lastRotation: now, now }), false);
    assert.equal(iso(nextDue(daily, { lastRotation: now, now })), "2024-01-10T04:00:00.000Z");
  });

  test("a restart recomputes the same due time from the stored last rotation", () => {
    const last = D("2024-01-01T04:00:10Z");
    const a = nextDue(daily, { lastRotation: last, now: D("2024-01-01T12:00:00Z") });
    const b = nextDue(daily, { lastRotation: last, now: D("2024-01-01T23:00:00Z") });
    assert.equal(iso(a), iso(b));
  });
});

describe("stored form", () => {
  const inputs = [
    "every 6h",
    "none",
    "0 0 4 * * ?",
    "30 2 * * 1-5",
    '{"type":"WEEKLY","weekday":"SATURDAY","time":"17:00:00","tz":"Etc/UTC","intervalCount":2}',
    '{"type":"MONTHLY_BY_WEEKDAY","weekday":"TUESDAY","occurrence":"SECOND","time":"09:30:00","tz":"America/New_York"}',
    '{"type":"RUN_ONCE","date":"2030-01-23","time":"10:00:00","tz":"Europe/Paris"}',
  ];
  for (const input of inputs) {
    test(`round-trips ${input}`, () => {
      const s = parseSchedule(input, { tz: "Europe/Paris" });
      const text = serializeSchedule(s);
      const back = parseSchedule(text);
      assert.deepEqual(back, s);
      assert.equal(serializeSchedule(back), text);
    });
  }

  test("cron text is stored as Keeper CRON JSON with its zone", () => {
    assert.deepEqual(toKeeperJson(parseSchedule("0 4 * * *", { tz: "Europe/Paris" })), {
      type: "CRON",
      cron: "0 0 4 * * ?",
      tz: "Europe/Paris",
    });
    assert.equal(serializeSchedule({ kind: "none" }), "[]");
  });

  test("Keeper JSON keeps its own properties", () => {
    const s = parseSchedule('{"type":"weekly","weekday":"SATURDAY","utcTime":"00:00","intervalCount":1}');
    assert.deepEqual(toKeeperJson(s), {
      type: "WEEKLY",
      weekday: "SATURDAY",
      utcTime: "00:00",
      intervalCount: 1,
      tz: "Etc/UTC",
    });
  });

  test("describeSchedule", () => {
    assert.equal(describeSchedule(parseSchedule("every 6h")), "every 6h");
    assert.equal(describeSchedule(parseSchedule("none")), "on demand only");
    assert.equal(describeSchedule(parseSchedule("0 0 4 * * ?")), 'cron "0 0 4 * * ?" in Etc/UTC');
    assert.match(
      describeSchedule(parseSchedule('{"type":"DAILY","intervalCount":2}')),
      /^DAILY .* every 2 slots$/,
    );
  });
});

describe("withJitter", () => {
  const t = D("2024-01-01T04:00:00Z");
  const cases: Array<[number, number, string]> = [
    [0, 60_000, "2024-01-01T04:00:00.000Z"],
    [0.5, 60_000, "2024-01-01T04:00:30.000Z"],
    [1, 60_000, "2024-01-01T04:00:59.999Z"],
    [0.7, 0, "2024-01-01T04:00:00.000Z"],
  ];
  for (const [r, max, want] of cases) {
    test(`rand ${r}, max ${max} → ${want}`, () =>
      assert.equal(withJitter(t, max, () => r).toISOString(), want));
  }

  test("stableRandom is deterministic per seed and spreads seeds", () => {
    const a = withJitter(t, 300_000, stableRandom(`uid-1:${t.toISOString()}`));
    const b = withJitter(t, 300_000, stableRandom(`uid-1:${t.toISOString()}`));
    assert.equal(a.getTime(), b.getTime());
    const spread = new Set(
      Array.from({ length: 50 }, (_, i) => withJitter(t, 300_000, stableRandom(`uid-${i}`)).getTime()),
    );
    assert.ok(spread.size > 40, `50 records should get distinct offsets, got ${spread.size}`);
    for (const ms of spread) assert.ok(ms >= t.getTime() && ms < t.getTime() + 300_000);
  });
});
