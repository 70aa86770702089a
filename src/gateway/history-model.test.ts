import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RekeyError } from "../errors.js";
import {
  attemptEntry,
  DEFAULT_ROTATION_RETRY,
  isRetryable,
  lastSettledAt,
  lastSucceeded,
  pendingRetry,
  type RotationAttempt,
  type RotationAttemptInput,
  retryDecision,
  toAuditEvent,
} from "./history-model.js";
import { parseAttempt } from "./history-schema.js";

function entry(over: Partial<RotationAttemptInput>): RotationAttempt {
  return parseAttempt({
    id: "a1",
    recordUid: "Ab3dEf6hIj9lMn2pQr5tUv",
    trigger: "schedule",
    attempt: 1,
    startedAt: "2024-01-01T04:00:00.000Z",
    endedAt: "2024-01-01T04:00:05.000Z",
    outcome: "succeeded",
    keyIds: { created: "AKIANEW", deleted: ["AKIAOLD"], deactivated: [] },
    final: true,
    ...over,
  });
}

describe("schema", () => {
  test("fills defaults and keeps script results", () => {
    const e = entry({
      scripts: [{ name: "U#1", command: "node", exitCode: 0, success: true, stdout: "ok", stderr: "" }],
    });
    assert.equal(e.mode, "rotate");
    assert.equal(e.error, null);
    assert.equal(e.nextAttemptAt, null);
    assert.equal(e.scripts[0]?.timedOut, false);
  });

  const bad: Array<[string, Partial<RotationAttemptInput> | Record<string, unknown>]> = [
    ["unknown trigger", { trigger: "cron" as never }],
    ["attempt 0", { attempt: 0 }],
    ["bad date", { startedAt: "yesterday" }],
    ["unknown outcome", { outcome: "maybe" as never }],
  ];
  for (const [name, over] of bad) {
    test(`refuses ${name}`, () => assert.throws(() => entry(over)));
  }
});

describe("attemptEntry (the runner's entries, built without the schema)", () => {
  const base: RotationAttemptInput = {
    id: "a1",
    recordUid: "Ab3dEf6hIj9lMn2pQr5tUv",
    trigger: "manual",
    attempt: 1,
    startedAt: "2026-01-01T00:00:00.000Z",
    endedAt: "2026-01-01T00:00:01.000Z",
    outcome: "succeeded",
    keyIds: { created: "AKIANEW", deleted: ["AKIAOLD"], deactivated: [] },
    final: true,
  };
  const cases: Array<[string, RotationAttemptInput]> = [
    ["the schema's defaults", base],
    ["undefined optional fields", { ...base, recordTitle: undefined, user: undefined }],
    [
      "everything set",
      {
        ...base,
        recordTitle: "alice",
        user: "alice",
        mode: "scripts-only",
        slot: "2026-01-01T00:00:00.000Z",
        outcome: "failed",
        final: false,
        error: { message: "boom", kind: "aws", hint: "retry" },
        skippedReason: "x",
        heldReason: "y",
        nextAttemptAt: "2026-01-01T00:01:00.000Z",
        scripts: [
          { name: "s#1", command: "sh", exitCode: 0, success: true, stdout: "", stderr: "" },
          {
            name: "s#2",
            fileRef: "F",
            ownerUid: "O",
            command: "sh",
            exitCode: null,
            success: false,
            timedOut: true,
            stdout: "o",
            stderr: "e",
            durationMs: 5,
          },
        ],
      },
    ],
  ];
  for (const [name, input] of cases) {
    test(`the same entry as parseAttempt: ${name}`, () => {
      const built = attemptEntry(input as Parameters<typeof attemptEntry>[0]);
      assert.deepEqual(built, parseAttempt(input));
      assert.deepEqual(parseAttempt(built), built, "and it parses back unchanged");
    });
  }
});

describe("retryDecision", () => {
  const policy = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 3000 };
  const t0 = new Date("2024-01-01T04:00:00Z");
  const cases: Array<[string, number, number, unknown, string]> = [
    ["1st failure → attempt 2 after ≤1 s", 1, 1, undefined, "retry 2 at 04:00:01"],
    ["2nd failure → attempt 3 after ≤2 s", 2, 1, undefined, "retry 3 at 04:00:02"],
    ["jitter keeps half the cap", 2, 0, undefined, "retry 3 at 04:00:01"],
    ["last attempt → next slot", 3, 1, undefined, "give up: max-attempts"],
    ["AWS error → retried", 1, 1, new RekeyError("aws", "ServiceUnavailable"), "retry 2 at 04:00:01"],
    ["lock held → retried", 1, 1, new RekeyError("conflict", "locked"), "retry 2 at 04:00:01"],
    ["access denied → not retried", 1, 1, new RekeyError("auth", "AccessDenied"), "give up: not-retryable"],
    ["bad record → not retried", 1, 1, new RekeyError("usage", "no login"), "give up: not-retryable"],
  ];
  for (const [name, attempt, r, err, want] of cases) {
    test(name, () => {
      const d = retryDecision(policy, attempt, t0, () => r, err);
      const got = d.retry
        ? `retry ${d.attempt} at ${d.at.toISOString().slice(11, 19)}`
        : `give up: ${d.reason}`;
      assert.equal(got, want);
    });
  }

  test("the delay never exceeds maxDelayMs", () => {
    const p = { ...DEFAULT_ROTATION_RETRY, maxAttempts: 50 };
    for (let n = 1; n < 50; n++) {
      const d = retryDecision(p, n, t0, () => 1);
      assert.ok(d.retry && d.delayMs <= p.maxDelayMs);
    }
  });

  test("plain errors are retryable", () => assert.equal(isRetryable(new Error("ECONNRESET")), true));
});

describe("reading history back", () => {
  const ok1 = entry({ id: "1" });
  const fail1 = entry({
    id: "2",
    outcome: "failed",
    final: false,
    startedAt: "2024-01-02T04:00:00.000Z",
    endedAt: "2024-01-02T04:00:03.000Z",
    keyIds: { created: null, deleted: [], deactivated: [] },
    error: { message: "Throttling", kind: "aws" },
    nextAttemptAt: "2024-01-02T04:00:33.000Z",
  });
  const fail2 = entry({
    id: "3",
    attempt: 2,
    outcome: "failed",
    final: true,
    startedAt: "2024-01-02T04:00:33.000Z",
    endedAt: "2024-01-02T04:00:40.000Z",
    keyIds: { created: null, deleted: [], deactivated: [] },
  });
  const skipped = entry({ id: "4", outcome: "skipped", final: false, startedAt: "2024-01-02T04:00:35.000Z" });
  const crashed = entry({ id: "5", startedAt: "2024-01-03T04:00:00.000Z", endedAt: null, final: false });

  test("the last settled slot: a success or a final failure, never a crash left running", () => {
    assert.equal(lastSettledAt([])?.toISOString() ?? null, null);
    assert.equal(lastSettledAt([ok1, fail1])?.toISOString(), "2024-01-01T04:00:05.000Z");
    assert.equal(lastSettledAt([fail2, ok1, fail1, crashed])?.toISOString(), "2024-01-02T04:00:40.000Z");
  });

  test("a pending retry is found (across a restart), skips ignored, and cleared by a final attempt", () => {
    assert.deepEqual(pendingRetry([ok1, fail1, skipped]), {
      attempt: 2,
      at: new Date("2024-01-02T04:00:33.000Z"),
    });
    assert.equal(pendingRetry([ok1, fail1, fail2]), null);
    assert.equal(pendingRetry([ok1]), null);
  });

  test("last success", () => assert.equal(lastSucceeded([ok1, fail1, fail2])?.id, "1"));

  test("audit event: the facts, no script output", () => {
    const e = entry({
      scripts: [
        { name: "U#1", command: "node", exitCode: 1, success: false, stdout: "long output", stderr: "err" },
      ],
    });
    const ev = toAuditEvent(e);
    assert.equal(ev.action, "gateway.rotation.succeeded");
    assert.equal(ev.recordUid, e.recordUid);
    assert.ok(!JSON.stringify(ev).includes("long output"));
    assert.deepEqual(ev.details?.keyIds, e.keyIds);
  });
});
