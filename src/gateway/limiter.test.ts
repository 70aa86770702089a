import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { flush } from "./fake-clock.js";
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
  const l = createLimiter({ maxConcurrent: 3, maxPerAccount: 2 });
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
  const l = createLimiter({ maxConcurrent: 1, maxPerAccount: 1 });
  await assert.rejects(
    l.run("A", async () => {
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(await l.run("A", async () => 42), 42);
  assert.deepEqual(l.stats(), { active: 0, queued: 0 });
});

test("a full account holds back its own new work only, until its running work drains", async () => {
  const l = createLimiter({ maxConcurrent: 10, maxPerAccount: 2 });
  const running = [take(l, "A"), take(l, "A")];
  const next = take(l, "A");
  const other = take(l, "B");
  await flush();
  assert.deepEqual([next.granted, other.granted], [false, true]);
  assert.deepEqual(l.account("A"), { active: 2, queued: 1 });
  running[0]!.release();
  await flush();
  assert.equal(next.granted, true);
});

test("close: queued work is refused, running work finishes, idle resolves when drained", async () => {
  const l = createLimiter({ maxConcurrent: 1, maxPerAccount: 1 });
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
