import assert from "node:assert/strict";
import { test } from "node:test";
import type { KeyMeta, KeyStatus } from "../providers/aws-iam/port.js";
import { expiredPreviousKeys, type PlanInput, planRotation, planSteps } from "./plan.js";

const key = (id: string, status: KeyStatus, day: number): KeyMeta => ({
  accessKeyId: id,
  status,
  createDate: new Date(Date.UTC(2024, 0, day)),
});

/** A plan as one readable line per step, e.g. "delete A", "create", "save". */
function steps(input: Partial<PlanInput> & Pick<PlanInput, "strategy" | "keys">): string[] | string {
  const out = planRotation({ userName: "alice", verify: false, ...input });
  if (!out.ok) return `refused: ${out.reason}`;
  return planSteps(out.plan).map((s) => (s.keyId ? `${s.step} ${s.keyId}` : s.step));
}

const A = "AKIAAAAAAAAAAAAAAAAA";
const B = "AKIABBBBBBBBBBBBBBBB";

interface Case {
  name: string;
  input: Partial<PlanInput> & Pick<PlanInput, "strategy" | "keys">;
  want: string[] | RegExp;
}

const cases: Case[] = [
  // create-then-delete (the seed's default)
  { name: "ctd: no keys", input: { strategy: "create-then-delete", keys: [] }, want: ["create", "save"] },
  {
    name: "ctd: one current key",
    input: { strategy: "create-then-delete", keys: [key(A, "Active", 1)], currentKeyId: A },
    want: ["create", "save", `delete ${A}`],
  },
  {
    name: "ctd: one unknown key is deleted too (the seed keeps only the new key)",
    input: { strategy: "create-then-delete", keys: [key(A, "Active", 1)] },
    want: ["create", "save", `delete ${A}`],
  },
  {
    name: "ctd: verify comes before any delete",
    input: { strategy: "create-then-delete", keys: [key(A, "Active", 1)], currentKeyId: A, verify: true },
    want: ["create", "verify", "save", `delete ${A}`],
  },
  {
    name: "ctd: 2 keys, the non-current one inactive → deleted first",
    input: {
      strategy: "create-then-delete",
      keys: [key(A, "Active", 2), key(B, "Inactive", 1)],
      currentKeyId: A,
    },
    want: [`delete ${B}`, "create", "save", `delete ${A}`],
  },
  {
    name: "ctd: 2 active keys → refused",
    input: {
      strategy: "create-then-delete",
      keys: [key(A, "Active", 1), key(B, "Active", 2)],
      currentKeyId: A,
    },
    want: /already has 2 access keys.*nothing was changed/,
  },
  {
    name: "ctd: 2 keys, the inactive one is the vault's current key → refused",
    input: {
      strategy: "create-then-delete",
      keys: [key(A, "Inactive", 1), key(B, "Active", 2)],
      currentKeyId: A,
    },
    want: /already has 2 access keys/,
  },
  {
    name: "ctd: force does not lift the 2-key refusal",
    input: {
      strategy: "create-then-delete",
      keys: [key(A, "Active", 1), key(B, "Active", 2)],
      currentKeyId: A,
      force: true,
    },
    want: /already has 2 access keys/,
  },
  {
    name: "ctd: 2 inactive unknown keys → the older is deleted first, the other after",
    input: { strategy: "create-then-delete", keys: [key(B, "Inactive", 2), key(A, "Inactive", 1)] },
    want: [`delete ${A}`, "create", "save", `delete ${B}`],
  },
  // delete-then-create (the seed's flag)
  {
    name: "dtc: deletes every key first",
    input: {
      strategy: "delete-then-create",
      keys: [key(A, "Active", 1), key(B, "Active", 2)],
      currentKeyId: A,
    },
    want: [`delete ${A}`, `delete ${B}`, "create", "save"],
  },
  { name: "dtc: no keys", input: { strategy: "delete-then-create", keys: [] }, want: ["create", "save"] },
  // graceful
  {
    name: "graceful: one current key → create, verify, save, deactivate",
    input: { strategy: "graceful", keys: [key(A, "Active", 1)], currentKeyId: A, verify: true },
    want: ["create", "verify", "save", `deactivate ${A}`],
  },
  {
    name: "graceful: current + previous inactive → delete previous first",
    input: {
      strategy: "graceful",
      keys: [key(A, "Active", 2), key(B, "Inactive", 1)],
      currentKeyId: A,
      previousKeyIds: [B],
      verify: true,
    },
    want: [`delete ${B}`, "create", "verify", "save", `deactivate ${A}`],
  },
  {
    name: "graceful: current + unknown active → refused without force",
    input: { strategy: "graceful", keys: [key(A, "Active", 2), key(B, "Active", 1)], currentKeyId: A },
    want: /never deletes a key that rekey neither created nor knows/,
  },
  {
    name: "graceful: current + unknown inactive → refused without force",
    input: { strategy: "graceful", keys: [key(A, "Active", 2), key(B, "Inactive", 1)], currentKeyId: A },
    want: /never deletes/,
  },
  {
    name: "graceful: current + unknown → deleted with force",
    input: {
      strategy: "graceful",
      keys: [key(A, "Active", 2), key(B, "Active", 1)],
      currentKeyId: A,
      force: true,
    },
    want: [`delete ${B}`, "create", "save", `deactivate ${A}`],
  },
  {
    name: "graceful: previous key re-activated by someone → not deleted without force",
    input: {
      strategy: "graceful",
      keys: [key(A, "Active", 2), key(B, "Active", 1)],
      currentKeyId: A,
      previousKeyIds: [B],
    },
    want: /never deletes/,
  },
  {
    name: "graceful: a lone unknown active key is deactivated, not deleted",
    input: { strategy: "graceful", keys: [key(A, "Active", 1)] },
    want: ["create", "save", `deactivate ${A}`],
  },
  {
    name: "graceful: a lone unknown inactive key is left alone",
    input: { strategy: "graceful", keys: [key(A, "Inactive", 1)] },
    want: ["create", "save"],
  },
  {
    name: "graceful: force prefers the inactive unknown key when neither is current",
    input: { strategy: "graceful", keys: [key(A, "Active", 1), key(B, "Inactive", 2)], force: true },
    want: [`delete ${B}`, "create", "save", `deactivate ${A}`],
  },
];

for (const c of cases) {
  test(`plan: ${c.name}`, () => {
    const got = steps(c.input);
    if (c.want instanceof RegExp) {
      assert.equal(typeof got, "string", `expected a refusal, got ${JSON.stringify(got)}`);
      assert.match(got as string, c.want);
    } else {
      assert.deepEqual(got, c.want);
    }
  });
}

test("plan: the 2-key refusal names the seed's flag and graceful", () => {
  const out = planRotation({
    userName: "alice",
    strategy: "create-then-delete",
    keys: [key(A, "Active", 1), key(B, "Active", 2)],
    currentKeyId: A,
    verify: false,
  });
  assert.equal(out.ok, false);
  if (out.ok) return;
  assert.match(out.hint, /delete_all_keys_before_rotating/);
  assert.match(out.hint, /graceful/);
  assert.match(out.reason, /AKIAAAAAAAAAAAAAAAAA \(Active, the vault's current key\)/);
});

test("plan: a vault key that is not among the user's keys stops the plan (any strategy); --force goes on and says so", () => {
  for (const strategy of ["create-then-delete", "delete-then-create", "graceful"] as const) {
    const input = {
      userName: "alice",
      strategy,
      keys: [key(A, "Active", 2)],
      currentKeyId: "AKIAGONEGONEGONEGONE",
      verify: false,
    };
    const out = planRotation(input);
    assert.equal(out.ok, false, strategy);
    if (out.ok) continue;
    assert.match(out.reason, /AKIAGONEGONEGONEGONE is not among the IAM user's keys/);
    assert.match(out.reason, /nothing was changed/);
    assert.match(out.hint, new RegExp(`--force \\(it would (delete|deactivate) ${A}\\)`));
    const forced = planRotation({ ...input, force: true });
    assert.ok(forced.ok, strategy);
    if (forced.ok) assert.ok(forced.plan.notes.some((n) => n.includes("--force: the vault's current key")));
  }
  // A restart after our own delete-then-create deleted the vault's key is not a mismatch.
  assert.ok(
    planRotation({
      userName: "alice",
      strategy: "delete-then-create",
      keys: [],
      currentKeyId: "AKIAGONEGONEGONEGONE",
      verify: false,
      currentDeletedByUs: true,
    }).ok,
  );
  // A record rotated before (aws_user_id) but holding no key is a mismatch too; a never-rotated one is not.
  const none = {
    userName: "alice",
    strategy: "create-then-delete" as const,
    keys: [key(A, "Active", 2)],
    verify: false,
  };
  assert.equal(planRotation({ ...none, rotatedBefore: true }).ok, false);
  assert.equal(planRotation({ ...none, rotatedBefore: false }).ok, true);
});

test("plan: notes say when the inactive key is deleted first", () => {
  const out = planRotation({
    userName: "alice",
    strategy: "create-then-delete",
    keys: [key(A, "Active", 2), key(B, "Inactive", 1)],
    currentKeyId: A,
    verify: false,
  });
  assert.ok(out.ok);
  if (!out.ok) return;
  assert.ok(out.plan.notes.some((n) => n.includes(`deleted inactive key ${B} first`)));
});

test("grace: only inactive previous keys past the grace are expired", () => {
  const keys = [key(A, "Active", 2), key(B, "Inactive", 1)];
  const deactivatedAt = new Date("2024-02-01T00:00:00Z");
  const base = { keys, currentKeyId: A, previousKeyIds: [B], deactivatedAt, graceMs: 86_400_000 };
  assert.deepEqual(expiredPreviousKeys({ ...base, now: new Date("2024-02-01T12:00:00Z") }), []);
  assert.deepEqual(
    expiredPreviousKeys({ ...base, now: new Date("2024-02-02T00:00:00Z") }).map((k) => k.keyId),
    [B],
  );
  assert.deepEqual(expiredPreviousKeys({ ...base, graceMs: undefined, now: new Date("2030-01-01") }), []);
  assert.deepEqual(
    expiredPreviousKeys({ ...base, previousKeyIds: [], now: new Date("2030-01-01") }),
    [],
    "a key rekey does not know is never expired",
  );
  assert.deepEqual(
    expiredPreviousKeys({ ...base, keys: [key(B, "Active", 1)], now: new Date("2030-01-01") }),
    [],
    "a re-activated previous key is kept",
  );
});
