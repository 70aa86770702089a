import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { FakeClock, flush } from "./fake-clock.js";
import { createLimiter, type Limiter } from "./limiter.js";

/** Acquire a slot in the background; `granted` flips when it is given. */
function take(l: Limiter, account: string) {
  const slot = { granted: false, release: () => {}, error: undefined as unknown };
  l.acquire(account).then(
    (release) => {
      slot.granted = true;
      slot.release = release;
    },
    (err) => {
      slot.error = err;
    },
  );
  return slot;
}

test("bounds concurrency overall and per account; a blocked account does not hold up others", async () => {
  const l = createLimiter({ maxConcurrent: 3, maxPerAccount: 2, clock: new FakeClock() });
  const a1 = take(l, "A");
  const a2 = take(l, "A");
  const a3 = take(l, "A");
  const b1 = take(l, "B");
  const c1 = take(l, "C");
  await flush();
  assert.deepEqual(
    [a1, a2, a3, b1, c1].map((s) => s.granted),
    [true, true, false, true, false],
  );
  assert.deepEqual(l.stats(), { active: 3, queued: 2 });

  a1.release();
  a1.release(); // twice: no effect
  await flush();
  // The overall slot goes to the first waiter that may run: A's third (A is at 1/2 now).
  assert.deepEqual([a3.granted, c1.granted], [true, false]);
  b1.release();
  await flush();
  assert.equal(c1.granted, true);
  assert.deepEqual(l.stats(), { active: 3, queued: 0 });
});

test("run releases the slot when the work fails", async () => {
  const l = createLimiter({ maxConcurrent: 1, maxPerAccount: 1, clock: new FakeClock() });
  await assert.rejects(
    l.run("A", async () => {
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(await l.run("A", async () => 42), 42);
  assert.deepEqual(l.stats(), { active: 0, queued: 0 });
});

test("a throttled account pauses; other accounts go on; the pause ends on time", async () => {
  const clock = new FakeClock();
  const l = createLimiter({
    maxConcurrent: 10,
    maxPerAccount: 4,
    clock,
    throttle: { pauseMs: 1000, decayMs: 60_000 },
  });
  l.onThrottle("A");
  assert.deepEqual(l.account("A"), { active: 0, queued: 0, limit: 2, pausedForMs: 1000 });
  const a = take(l, "A");
  const b = take(l, "B");
  await flush();
  assert.equal(a.granted, false);
  assert.equal(b.granted, true);
  await clock.advance(999);
  assert.equal(a.granted, false);
  await clock.advance(1);
  assert.equal(a.granted, true);
  assert.equal(clock.pending, 0, "no timer left armed");
});

test("each throttle halves the limit and pauses for the same short time; echoes change nothing", async () => {
  const clock = new FakeClock();
  const l = createLimiter({
    maxConcurrent: 100,
    maxPerAccount: 16,
    clock,
    throttle: { pauseMs: 1000, decayMs: 60_000 },
  });
  const steps: Array<[number, number]> = [];
  for (let i = 0; i < 6; i++) {
    l.onThrottle("A");
    await clock.advance(500);
    l.onThrottle("A"); // in-flight requests reporting the same throttle
    const s = l.account("A");
    steps.push([s.pausedForMs, s.limit]);
    await clock.advance(s.pausedForMs); // throttled again right after the pause
  }
  assert.deepEqual(steps, [
    [500, 8],
    [500, 4],
    [500, 2],
    [500, 1],
    [500, 1],
    [500, 1],
  ]);
});

test("recovery: without throttles the limit grows by one every decay period", async () => {
  const clock = new FakeClock();
  const l = createLimiter({
    maxConcurrent: 100,
    maxPerAccount: 5,
    clock,
    throttle: { pauseMs: 1000, decayMs: 10_000 },
  });
  for (let i = 0; i < 3; i++) {
    l.onThrottle("A");
    await clock.advance(l.account("A").pausedForMs);
  }
  assert.equal(l.account("A").limit, 1);
  const seen: number[] = [];
  for (let i = 0; i < 5; i++) {
    await clock.advance(10_000);
    seen.push(l.account("A").limit);
  }
  assert.deepEqual(seen, [2, 3, 4, 5, 5]);
  l.onThrottle("A");
  assert.deepEqual([l.account("A").limit, l.account("A").pausedForMs], [2, 1000]);
});

test("a halved limit holds back new work until running work drains", async () => {
  const clock = new FakeClock();
  const l = createLimiter({ maxConcurrent: 10, maxPerAccount: 4, clock, throttle: { decayMs: 1_000_000 } });
  const running = [take(l, "A"), take(l, "A"), take(l, "A"), take(l, "A")];
  await flush();
  l.onThrottle("A"); // limit 2, 4 running
  await clock.advance(l.account("A").pausedForMs);
  const next = take(l, "A");
  await flush();
  assert.equal(next.granted, false);
  running[0]!.release();
  running[1]!.release();
  await flush();
  assert.equal(next.granted, false, "3 left running, still above the limit of 2");
  running[2]!.release();
  await flush();
  assert.equal(next.granted, true);
});

test("close: queued work is refused, running work finishes, idle resolves when drained", async () => {
  const l = createLimiter({ maxConcurrent: 1, maxPerAccount: 1, clock: new FakeClock() });
  const running = take(l, "A");
  const queued = take(l, "A");
  await flush();
  l.close();
  await flush();
  assert.ok(queued.error instanceof RekeyError && queued.error.kind === "conflict");
  await assert.rejects(l.acquire("B"), /stopping/);
  let idle = false;
  void l.idle().then(() => {
    idle = true;
  });
  await flush();
  assert.equal(idle, false);
  running.release();
  await flush();
  assert.equal(idle, true);
});
