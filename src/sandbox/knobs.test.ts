import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RekeyError } from "../errors.js";
import { DEFAULT_KNOBS, KnobStore, validateKnobs } from "./knobs.js";

describe("knobs", () => {
  const bad: Array<[string, unknown]> = [
    ["not an object", 5],
    ["unknown knob", { speed: 1 }],
    ["rate above 1", { errorRate: 1.5 }],
    ["negative", { latencyMs: -1 }],
    ["not a number", { dropRate: "0.5" }],
    ["NaN", { throttleRate: Number.NaN }],
    ["fractional seed", { randomSeed: 1.5 }],
    ["session duration 0", { minSessionDurationSeconds: 0 }],
  ];
  for (const [label, input] of bad) {
    it(`refuses ${label} with a usage error naming the knob`, () =>
      assert.throws(
        () => validateKnobs(input),
        (e: unknown) => e instanceof RekeyError && e.kind === "usage",
      ));
  }

  it("accepts valid values and ignores undefined", () => {
    assert.deepEqual(validateKnobs({ errorRate: 1, dropRate: 0, randomSeed: null, latencyMs: undefined }), {
      errorRate: 1,
      dropRate: 0,
      randomSeed: null,
    });
  });

  it("a store starts from the defaults, merges changes and tells listeners", () => {
    const store = new KnobStore({ latencyMs: 5 });
    const seen: unknown[] = [];
    store.onChange((_k, changed) => seen.push(changed));
    assert.deepEqual(store.get(), { ...DEFAULT_KNOBS, latencyMs: 5 });
    assert.equal(store.set({ throttleRate: 10 }).latencyMs, 5);
    assert.equal(store.current().throttleRate, 10);
    assert.deepEqual(seen, [{ throttleRate: 10 }]);
    assert.throws(() => store.set({ errorRate: 2 }));
    assert.equal(store.get().errorRate, 0);
  });
});
