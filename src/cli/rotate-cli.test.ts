/**
 * `rekey rotate` / `repair` / `policy` / `demo` as a user runs them: the real bundled CLI in child
 * processes, against the sandbox served by this test process, on a real vault.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { crashEnv, testHooksFile } from "../testing/checkpoint.js";
import { addKeyRecords, freshHome, rekey, rekeyAsync } from "../testing/cli.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

const STEPS = ["intent", "create", "journal", "verify", "save", "delete-after"] as const;

/** A vault with an admin credential record and a pamUser record for a fresh IAM user with one key. */
async function setup(name: string) {
  const { env } = freshHome();
  const fullEnv = { ...env, AWS_EC2_METADATA_DISABLED: "true" };
  sandbox.admin.createUser(name);
  const first = sandbox.admin.createAccessKey(name);
  const secrets = [sandbox.root.secretAccessKey, first.secretAccessKey];
  await addKeyRecords(fullEnv, "admin", sandbox.root, { name, key: first });
  return { env: fullEnv, first, secrets };
}

const endpoint = () => ["--endpoint-url", sandbox.endpoint];

test("rotate: the new key replaces the old in IAM and the vault; output holds no secret", async () => {
  const { env, first, secrets } = await setup("cli-alice");
  const dry = await rekeyAsync(["rotate", "cli-alice", "--dry-run", ...endpoint()], { env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /plan \(dry run, nothing changed\)/);
  assert.equal(sandbox.admin.listKeys("cli-alice").length, 1, "dry run changed nothing");

  const r = await rekeyAsync(["rotate", "cli-alice", "--verify", "--verbose", ...endpoint()], { env });
  assert.equal(r.code, 0, r.stderr);
  const keys = sandbox.admin.listKeys("cli-alice");
  assert.equal(keys.length, 1);
  assert.notEqual(keys[0]?.accessKeyId, first.accessKeyId);
  const vaultKey = rekey(["record", "get", "cli-alice", "aws_access_key_id"], { env }).stdout.trim();
  assert.equal(vaultKey, keys[0]?.accessKeyId);
  assert.match(r.stdout, new RegExp(`deleted: +${first.accessKeyId}`));
  const newSecret = rekey(["record", "get", "cli-alice", "aws_secret_access_key"], { env }).stdout.trim();
  assert.equal(newSecret.length, 40);
  for (const s of [...secrets, newSecret]) {
    assert.ok(
      !r.stdout.includes(s) && !r.stderr.includes(s),
      "no secret in rotate's stdout/stderr (debug logs included)",
    );
    assert.ok(!dry.stdout.includes(s) && !dry.stderr.includes(s));
  }
  assert.ok(r.stderr.length > 0, "--verbose logged something");
  const json = await rekeyAsync(["rotate", "cli-alice", "--json", ...endpoint()], { env });
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).deleted[0], keys[0]?.accessKeyId);
});

test("rotate errors name the problem and the fix", async () => {
  const { env } = await setup("cli-bob");
  const unknown = await rekeyAsync(["rotate", "nobody", ...endpoint()], { env });
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /no record with UID or title "nobody"/);
  const badStrategy = await rekeyAsync(["rotate", "cli-bob", "--strategy", "yolo", ...endpoint()], { env });
  assert.equal(badStrategy.code, 2);
  assert.match(badStrategy.stderr, /unknown rotation strategy "yolo"/);
  sandbox.admin.createAccessKey("cli-bob"); // now 2 keys, both Active
  const twoKeys = await rekeyAsync(["rotate", "cli-bob", ...endpoint()], { env });
  assert.notEqual(twoKeys.code, 0);
  assert.match(twoKeys.stderr, /2/);
  assert.match(twoKeys.stderr, /delete_all_keys_before_rotating/);
  assert.equal(sandbox.admin.listKeys("cli-bob").length, 2, "nothing changed");
});

for (const step of STEPS) {
  test(`a rekey rotate SIGKILLed after "${step}" is completed by the next rekey rotate`, async () => {
    const name = `cli-crash-${step}`;
    const { env } = await setup(name);
    const crashed = await rekeyAsync(["rotate", name, "--verify", ...endpoint()], {
      env: { ...env, ...crashEnv(step) },
    });
    assert.equal(crashed.signal, "SIGKILL", `killed at ${step}: ${crashed.stderr}`);
    const next = await rekeyAsync(["rotate", name, ...endpoint()], { env });
    assert.equal(next.code, 0, next.stderr);
    const keys = sandbox.admin.listKeys(name);
    const vaultKey = rekey(["record", "get", name, "aws_access_key_id"], { env }).stdout.trim();
    assert.deepEqual(
      keys.map((k) => [k.accessKeyId, k.status]),
      [[vaultKey, "Active"]],
      "the vault's key is the user's only key: no orphan",
    );
    const secret = rekey(["record", "get", name, "aws_secret_access_key"], { env }).stdout.trim();
    assert.equal(secret.length, 40, "the secret of the live key is in the vault");
  });
}

test("policy prints the least-privilege policy per strategy", () => {
  const base = JSON.parse(rekey(["policy", "--account", "123456789012"]).stdout);
  assert.deepEqual(base.Statement[0].Action, [
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:DeleteAccessKey",
    "iam:GetUser",
    "iam:GetAccessKeyLastUsed",
  ]);
  assert.equal(base.Statement[0].Resource, "arn:aws:iam::123456789012:user/*");
  const graceful = JSON.parse(
    rekey(["policy", "--strategy", "graceful", "--no-user-id-check", "--no-last-use-check"]).stdout,
  );
  assert.deepEqual(graceful.Statement[0].Action, [
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:DeleteAccessKey",
    "iam:UpdateAccessKey",
  ]);
  const onboarding = JSON.parse(rekey(["policy", "--adopt", "--discover"]).stdout);
  assert.ok(onboarding.Statement[0].Action.includes("iam:UpdateAccessKey"));
  assert.deepEqual(onboarding.Statement[1].Action, ["iam:ListUsers"]);
  const bad = rekey(["policy", "--account", "12"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /12-digit/);
});

test("demo: two rotations end with one Active key, the vault's", async () => {
  const r = await rekeyAsync(["demo", "--json"], {});
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  assert.equal(d.rotations.length, 2);
  assert.deepEqual(d.finalKeys, [{ accessKeyId: d.vaultKeyId, status: "Active" }]);
  assert.equal(d.rotations[1].deleted[0], d.rotations[0].created.accessKeyId);
});

test("REKEY_TEST_CRASH_AT without the test switch is ignored: a production rotate is never killed by it", async () => {
  const { env } = await setup("cli-no-crash-hook");
  const { chmodSync, copyFileSync, mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const loose = join(mkdtempSync(join(tmpdir(), "rekey-hooks-")), "switch");
  copyFileSync(testHooksFile(), loose);
  chmodSync(loose, 0o644); // the right words, but readable by others: not a test switch
  for (const extra of [{}, { REKEY_TEST_HOOKS: "1" }, { REKEY_TEST_HOOKS: loose }, { NODE_ENV: "test" }]) {
    const r = await rekeyAsync(["rotate", "cli-no-crash-hook", ...endpoint()], {
      env: { ...env, REKEY_TEST_CRASH_AT: "create", ...extra },
    });
    assert.equal(r.signal, null, `not killed (${JSON.stringify(extra)}): ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal(sandbox.admin.listKeys("cli-no-crash-hook").length, 1, "rotated cleanly, no orphan key");
});
