import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RotationAttempt, RotationAttemptInput } from "./history-model.js";
import { parseAttempt } from "./history-schema.js";
import { parseSchedule } from "./schedule.js";
import { isRunDue, jitterCap, parseCreateDate, planRun, type RecordTiming } from "./scheduler.js";

const UID = "Ab3dEf6hIj9lMn2pQr5tUv";
const T = (s: string) => new Date(`2024-01-01T${s}Z`);

function attempt(over: Partial<RotationAttemptInput>): RotationAttempt {
  return parseAttempt({
    id: Math.random().toString(36),
    recordUid: UID,
    trigger: "schedule",
    attempt: 1,
    startedAt: "2024-01-01T04:00:00.000Z",
    endedAt: "2024-01-01T04:00:01.000Z",
    outcome: "succeeded",
    keyIds: { created: "AKIANEW", deleted: [], deactivated: [] },
    final: true,
    ...over,
  });
}

function timing(schedule: string, over: Partial<RecordTiming> = {}): RecordTiming {
  return { uid: UID, schedule: parseSchedule(schedule), keyCreatedAt: null, history: [], ...over };
}

const started = T("04:00:00");
const at = (now: Date, t: RecordTiming, maxJitterMs = 0) =>
  planRun(t, { now, startedAt: started, maxJitterMs });
const fmt = (r: ReturnType<typeof planRun>) =>
  r
    ? `${r.trigger} #${r.attempt} at ${r.at.toISOString().slice(11, 19)} slot ${r.slot.toISOString().slice(11, 19)}`
    : "none";

describe("planRun", () => {
  const cases: Array<[string, Date, RecordTiming, string]> = [
    [
      "never rotated: due at start, a catch-up",
      T("04:00:05"),
      timing("every 1h"),
      "startup-catch-up #1 at 04:00:00 slot 04:00:00",
    ],
    [
      "never rotated, first seen after start: a scheduled run",
      T("04:10:05"),
      timing("every 1h", { firstSeenAt: T("04:10:00") }),
      "schedule #1 at 04:10:00 slot 04:10:00",
    ],
    ["on demand only: never", T("05:00:00"), timing("none"), "none"],
    [
      "every 2s from the key's CreateDate",
      T("04:00:05"),
      timing("every 2s", { keyCreatedAt: T("04:00:04") }),
      "schedule #1 at 04:00:06 slot 04:00:06",
    ],
    [
      "the last settled attempt wins over an older CreateDate",
      T("04:00:05"),
      timing("every 2s", {
        keyCreatedAt: T("03:00:00"),
        history: [attempt({ endedAt: "2024-01-01T04:00:04.500Z" })],
      }),
      "schedule #1 at 04:00:06 slot 04:00:06",
    ],
    [
      "a CreateDate newer than history wins (rotated, then crashed before the history entry)",
      T("04:00:05"),
      timing("every 1h", {
        keyCreatedAt: T("04:00:03"),
        history: [attempt({ endedAt: "2024-01-01T03:00:00.000Z" })],
      }),
      "schedule #1 at 05:00:03 slot 05:00:03",
    ],
    [
      "many slots missed while down: one run at start, a catch-up",
      T("04:00:01"),
      timing("every 2s", { keyCreatedAt: T("01:00:00") }),
      "startup-catch-up #1 at 01:00:02 slot 01:00:02",
    ],
    [
      "cron: the next slot after the last rotation",
      T("04:30:00"),
      timing("0 0 4 * * ?", { keyCreatedAt: T("04:00:00") }),
      "schedule #1 at 04:00:00 slot 04:00:00",
    ],
    [
      "a failed attempt owes a retry: its time, its slot and trigger, the next attempt number",
      T("04:00:05"),
      timing("every 1h", {
        keyCreatedAt: T("02:00:00"),
        history: [
          attempt({
            trigger: "startup-catch-up",
            outcome: "failed",
            final: false,
            slot: "2024-01-01T03:00:00.000Z",
            nextAttemptAt: "2024-01-01T04:00:31.000Z",
          }),
        ],
      }),
      "startup-catch-up #2 at 04:00:31 slot 03:00:00",
    ],
    [
      "a retry is dropped when the key was rotated after the failure (rekey rotate, another gateway)",
      T("04:00:05"),
      timing("every 1h", {
        keyCreatedAt: T("04:00:03"),
        history: [attempt({ outcome: "failed", final: false, nextAttemptAt: "2024-01-01T04:00:31.000Z" })],
      }),
      "schedule #1 at 05:00:03 slot 05:00:03",
    ],
    [
      "a key created during the failed attempt keeps the retry (the journal finishes it)",
      T("04:00:05"),
      timing("every 1h", {
        keyCreatedAt: T("04:00:01"),
        history: [attempt({ outcome: "failed", final: false, nextAttemptAt: "2024-01-01T04:00:31.000Z" })],
      }),
      "schedule #2 at 04:00:31 slot 04:00:31",
    ],
    [
      "the last try failed: the next slot, from that failure",
      T("04:00:05"),
      timing("every 1h", {
        keyCreatedAt: T("02:00:00"),
        history: [attempt({ outcome: "failed", attempt: 4, final: true })],
      }),
      "schedule #1 at 05:00:01 slot 05:00:01",
    ],
    [
      "skipped entries do not hide a pending retry",
      T("04:00:05"),
      timing("every 1h", {
        keyCreatedAt: T("02:00:00"),
        history: [
          attempt({ outcome: "failed", final: false, nextAttemptAt: "2024-01-01T04:00:31.000Z" }),
          attempt({ outcome: "skipped", final: false, startedAt: "2024-01-01T04:00:02.000Z" }),
        ],
      }),
      "schedule #2 at 04:00:31 slot 04:00:31",
    ],
  ];
  for (const [name, now, t, want] of cases) test(name, () => assert.equal(fmt(at(now, t)), want));

  test("after a run the record is not due again until its next slot (catch-up happens once)", () => {
    const t = timing("every 2s", { keyCreatedAt: T("01:00:00") });
    const first = at(T("04:00:01"), t)!;
    assert.ok(isRunDue(first, T("04:00:01")));
    const after = {
      ...t,
      history: [attempt({ startedAt: "2024-01-01T04:00:01.000Z", endedAt: "2024-01-01T04:00:01.400Z" })],
    };
    assert.equal(isRunDue(at(T("04:00:02"), after), T("04:00:02")), false);
    assert.equal(isRunDue(at(T("04:00:03.400"), after), T("04:00:03.400")), true);
  });

  test("jitter: stable per record and slot, never earlier, capped at a tenth of an interval", () => {
    const t = timing("every 1d", { keyCreatedAt: T("04:00:00") });
    const a = at(T("04:00:05"), t, 3_600_000)!;
    const b = at(T("05:00:05"), t, 3_600_000)!;
    assert.equal(a.at.getTime(), b.at.getTime(), "same time at every tick");
    assert.ok(a.at.getTime() >= a.slot.getTime() && a.at.getTime() < a.slot.getTime() + 3_600_000);
    const other = planRun(
      { ...t, uid: "Zz3dEf6hIj9lMn2pQr5tUv" },
      { now: T("04:00:05"), startedAt: started, maxJitterMs: 3_600_000 },
    )!;
    assert.notEqual(other.at.getTime(), a.at.getTime(), "another record gets another offset");
    assert.equal(jitterCap(parseSchedule("every 2s"), 60_000), 200);
    assert.equal(jitterCap(parseSchedule("0 4 * * *"), 60_000), 60_000);
  });

  test("due now means due now: jitter never defers a never-rotated record or a missed slot", () => {
    // Each `gateway --once` is a new process (startedAt = now): a never-rotated record is due at once,
    // whatever the jitter, in every one of them.
    for (const now of [T("04:00:00"), T("04:00:30"), T("09:13:07")]) {
      const r = planRun(timing("every 1d"), { now, startedAt: now, maxJitterMs: 3_600_000 })!;
      assert.ok(isRunDue(r, now), `never rotated, --once at ${now.toISOString()}`);
      assert.equal(r.at.getTime(), now.getTime());
    }
    // A slot missed while no gateway ran: due at start, not a jittered moment later.
    const missed = timing("every 1d", { keyCreatedAt: T("03:59:00") });
    const late = new Date(Date.UTC(2024, 0, 2, 4, 0, 10));
    assert.ok(isRunDue(planRun(missed, { now: late, startedAt: late, maxJitterMs: 3_600_000 }), late));
    // A slot that comes due while the gateway runs is still spread by jitter.
    const running = planRun(missed, { now: late, startedAt: T("04:00:00"), maxJitterMs: 3_600_000 })!;
    assert.equal(running.trigger, "schedule");
    assert.ok(running.at.getTime() > running.slot.getTime());
  });

  test("history dated in the future (another gateway's clock runs ahead) does not defer the next slot", () => {
    const ahead = attempt({ startedAt: "2024-01-01T04:19:00.000Z", endedAt: "2024-01-01T04:20:00.000Z" });
    const now = T("04:00:00");
    const r = planRun(timing("every 1h", { history: [ahead] }), { now, startedAt: now, maxJitterMs: 0 })!;
    assert.equal(r.slot.toISOString(), "2024-01-01T05:00:00.000Z", "an hour from now, not from 04:20");
  });

  test("parseCreateDate", () => {
    assert.equal(parseCreateDate("2024-01-01T04:00:00Z")?.toISOString(), "2024-01-01T04:00:00.000Z");
    assert.equal(parseCreateDate(""), null);
    assert.equal(parseCreateDate("yesterday"), null);
    assert.equal(parseCreateDate(undefined), null);
  });
});
