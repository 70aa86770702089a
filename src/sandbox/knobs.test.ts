import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RekeyError } from "../errors.js";
import { DEFAULT_KNOBS, KNOB_FLAGS, KnobStore, knobsFromFlags, validateKnobs } from "./knobs.js";

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
    ["act-then-fail rate above 1", { actThenFailRate: 2 }],
    ["unknown act-then-fail mode", { actThenFailMode: "sometimes" }],
    ["negative late delay", { lateActionDelayMs: -1 }],
    ["stale list not a number", { staleListMs: "100" }],
    ["black hole as a boolean", { blackHoleRate: true }],
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

  it("turns `rekey sandbox` flags (commander's keys, text values) into knobs", () => {
    assert.deepEqual(
      knobsFromFlags({
        host: "127.0.0.1",
        propagationDelay: "8000",
        dropRate: "0.1",
        actThenFailRate: "0.5",
        actThenFailMode: "drop",
        lateActionRate: "0.2",
        lateActionDelay: "50",
        staleList: "2000",
        blackHoleRate: "1",
        randomSeed: "7",
      }),
      {
        propagationDelayMs: 8000,
        dropRate: 0.1,
        actThenFailRate: 0.5,
        actThenFailMode: "drop",
        lateActionRate: 0.2,
        lateActionDelayMs: 50,
        staleListMs: 2000,
        blackHoleRate: 1,
        randomSeed: 7,
      },
    );
    assert.throws(
      () => knobsFromFlags({ actThenFailMode: "often" }),
      (e: unknown) =>
        e instanceof RekeyError && e.kind === "usage" && /--act-then-fail-mode often/.test(e.message),
    );
    assert.throws(() => knobsFromFlags({ errorRate: "1.5" }), /--error-rate 1\.5 is not a number in 0\.\.1/);
    assert.throws(() => knobsFromFlags({ randomSeed: "x" }), /--random-seed x is not an integer/);
    const flags = KNOB_FLAGS.map((f) => f.flags.replace(/ .*$/, ""));
    assert.equal(new Set(flags).size, flags.length, "flag names are unique");
    assert.ok(flags.includes("--black-hole-rate") && flags.includes("--stale-list"));
  });
});
