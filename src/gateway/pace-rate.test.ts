import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  advance,
  DEFAULT_PACE,
  delayMs,
  isLearned,
  newPaceState,
  noteServed,
  noteThrottled,
  type PaceSettings,
  type PaceState,
  servedRate,
  take,
} from "./pace-rate.js";

const S: PaceSettings = { ...DEFAULT_PACE };

/** `n` requests served evenly over [from, to). */
function serve(st: PaceState, n: number, from: number, to: number) {
  for (let i = 0; i < n; i++) noteServed(st, from + ((to - from) * i) / n);
}

describe("pace-rate", () => {
  it("not learned: requests are not paced, a fresh bucket is full", () => {
    const st = newPaceState(S, 0);
    assert.equal(isLearned(st), false);
    for (let i = 0; i < 1000; i++) {
      assert.equal(delayMs(st), 0);
      take(st);
    }
  });

  it("with a ceiling: the start tokens go at once (a single rotation never waits), then the ceiling's pace", () => {
    const st = newPaceState({ ...S, maxRate: 2 }, 0);
    for (let i = 0; i < S.startTokens; i++) {
      assert.equal(delayMs(st), 0, `request ${i}`);
      take(st);
    }
    assert.equal(delayMs(st), 500);
    advance(st, { ...S, maxRate: 2 }, 500, true);
    assert.equal(delayMs(st), 0);
    assert.equal(st.rate, 2, "never above the ceiling, however long requests wait");
  });

  it("served rate: over the window, or since the first request when younger; none when idle", () => {
    const cases: Array<{
      name: string;
      served: [number, number, number][];
      now: number;
      want: number | undefined;
    }> = [
      { name: "nothing served", served: [], now: 5000, want: undefined },
      { name: "60 over the last second", served: [[60, 4000, 5000]], now: 5000, want: 60 },
      {
        name: "older requests are out",
        served: [
          [100, 0, 1000],
          [20, 4000, 5000],
        ],
        now: 5000,
        want: 20,
      },
      { name: "just started: 30 in 0.5 s", served: [[30, 4500, 5000]], now: 5000, want: 60 },
      {
        name: "a burst in 10 ms counts over a tenth of the window",
        served: [[10, 4990, 5000]],
        now: 5000,
        want: 100,
      },
    ];
    for (const c of cases) {
      const st = newPaceState(S, 0);
      for (const [n, from, to] of c.served) serve(st, n, from, to);
      const got = servedRate(st, S, c.now);
      assert.equal(got === undefined ? undefined : Math.round(got), c.want, c.name);
    }
  });

  it("served rate above the ring's size: measured over the span the ring holds", () => {
    const st = newPaceState(S, 0);
    serve(st, 2000, 0, 1000); // 2,000/s: the ring keeps the last 512
    assert.equal(Math.round(servedRate(st, S, 1000)! / 100) * 100, 2000);
  });

  it("a throttle cuts the rate to decrease × min(rate, served rate); its echoes change nothing", () => {
    const cases: Array<{ name: string; rate?: number; served: number; want: number }> = [
      { name: "first throttle: seeded from the served rate", served: 60, want: 54 },
      { name: "learned rate below the served rate", rate: 40, served: 60, want: 36 },
      { name: "served rate below the learned rate", rate: 80, served: 50, want: 45 },
      { name: "nothing served: the floor", served: 0, want: S.minRate },
    ];
    for (const c of cases) {
      const st = newPaceState(S, 0);
      if (c.rate !== undefined) st.rate = c.rate;
      serve(st, c.served, 9000, 10_000);
      assert.equal(noteThrottled(st, S, 10_000, 9990), "cut", c.name);
      assert.equal(Math.round(st.rate * 10) / 10, c.want, c.name);
      assert.equal(st.tokens, 0, `${c.name}: the bucket is emptied`);
      const after = st.rate;
      assert.equal(noteThrottled(st, S, 10_005, 9995), "echo", `${c.name}: sent before the cut`);
      assert.equal(st.rate, after);
      assert.equal(noteThrottled(st, S, 10_100, 10_050), "cut", `${c.name}: sent after the cut`);
      assert.ok(st.rate < after || st.rate === S.minRate);
    }
  });

  it("probing: +5 % a second (at least 0.5/s) while requests wait; idle, the rate stays", () => {
    const cases: Array<{ rate: number; waiting: boolean; seconds: number; want: number }> = [
      { rate: 100, waiting: true, seconds: 1, want: 105 },
      { rate: 100, waiting: true, seconds: 0.5, want: 102.5 },
      { rate: 4, waiting: true, seconds: 1, want: 4.5 },
      { rate: 100, waiting: false, seconds: 10, want: 100 },
    ];
    for (const c of cases) {
      const st = newPaceState(S, 0);
      st.rate = c.rate;
      advance(st, S, c.seconds * 1000, c.waiting);
      assert.equal(st.rate, c.want, JSON.stringify(c));
    }
  });

  it("paced: the bucket refills at the rate, holds a tenth of a second (at least one token)", () => {
    const st = newPaceState(S, 0);
    serve(st, 50, 0, 1000);
    noteThrottled(st, S, 1000, 1000); // 45/s
    assert.equal(st.rate, 45);
    assert.equal(delayMs(st), 23); // 1/45 s
    advance(st, S, 1023, false);
    assert.equal(delayMs(st), 0);
    advance(st, S, 60_000, false);
    assert.equal(Math.round(st.tokens * 10) / 10, 4.5, "capacity: 0.1 s at 45/s");
    const slow = newPaceState(S, 0);
    noteThrottled(slow, S, 0, 0);
    advance(slow, S, 60_000, false);
    assert.equal(slow.tokens, 1, "at least one token");
  });

  it("simulated: against a 50/s quota the pace settles between 90 % and 100 % of it", () => {
    // The account's bucket (50/s, burst 10) and a demand far above it; 1 ms steps.
    const st = newPaceState(S, 0);
    let server = 10;
    let served = 0;
    let throttles = 0;
    const inFlight: Array<{ sentAt: number; at: number; ok: boolean }> = [];
    for (let now = 0; now < 60_000; now++) {
      server = Math.min(10, server + 0.05);
      advance(st, S, now, true);
      while (delayMs(st) === 0) {
        take(st);
        const ok = server >= 1;
        if (ok) server -= 1;
        inFlight.push({ sentAt: now, at: now + 5, ok }); // answered 5 ms later
        if (!Number.isFinite(st.rate) && inFlight.length > 50) break;
      }
      while (inFlight.length > 0 && inFlight[0]!.at <= now) {
        const r = inFlight.shift()!;
        if (r.ok) {
          noteServed(st, now);
          if (r.sentAt >= 10_000) served++;
        } else {
          throttles++;
          noteThrottled(st, S, now, r.sentAt);
        }
      }
    }
    const rate = served / 50; // over the last 50 s
    assert.ok(rate >= 45 && rate <= 50.5, `served ${rate}/s`);
    assert.ok(throttles < 200, `throttles: ${throttles}`);
  });
});
