import assert from "node:assert/strict";
import { test } from "node:test";
import type { KeyMeta } from "../providers/aws-iam/port.js";
import { decideRetirement, type LastUse, retirementDueAt, usedSince } from "./retire.js";
import type { RecordKeyState } from "./settings.js";

const T0 = new Date("2026-01-10T10:45:30.500Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const H = 3_600_000;
const use = (d: Date): LastUse => ({ date: d, service: "sts", region: "us-east-1" });

test("usedSince: to the minute by default (IAM's precision), exact when told", () => {
  // IAM reports 10:45:00 for a use at 10:45:40: that is a use after 10:45:30.5.
  assert.equal(usedSince(use(new Date("2026-01-10T10:45:00Z")), T0), true);
  assert.equal(usedSince(use(new Date("2026-01-10T10:44:59Z")), T0), false);
  assert.equal(usedSince(use(new Date("2026-01-10T10:45:00Z")), T0, 1), false);
  assert.equal(usedSince(use(at(1)), T0, 1), true);
  assert.equal(usedSince(null, T0), false, "never used");
  assert.equal(usedSince("denied", T0), false, "unknown: the caller warns");
});

const key = (id: string, status: KeyMeta["status"] = "Active"): KeyMeta => ({
  accessKeyId: id,
  status,
  createDate: new Date("2026-01-01T00:00:00Z"),
});

function state(s: Partial<RecordKeyState>): RecordKeyState {
  return {
    currentKeyId: "AKIANEW",
    userId: undefined,
    previousKeyIds: ["AKIAOLD"],
    previousDeactivatedAt: undefined,
    previousSince: T0,
    previousActiveUntil: undefined,
    previousHeldAt: undefined,
    previousRetire: "deactivate",
    ...s,
  };
}

const settings = { graceMs: 24 * H, recheckMs: H, resolutionMs: 1 };
const keys = [key("AKIANEW"), key("AKIAOLD")];

test("overlap: waits until it ends, then asks IAM, then deactivates an unused key", () => {
  const s = state({ previousActiveUntil: at(2 * H) });
  const early = decideRetirement({ keys, state: s, settings, lastUse: new Map(), now: at(H) });
  assert.deepEqual(early.actions, []);
  assert.deepEqual(early.needLastUse, []);
  assert.deepEqual(early.nextAt, at(2 * H));
  assert.deepEqual(retirementDueAt(s, settings), at(2 * H));

  const ask = decideRetirement({ keys, state: s, settings, lastUse: new Map(), now: at(3 * H) });
  assert.deepEqual(ask.needLastUse, ["AKIAOLD"]);
  assert.deepEqual(ask.actions, []);

  const done = decideRetirement({
    keys,
    state: s,
    settings,
    lastUse: new Map([["AKIAOLD", use(at(-H))]]),
    now: at(3 * H),
  });
  assert.deepEqual(
    done.actions.map((a) => `${a.kind} ${a.keyId}`),
    ["deactivate AKIAOLD"],
  );
  assert.deepEqual(done.state.previousDeactivatedAt, at(3 * H));
  assert.equal(done.state.previousActiveUntil, undefined);
  assert.deepEqual(done.nextAt, at(3 * H + 24 * H), "then the grace");
});

test("a key used since the last check is held: kept, checked again after old_key_recheck", () => {
  const s = state({});
  const d = decideRetirement({
    keys,
    state: s,
    settings,
    lastUse: new Map([["AKIAOLD", use(at(10_000))]]),
    now: at(60_000),
  });
  assert.deepEqual(d.actions, []);
  assert.deepEqual(
    d.held.map((h) => h.keyId),
    ["AKIAOLD"],
  );
  assert.deepEqual(d.state.previousHeldAt, at(60_000));
  assert.deepEqual(d.state.previousSince, at(60_000), "the next check looks for a use after this one");
  assert.deepEqual(d.nextAt, at(60_000 + H));
  const heldState = state({ previousHeldAt: at(60_000), previousSince: at(60_000) });
  assert.deepEqual(retirementDueAt(heldState, settings), at(60_000 + H));
  const wait = decideRetirement({
    keys,
    state: heldState,
    settings,
    lastUse: new Map(),
    now: at(30 * 60_000),
  });
  assert.deepEqual([wait.actions, wait.needLastUse], [[], []], "not before the recheck time");
});

test("create-then-delete's previous key is deleted (no Inactive phase) once unused", () => {
  const d = decideRetirement({
    keys,
    state: state({ previousRetire: "delete", previousHeldAt: at(0) }),
    settings,
    lastUse: new Map([["AKIAOLD", null]]),
    now: at(2 * H),
  });
  assert.deepEqual(
    d.actions.map((a) => `${a.kind} ${a.keyId}`),
    ["delete AKIAOLD"],
  );
  assert.deepEqual(d.state.previousKeyIds, []);
  assert.equal(d.state.previousHeldAt, undefined);
});

test("grace: an Inactive key is deleted after it; one IAM shows used after deactivation is re-activated and held", () => {
  const inactive = [key("AKIANEW"), key("AKIAOLD", "Inactive")];
  const s = state({ previousDeactivatedAt: at(0), previousSince: at(0) });
  assert.deepEqual(retirementDueAt(s, settings), at(24 * H));
  const early = decideRetirement({ keys: inactive, state: s, settings, lastUse: new Map(), now: at(H) });
  assert.deepEqual(early.actions, []);
  const del = decideRetirement({
    keys: inactive,
    state: s,
    settings,
    lastUse: new Map([["AKIAOLD", use(at(-1))]]),
    now: at(25 * H),
  });
  assert.deepEqual(
    del.actions.map((a) => `${a.kind} ${a.keyId}`),
    ["delete AKIAOLD"],
  );
  assert.deepEqual(del.state.previousKeyIds, []);
  const back = decideRetirement({
    keys: inactive,
    state: s,
    settings,
    lastUse: new Map([["AKIAOLD", use(at(5))]]),
    now: at(25 * H),
  });
  assert.deepEqual(
    back.actions.map((a) => `${a.kind} ${a.keyId}`),
    ["reactivate AKIAOLD"],
  );
  assert.deepEqual(back.state.previousHeldAt, at(25 * H));
  assert.equal(back.state.previousDeactivatedAt, undefined);
});

test("graceful without old_key_grace waits for the next rotation; --force skips the clocks and the question", () => {
  const inactive = [key("AKIANEW"), key("AKIAOLD", "Inactive")];
  const s = state({ previousDeactivatedAt: at(0) });
  const noGrace = { ...settings, graceMs: undefined };
  assert.equal(retirementDueAt(s, noGrace), undefined);
  assert.deepEqual(
    decideRetirement({ keys: inactive, state: s, settings: noGrace, lastUse: new Map(), now: at(99 * H) })
      .actions,
    [],
  );
  const forced = decideRetirement({
    keys,
    state: state({ previousActiveUntil: at(9 * H) }),
    settings,
    lastUse: new Map(),
    now: at(H),
    force: true,
  });
  assert.deepEqual(
    forced.actions.map((a) => a.kind),
    ["deactivate"],
  );
});

test("keys IAM no longer lists are forgotten; the current key is never a previous key", () => {
  const d = decideRetirement({
    keys: [key("AKIANEW")],
    state: state({ previousKeyIds: ["AKIAOLD", "AKIANEW"] }),
    settings,
    lastUse: new Map(),
    now: at(H),
  });
  assert.deepEqual(d.state.previousKeyIds, []);
  assert.deepEqual(d.actions, []);
});
