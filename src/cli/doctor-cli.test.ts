/**
 * `rekey doctor` as a user runs it: the bundled CLI, a real vault, the real AWS SDK against the sandbox.
 * Each test has its own vault and IAM users; nothing the doctor does may change IAM.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { addKeyRecords, freshHome, rekey, rekeyAsync } from "../testing/cli.js";
import { adminWithPolicy, uniqueName } from "../testing/rotation.js";
import { allow } from "../testing/sandbox-clients.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

interface Line {
  record: { uid: string; title: string } | null;
  status: "ok" | "warn" | "FAIL";
  area: string;
  check: string;
  detail: string;
  fix?: string;
}

/** A vault holding the admin key "admin" (or `admin`), and a pamUser record for a new IAM user with one key. */
async function setup(
  opts: { admin?: { accessKeyId: string; secretAccessKey: string }; strategy?: string } = {},
) {
  const { home, env } = freshHome();
  const full = { ...env, AWS_EC2_METADATA_DISABLED: "true" };
  const name = uniqueName("doc");
  sandbox.admin.createUser(name);
  const key = sandbox.admin.createAccessKey(name);
  await addKeyRecords(full, "admin", opts.admin ?? sandbox.root, { name, key });
  if (opts.strategy) {
    const e = rekey(["record", "edit", name, "--set", `rotation_strategy=${opts.strategy}`], { env: full });
    assert.equal(e.code, 0, e.stderr);
  }
  return { home, env: full, name, key };
}

async function doctor(env: NodeJS.ProcessEnv, extra: string[] = []) {
  const r = await rekeyAsync(["doctor", "--json", "--endpoint-url", sandbox.endpoint, ...extra], { env });
  const lines = JSON.parse(r.stdout || "[]") as Line[];
  const get = (check: string) => lines.find((l) => l.check === check);
  return { ...r, lines, get };
}

const snapshotKeys = (name: string) => JSON.stringify(sandbox.admin.listKeys(name));

test("doctor: every check passes for a graceful record (CreateAccessKey a warning); text form; IAM unchanged", async () => {
  const { env, name, key } = await setup({ strategy: "graceful" });
  const before = snapshotKeys(name);
  const r = await doctor(env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.get("opens")?.status, "ok");
  for (const check of [
    "admin credentials",
    "iam:ListAccessKeys",
    "iam:GetUser",
    "user id",
    "key limit",
    "iam:GetAccessKeyLastUsed",
    "iam:UpdateAccessKey",
    "iam:DeleteAccessKey",
  ])
    assert.equal(r.get(check)?.status, "ok", `${check}: ${JSON.stringify(r.get(check))}`);
  assert.equal(r.get("iam:CreateAccessKey")?.status, "warn");
  assert.match(r.get("iam:CreateAccessKey")!.detail, /not provable without creating a key/);
  assert.match(r.get("iam:UpdateAccessKey")!.detail, /NoSuchEntity/);
  assert.equal(snapshotKeys(name), before, "the doctor changed nothing in IAM");

  const text = await rekeyAsync(["doctor", name, "--endpoint-url", sandbox.endpoint], { env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^record "${name}" \\([\\w-]+\\)$`, "m"));
  assert.match(text.stdout, /^ {2}ok {3}aws: iam:DeleteAccessKey: allowed/m);
  assert.match(
    text.stdout,
    /^ {2}warn aws: iam:CreateAccessKey: not provable without creating a key — fix: /m,
  );
  assert.match(text.stdout, /1 record\(s\) checked: 0 failure\(s\)/);
  for (const s of [key.secretAccessKey, sandbox.root.secretAccessKey])
    assert.ok(!text.stdout.includes(s) && !r.stdout.includes(s), "no secret in the output");
});

test("doctor: an admin without iam:UpdateAccessKey fails a graceful record, with the fix", async () => {
  const limited = adminWithPolicy(
    sandbox,
    uniqueName("limited"),
    allow([
      "iam:ListAccessKeys",
      "iam:GetUser",
      "iam:CreateAccessKey",
      "iam:DeleteAccessKey",
      "iam:GetAccessKeyLastUsed",
    ]),
  );
  const { env } = await setup({ admin: limited, strategy: "graceful" });
  const r = await doctor(env);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const update = r.get("iam:UpdateAccessKey");
  assert.equal(update?.status, "FAIL", JSON.stringify(update));
  assert.match(update!.detail, /denied/);
  assert.match(update!.fix ?? "", /grant iam:UpdateAccessKey .*rotation_strategy=create-then-delete/);
  assert.equal(r.get("iam:DeleteAccessKey")?.status, "ok", "DeleteAccessKey is allowed: its probe says so");
  assert.equal(r.lines.filter((l) => l.status === "FAIL").length, 1, JSON.stringify(r.lines, null, 1));
});

test("doctor: an admin without iam:DeleteAccessKey fails (the probe authorizes before the lookup)", async () => {
  const limited = adminWithPolicy(
    sandbox,
    uniqueName("nodelete"),
    allow(["iam:ListAccessKeys", "iam:GetUser", "iam:CreateAccessKey", "iam:GetAccessKeyLastUsed"]),
  );
  const { env } = await setup({ admin: limited });
  const r = await doctor(env);
  assert.equal(r.code, 1);
  assert.equal(r.get("iam:DeleteAccessKey")?.status, "FAIL", JSON.stringify(r.lines, null, 1));
  assert.equal(r.get("iam:UpdateAccessKey"), undefined, "create-then-delete does not need it");
});

test("doctor: a user deleted and re-created fails the UserId check", async () => {
  const { env, name, key } = await setup();
  const e = rekey(["record", "edit", name, "--set", "aws_user_id=AIDAOLDUSER0000000000"], { env });
  assert.equal(e.code, 0, e.stderr);
  sandbox.admin.deleteAccessKey(name, key.accessKeyId);
  sandbox.admin.deleteUser(name);
  sandbox.admin.createUser(name);
  const r = await doctor(env);
  assert.equal(r.code, 1);
  const id = r.get("user id");
  assert.equal(id?.status, "FAIL", JSON.stringify(r.lines, null, 1));
  assert.match(id!.detail, /rotated for AIDAOLDUSER0000000000: the user was deleted and re-created/);
  assert.match(id!.fix ?? "", /--force/);
});

test("doctor: a user with 2 active keys the vault does not hold fails the key room check", async () => {
  const { env, name } = await setup();
  sandbox.admin.createAccessKey(name);
  // The vault holds one of the two: create-then-delete has no room for a third.
  const r = await doctor(env);
  assert.equal(r.code, 1, r.stdout);
  const room = r.get("key limit");
  assert.equal(room?.status, "FAIL", JSON.stringify(r.lines, null, 1));
  assert.match(room!.detail, /already has 2 access keys .*at most 2 per user/, room!.detail);
  assert.ok(room?.fix);
});

test("doctor: a script whose command is missing fails; a record that cannot be found fails", async () => {
  const { home, env, name } = await setup();
  const file = join(home, "deliver.sh");
  writeFileSync(file, "echo delivered\n");
  const add = rekey(["record", "script", "add", name, file, "--command", "no-such-interpreter-xyz"], { env });
  assert.equal(add.code, 0, add.stderr);
  const r = await doctor(env, [name, "no such record"]);
  assert.equal(r.code, 1);
  const script = r.lines.find((l) => l.area === "scripts");
  assert.equal(script?.status, "FAIL");
  assert.match(script!.detail, /no-such-interpreter-xyz.*not on PATH/);
  assert.equal(r.lines.find((l) => l.check === "record no such record")?.status, "FAIL");
});
