import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { effectiveBurst, newBucket, takeToken } from "./token-bucket.js";

describe("token bucket", () => {
  it("allows the burst at once, then throttles", () => {
    const b = newBucket(3, 0);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => takeToken(b, 0, 1, 3)),
      [true, true, true, false],
    );
  });

  // [ms since start, expected] with rate 10/s, burst 2, each step taking one token.
  const steps: Array<[number, boolean]> = [
    [0, true],
    [0, true],
    [0, false],
    [50, false], // half a token
    [100, true], // one token refilled
    [100, false],
    [10_000, true], // refilled, but capped at the burst
    [10_000, true],
    [10_000, false],
  ];
  it("refills at the rate and caps at the burst", () => {
    const b = newBucket(2, 0);
    for (const [t, want] of steps) assert.equal(takeToken(b, t, 10, 2), want, `at ${t} ms`);
  });

  it("ignores a clock going backwards", () => {
    const b = newBucket(1, 1000);
    assert.equal(takeToken(b, 1000, 1, 1), true);
    assert.equal(takeToken(b, 500, 1, 1), false);
  });

  const bursts: Array<[number, number, number]> = [
    [5, 0, 5],
    [0.5, 0, 1],
    [2.5, 0, 3],
    [5, 20, 20],
  ];
  for (const [rate, burst, want] of bursts) {
    it(`burst for rate ${rate}, burst ${burst} → ${want}`, () =>
      assert.equal(effectiveBurst(rate, burst), want));
  }
});
