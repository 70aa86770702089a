import assert from "node:assert/strict";
import { test } from "node:test";
import { onceProgress } from "./commands/gateway.js";
import { formatProgress, ProgressLine } from "./progress.js";

const ERASE = "\r\x1b[2K";

/** A fake terminal (or not) and a clock the test moves. */
function setup(isTTY: boolean, opts: { columns?: number } = {}) {
  const writes: string[] = [];
  let now = 1_000_000;
  const line = new ProgressLine(
    { write: (t) => void writes.push(t), isTTY, columns: opts.columns },
    { now: () => now, delayMs: 250, intervalMs: 100 },
  );
  return {
    line,
    writes,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

test("formatProgress: counts with thousands separators, a percentage when the total is known, elapsed seconds", () => {
  assert.equal(
    formatProgress({ label: "status", done: 1500, total: 100_000, unit: "users" }, 3200),
    "status: 1,500 / 100,000 users (1%), 3s",
  );
  assert.equal(
    formatProgress({ label: "status: reading the vault", done: 42_000, unit: "records" }, 999),
    "status: reading the vault: 42,000 records, 0s",
  );
  assert.equal(
    formatProgress({ label: "gateway --once", done: 3, total: 3, detail: "0 running, 1 failed" }, 61_000),
    "gateway --once: 3 / 3 (100%), 0 running, 1 failed, 61s",
  );
  assert.equal(formatProgress({ label: "x", done: 0, total: 0 }, 0), "x: 0 / 0 (100%), 0s");
  assert.equal(
    formatProgress({ label: "import csv: reading the vault" }, 2500),
    "import csv: reading the vault, 2s",
  );
});

test("formatProgress: control characters escaped, cut to the terminal's width", () => {
  assert.equal(formatProgress({ label: "a\rb\u001b[2J", done: 1 }, 0), "a\\x0db\\x1b[2J: 1, 0s");
  const cut = formatProgress({ label: "a very long label indeed", done: 123_456, total: 999_999 }, 0, 20);
  assert.equal(cut.length, 19);
  assert.ok(cut.endsWith("…"));
});

test("a terminal: nothing before the delay, then at most one draw per interval, each rewriting the line", () => {
  const t = setup(true);
  t.line.update({ label: "status", done: 1 });
  t.advance(100);
  t.line.update({ label: "status", done: 2 });
  assert.deepEqual(t.writes, [], "quick work draws nothing");
  t.advance(200); // 300 ms in
  t.line.update({ label: "status", done: 3 });
  assert.deepEqual(t.writes, [`${ERASE}status: 3, 0s`]);
  t.advance(50);
  t.line.update({ label: "status", done: 4 });
  assert.equal(t.writes.length, 1, "throttled: ~10 draws a second at most");
  t.advance(50);
  t.line.update({ label: "status", done: 5 });
  assert.deepEqual(t.writes.at(-1), `${ERASE}status: 5, 0s`);
  t.advance(10);
  t.line.update({ label: "status: writing", done: 6 }, { force: true });
  assert.deepEqual(t.writes.at(-1), `${ERASE}status: writing: 6, 0s`, "force draws now");
  t.line.end();
  assert.equal(t.writes.at(-1), ERASE, "the line is erased at the end");
  const n = t.writes.length;
  t.line.end();
  t.advance(1000);
  t.line.update({ label: "status", done: 7 });
  assert.equal(t.writes.length, n + 1, "after end, an update may draw again but end never erases twice");
});

test("not a terminal (a pipe, a file, a log collector): never a byte", () => {
  const t = setup(false);
  assert.equal(t.line.enabled, false);
  for (let i = 0; i < 50; i++) {
    t.advance(1000);
    t.line.update({ label: "status", done: i }, { force: i % 2 === 0 });
  }
  t.line.end();
  const logged: string[] = [];
  const logger = {
    debug() {},
    info: (_o: object, m?: string) => void logged.push(m ?? ""),
    warn() {},
    error() {},
  };
  assert.equal(t.line.around(logger), logger, "the logger is used as is");
  assert.deepEqual(t.writes, []);
});

test("around(logger): a log line erases the progress line first and redraws it after", () => {
  const t = setup(true);
  const events: string[] = [];
  const logger = {
    debug() {},
    info: (_o: object, m?: string) => void events.push(`log:${m}`),
    warn() {},
    error() {},
  };
  const wrapped = t.line.around(logger);
  wrapped.info({}, "before any line"); // nothing shown: logged as is
  t.advance(300);
  t.line.update({ label: "gateway --once", done: 1, total: 2 });
  const drawn = t.writes.length;
  t.writes.length = 0;
  const origWrite = t.writes.push.bind(t.writes);
  // Interleave writes and log lines in one sequence to check the order.
  t.writes.push = (...items: string[]) => {
    events.push(...items.map((i) => `write:${JSON.stringify(i)}`));
    return origWrite(...items);
  };
  wrapped.info({}, "rotated");
  assert.equal(drawn, 1);
  assert.deepEqual(events, [
    "log:before any line",
    `write:${JSON.stringify(ERASE)}`,
    "log:rotated",
    `write:${JSON.stringify(`${ERASE}gateway --once: 1 / 2 (50%), 0s`)}`,
  ]);
});

test("gateway --once: finished attempts of all started or queued, what runs, failures and throttles", () => {
  const stats = {
    succeeded: 40,
    "script-failed": 1,
    held: 2,
    failed: 3,
    skipped: 4,
    busy: 0,
    throttles: 7,
    active: 8,
    queued: 142,
  };
  assert.equal(
    formatProgress(onceProgress(stats), 12_300),
    "gateway --once: 50 / 200 records (25%), 8 running, 3 failed, 7 throttled, 12s",
  );
  assert.equal(
    formatProgress(onceProgress({ ...stats, failed: 0, throttles: 0, active: 0, queued: 0 }), 0),
    "gateway --once: 47 / 47 records (100%), 0 running, 0s",
  );
});
