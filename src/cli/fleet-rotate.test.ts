import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type FleetRecordResult,
  fleetProgressState,
  fleetVerdict,
  renderFleetSummary,
  runPool,
  shortError,
} from "./fleet-rotate.js";
import { formatProgress } from "./progress.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

test("runPool: never more than `concurrency` at once, every item once, results in the items' order", async () => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  const items = Array.from({ length: 9 }, (_, i) => i);
  const out = await runPool(items, {
    concurrency: 3,
    signal: new AbortController().signal,
    work: async (i) => {
      running++;
      peak = Math.max(peak, running);
      seen.push(i);
      await new Promise((r) => setTimeout(r, (9 - i) * 2)); // later items finish first
      running--;
      return i * 10;
    },
    notStarted: () => -1,
  });
  assert.equal(peak, 3);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    items,
  );
  assert.deepEqual(
    out,
    items.map((i) => i * 10),
  );
});

test("runPool: after the signal no item starts; running ones finish; the rest are notStarted", async () => {
  const ac = new AbortController();
  const started: number[] = [];
  const out = await runPool([0, 1, 2, 3, 4, 5], {
    concurrency: 2,
    signal: ac.signal,
    work: async (i) => {
      started.push(i);
      if (i === 2) ac.abort();
      await tick();
      return `done ${i}`;
    },
    notStarted: (i) => `not started ${i}`,
  });
  assert.deepEqual(started, [0, 1, 2], "0 and 1 at once, then 2 (which aborts); nothing after");
  for (const i of [0, 1, 2, 3, 4, 5]) {
    assert.equal(out[i], started.includes(i) ? `done ${i}` : `not started ${i}`);
  }
  assert.ok(out.includes("not started 5"));
});

test("runPool: concurrency above the item count, and no items", async () => {
  const signal = new AbortController().signal;
  assert.deepEqual(
    await runPool([1, 2], { concurrency: 10, signal, work: async (i) => i, notStarted: () => 0 }),
    [1, 2],
  );
  assert.deepEqual(
    await runPool([], { concurrency: 4, signal, work: async (i) => i, notStarted: () => 0 }),
    [],
  );
});

function res(
  title: string,
  outcome: FleetRecordResult["outcome"],
  exitCode: number,
  kind?: string,
): FleetRecordResult {
  return {
    recordUid: `uid-${title}`,
    recordTitle: title,
    user: title,
    outcome,
    newKeyId: outcome === "succeeded" || outcome === "script-failed" ? `AKIA${title.toUpperCase()}` : null,
    deleted: [],
    deactivated: [],
    error: kind ? { message: `${title} went wrong`, kind } : null,
    exitCode,
    attemptId: null,
  };
}

const verdictCases: Array<{
  name: string;
  results: FleetRecordResult[];
  interrupted?: boolean;
  want: string | null;
  record?: string;
}> = [
  { name: "all succeeded", results: [res("a", "succeeded", 0), res("b", "succeeded", 0)], want: null },
  { name: "dry run, all planned", results: [res("a", "planned", 0)], want: null },
  {
    name: "scripts-only with no script (skipped, as the single rotation exits 0)",
    results: [res("a", "skipped", 0), res("b", "succeeded", 0)],
    want: null,
  },
  {
    name: "one failed (AWS)",
    results: [res("a", "succeeded", 0), res("b", "failed", 7, "aws")],
    want: "aws",
    record: "b",
  },
  {
    name: "a failure outranks an earlier script failure",
    results: [res("a", "script-failed", 8, "script"), res("b", "failed", 3, "not-found")],
    want: "not-found",
    record: "b",
  },
  {
    name: "among failures, the first in the summary",
    results: [res("a", "failed", 5, "auth"), res("b", "failed", 7, "aws")],
    want: "auth",
    record: "a",
  },
  {
    name: "held by another rotation (skipped, conflict)",
    results: [res("a", "skipped", 4, "conflict"), res("b", "script-failed", 8, "script")],
    want: "conflict",
    record: "a",
  },
  {
    name: "only script failures: delivery (8)",
    results: [res("a", "script-failed", 8, "script")],
    want: "delivery",
    record: "a",
  },
  {
    name: "a non-RekeyError: internal",
    results: [res("a", "failed", 1, "internal")],
    want: "internal",
    record: "a",
  },
  {
    name: "interrupted wins",
    results: [res("a", "failed", 7, "aws"), res("b", "not started", 130, "interrupted")],
    interrupted: true,
    want: "interrupted",
  },
];

for (const c of verdictCases) {
  test(`fleetVerdict: ${c.name}`, () => {
    const v = fleetVerdict(c.results, c.interrupted ?? false);
    assert.equal(v?.kind ?? null, c.want);
    if (c.record) assert.equal(v?.record?.recordTitle, c.record);
  });
}

test("fleetProgressState: what the progress line says of a fleet run", () => {
  const p = { total: 40, started: 12, ok: 9, failed: 1, running: 2 };
  assert.equal(
    formatProgress(fleetProgressState(p), 3200),
    "rotating: 12 / 40 records (30%), 9 ok, 1 failed, 2 running, 3s",
  );
  assert.equal(
    formatProgress(fleetProgressState({ total: 2, started: 1, ok: 0, failed: 0, running: 1 }, true), 0),
    "planning: 1 / 2 records (50%), 0 ok, 0 failed, 1 running, 0s",
  );
});

test("renderFleetSummary: a row per record, the counts; control characters escaped, long errors cut", () => {
  const evil = res("e\u001b]0;x\u0007vil", "failed", 7, "aws");
  evil.error = { message: `${"x".repeat(300)}\nsecond line`, kind: "aws" };
  const text = renderFleetSummary([res("a", "succeeded", 0), evil, res("c", "not started", 130)]);
  const lines = text.trimEnd().split("\n");
  assert.match(lines[0]!, /^RECORD\s+IAM USER\s+OUTCOME\s+NEW KEY\s+ERROR$/);
  assert.match(lines[1]!, /^a\s+a\s+succeeded\s+AKIAA$/);
  assert.ok(lines[2]!.includes("e\\x1b]0;x\\x07vil"), lines[2]);
  assert.ok(!text.includes("\u001b"));
  assert.ok(!text.includes("second line"));
  assert.ok(lines[2]!.endsWith("x…"));
  assert.match(lines[3]!, /^c\s+c\s+not started$/);
  assert.equal(lines[4], "3 record(s): 1 succeeded, 1 failed, 1 not started");
  assert.equal(renderFleetSummary([]), "");
  assert.equal(shortError(undefined), "");
});
