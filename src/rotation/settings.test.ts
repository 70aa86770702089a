import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import { parseDuration, readKeyState, readSettings } from "./settings.js";

function user(fields: Record<string, string>) {
  const r = newRecord("pamUser", "alice (AWS)");
  for (const [k, v] of Object.entries(fields)) setFieldValue(r, k, v);
  return r;
}

test("settings: defaults", () => {
  const s = readSettings(user({ login: "alice" }));
  assert.equal(s.userName, "alice");
  assert.equal(s.strategy, "create-then-delete");
  assert.equal(s.strategySource, "default");
  assert.deepEqual(s.credentialRefs, []);
  assert.equal(s.pamConfigurationRef, undefined);
  assert.equal(s.graceMs, undefined);
  assert.equal(s.region, undefined);
});

test("settings: the seed's delete_all_keys_before_rotating, any truthy spelling", () => {
  for (const v of ["True", "true", "YES", "1", " yes "]) {
    const s = readSettings(user({ login: "alice", delete_all_keys_before_rotating: v }));
    assert.equal(s.strategy, "delete-then-create", v);
    assert.equal(s.strategySource, "delete_all_keys_before_rotating");
  }
  for (const v of ["False", "no", "0", ""]) {
    assert.equal(
      readSettings(user({ login: "alice", delete_all_keys_before_rotating: v })).strategy,
      "create-then-delete",
    );
  }
});

test("settings: rotation_strategy, --strategy override and contradictions", () => {
  assert.equal(readSettings(user({ login: "a", rotation_strategy: "Graceful" })).strategy, "graceful");
  assert.equal(
    readSettings(user({ login: "a", rotation_strategy: "graceful" }), { strategy: "delete-then-create" })
      .strategy,
    "delete-then-create",
  );
  assert.throws(
    () => readSettings(user({ login: "a", rotation_strategy: "sometimes" })),
    (e: unknown) =>
      e instanceof RekeyError &&
      e.kind === "usage" &&
      /unknown rotation strategy "sometimes"/.test(e.message),
  );
  assert.throws(
    () =>
      readSettings(
        user({ login: "a", rotation_strategy: "graceful", delete_all_keys_before_rotating: "True" }),
      ),
    /contradict/,
  );
  // Saying the same thing twice is fine.
  assert.equal(
    readSettings(
      user({ login: "a", rotation_strategy: "delete-then-create", delete_all_keys_before_rotating: "True" }),
    ).strategy,
    "delete-then-create",
  );
});

test("settings: lists, grace, region", () => {
  const s = readSettings(
    user({
      login: "alice",
      rotation_credentials: " admin key , other,",
      pam_configuration: "AWS prod",
      old_key_grace: "1d12h",
      aws_region: "eu-west-1",
    }),
  );
  assert.deepEqual(s.credentialRefs, ["admin key", "other"]);
  assert.equal(s.credentialsOverridden, false);
  assert.equal(s.pamConfigurationRef, "AWS prod");
  assert.equal(s.graceMs, 36 * 3_600_000);
  assert.equal(s.region, "eu-west-1");
  const o = readSettings(user({ login: "alice", rotation_credentials: "x" }), { credentials: "override" });
  assert.deepEqual(o.credentialRefs, ["override"]);
  assert.equal(o.credentialsOverridden, true);
});

test("settings: clear errors naming the record and field", () => {
  assert.throws(
    () => readSettings(newRecord("pamUser", "no login")),
    (e: unknown) =>
      e instanceof RekeyError &&
      /record "no login" has no login/.test(e.message) &&
      /--set login=/.test(e.hint ?? ""),
  );
  assert.throws(() => readSettings(user({ login: "bad name!" })), /not a valid IAM user name/);
  assert.throws(
    () => readSettings(user({ login: "a", old_key_grace: "7 days" })),
    /old_key_grace: "7 days" is not a duration/,
  );
  assert.throws(
    () => readSettings(user({ login: "a", aws_region: "Europe" })),
    /aws_region: "Europe" is not an AWS region/,
  );
});

test("durations", () => {
  assert.equal(parseDuration("7d", "x"), 7 * 86_400_000);
  assert.equal(parseDuration("12h", "x"), 12 * 3_600_000);
  assert.equal(parseDuration("90m", "x"), 90 * 60_000);
  assert.equal(parseDuration("2w", "x"), 14 * 86_400_000);
  assert.equal(parseDuration("0", "x"), 0);
  assert.throws(() => parseDuration("7", "x"), /not a duration/);
  assert.throws(() => parseDuration("-1d", "x"), /not a duration/);
});

test("key state from the record", () => {
  const r = user({
    login: "alice",
    aws_access_key_id: "AKIA1",
    aws_user_id: "AIDA1",
    aws_previous_access_key_id: "AKIA0, AKIAX",
    aws_previous_key_deactivated_at: "2024-01-01T00:00:00.000Z",
    aws_previous_key_since: "2024-01-01T00:00:00.000Z",
    aws_previous_key_held_at: "not a date",
    aws_previous_key_retire: "Deactivate",
  });
  assert.deepEqual(readKeyState(r), {
    currentKeyId: "AKIA1",
    userId: "AIDA1",
    previousKeyIds: ["AKIA0", "AKIAX"],
    previousDeactivatedAt: new Date("2024-01-01T00:00:00.000Z"),
    previousSince: new Date("2024-01-01T00:00:00.000Z"),
    previousActiveUntil: undefined,
    previousHeldAt: undefined,
    previousRetire: "deactivate",
  });
  assert.deepEqual(readKeyState(user({ login: "a" })), {
    currentKeyId: undefined,
    userId: undefined,
    previousKeyIds: [],
    previousDeactivatedAt: undefined,
    previousSince: undefined,
    previousActiveUntil: undefined,
    previousHeldAt: undefined,
    previousRetire: undefined,
  });
});
