import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "./backoff.js";

const policy = { baseDelayMs: 100, maxDelayMs: 1000 };

const cases: Array<[number, number, number]> = [
  // retry, random, delay
  [1, 1, 100],
  [1, 0, 50],
  [2, 1, 200],
  [3, 0.5, 300],
  [4, 1, 800],
  [5, 1, 1000],
  [50, 1, 1000],
  [0, 1, 100],
  [3, 7, 400], // a random source out of range is clamped
];
for (const [retry, r, want] of cases) {
  test(`retry ${retry}, random ${r} → ${want} ms`, () =>
    assert.equal(
      backoffDelay(retry, policy, () => r),
      want,
    ));
}
