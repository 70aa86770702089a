import assert from "node:assert/strict";
import { test } from "node:test";
import type { AwsPacer, AwsService, PaceTicket } from "../providers/aws-iam/pacing.js";
import { FakeClock, flush } from "./fake-clock.js";
import { createPacers } from "./pacer.js";

/** Take a turn in the background; `ticket` is set once it is given. */
function turn(p: AwsPacer, service: AwsService = "iam") {
  const t: { ticket: PaceTicket | undefined } = { ticket: undefined };
  void p.take(service).then((ticket) => {
    t.ticket = ticket;
  });
  return t;
}

/** A pace learned at `served` requests/s: that many served over the last second, then a throttle. */
async function learn(p: AwsPacer, clock: FakeClock, served: number, service: AwsService = "iam") {
  for (let i = 0; i < served; i++) {
    (await p.take(service)).done("served");
    await clock.advance(1000 / served);
  }
  (await p.take(service)).done("throttled");
}

test("not throttled yet: every request goes at once", async () => {
  const clock = new FakeClock();
  const p = createPacers({ clock }).forAccount("A");
  const turns = Array.from({ length: 100 }, () => turn(p));
  await flush();
  assert.ok(turns.every((t) => t.ticket));
  assert.equal(clock.pending, 0);
});

test("after a throttle: turns come at the learned pace, first come first served", async () => {
  const clock = new FakeClock();
  const lines: Array<[string, unknown]> = [];
  const logger = {
    debug: (o: object, m?: string) => lines.push(["debug", { ...o, m }]),
    info: (o: object, m?: string) => lines.push(["info", { ...o, m }]),
    warn: () => {},
    error: () => {},
  };
  const rates: number[] = [];
  const pacers = createPacers({ clock, logger, onRate: (r) => rates.push(r.requestsPerSecond) });
  const p = pacers.forAccount("A");
  await learn(p, clock, 10); // 9/s: one turn every 112 ms
  assert.deepEqual(pacers.report(), [{ account: "A", service: "iam", rate: 9, throttles: 1, waiting: 0 }]);
  const turns = [turn(p), turn(p), turn(p)];
  await flush();
  assert.deepEqual(
    turns.map((t) => !!t.ticket),
    [false, false, false],
    "the bucket was emptied by the throttle",
  );
  await clock.advance(112);
  assert.deepEqual(
    turns.map((t) => !!t.ticket),
    [true, false, false],
  );
  await clock.advance(112);
  assert.deepEqual(
    turns.map((t) => !!t.ticket),
    [true, true, false],
  );
  await clock.advance(112);
  assert.ok(turns.every((t) => t.ticket));
  assert.equal(clock.pending, 0, "no timer left armed");
  assert.deepEqual(rates, [9]);
  assert.deepEqual(
    lines.map(([level]) => level),
    ["info"],
  );
});

test("IAM and STS are paced apart, and so are accounts", async () => {
  const clock = new FakeClock();
  const pacers = createPacers({ clock });
  const a = pacers.forAccount("A");
  await learn(a, clock, 5, "iam");
  const iam = turn(a, "iam");
  const sts = turn(a, "sts");
  const other = turn(pacers.forAccount("B"), "iam");
  await flush();
  assert.deepEqual([!!iam.ticket, !!sts.ticket, !!other.ticket], [false, true, true]);
  assert.deepEqual(
    pacers.report().map((r) => [r.account, r.service, r.rate]),
    [
      ["A", "iam", 4.5],
      ["A", "sts", null],
      ["B", "iam", null],
    ],
  );
});

test("throttles of requests sent before the cut are its echo", async () => {
  const clock = new FakeClock();
  const pacers = createPacers({ clock });
  const p = pacers.forAccount("A");
  for (let i = 0; i < 20; i++) {
    (await p.take("iam")).done("served");
    await clock.advance(50);
  }
  const inFlight = await Promise.all([p.take("iam"), p.take("iam"), p.take("iam")]);
  await clock.advance(5);
  for (const t of inFlight) t.done("throttled");
  const [r] = pacers.report();
  assert.equal(r?.throttles, 3);
  assert.equal(r?.rate, 17.1, "one cut (0.9 × the 19 served in the last second), not three");
});

test("a ceiling paces from the start, after a full bucket's worth of requests", async () => {
  const clock = new FakeClock();
  const pacers = createPacers({ clock, maxRate: 4 });
  const p = pacers.forAccount("A");
  const turns = Array.from({ length: 12 }, () => turn(p));
  await flush();
  assert.equal(turns.filter((t) => t.ticket).length, 10);
  await clock.advance(250);
  assert.equal(turns.filter((t) => t.ticket).length, 11);
  assert.deepEqual(pacers.report()[0]?.rate, 4);
});
