/**
 * The path a team takes, end to end (the real CLI, the sandbox, a real vault): import the seed's template
 * for 50 IAM users from CSV, import the same CSV again, let `rekey gateway --once` rotate from a
 * never-rotated state, then compare `rekey status`, `rekey history` and IAM.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { addKeyRecords, freshHome, rekeyAsync } from "../testing/cli.js";

let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({ env: {} });
});
after(async () => {
  await sandbox.close();
});

const N = 50;

/** One row per user, as the seed's template writes it (NOOP=True included), with the key it has today. */
function fleetCsv(users: Array<{ name: string; keyId: string; secret: string }>): string {
  return `${users
    .map(
      (u) =>
        `,${u.name} (AWS),${u.name},dummy-password,,,,$type,pamUser,aws_access_key_id,${u.keyId},$secret:aws_secret_access_key,${u.secret},CreateDate,,Access_Key_ID_Removed_during_previous_rotation,,delete_all_keys_before_rotating,False,NOOP,True,Private Key Type,rsa-ssh,rotation_credentials,admin`,
    )
    .join("\n")}\n`;
}

test("a 50-user CSV imported twice, then gateway --once: every user rotated once, no duplicate, no live key deleted, status = history = IAM", async () => {
  const { home, env: base } = freshHome();
  const env = { ...base, AWS_EC2_METADATA_DISABLED: "true" };
  const cli = async (args: string[], input = "") => rekeyAsync(args, { env, input });
  const ok = async (args: string[], input = "") => {
    const r = await cli(args, input);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r;
  };

  const users = Array.from({ length: N }, (_, i) => {
    const name = `fleet-${String(i).padStart(2, "0")}`;
    sandbox.admin.createUser(name);
    const k = sandbox.admin.createAccessKey(name);
    return { name, keyId: k.accessKeyId, secret: k.secretAccessKey };
  });
  await addKeyRecords(env, "admin", sandbox.root);
  await ok([
    "record",
    "add",
    "--type",
    "pamAwsConfiguration",
    "--title",
    "prod",
    "--set",
    "awsId=123456789012",
  ]);
  await ok(["record", "schedule", "prod", "every 90d"]);

  const csv = join(home, "fleet.csv");
  writeFileSync(csv, fleetCsv(users), { mode: 0o600 });
  const first = await ok(["import", "csv", csv]);
  assert.match(first.stdout, new RegExp(`${N} record\\(s\\) imported, 0 updated`));

  // The same file again: refused as a whole (exit 4), naming the records that already manage the users.
  const again = await cli(["import", "csv", csv]);
  assert.equal(again.code, 4, again.stderr);
  assert.match(again.stderr, /IAM user "fleet-00" is already managed by record "fleet-00 \(AWS\)"/);
  assert.match(again.stderr, /--update/);
  const count = async () =>
    (JSON.parse((await ok(["record", "list", "--type", "pamUser", "--json"])).stdout) as unknown[]).length;
  assert.equal(await count(), N, "nothing imported the second time");
  // With --update: the same records, updated in place.
  const updated = await ok(["import", "csv", csv, "--update"]);
  assert.match(updated.stdout, new RegExp(`0 record\\(s\\) imported, ${N} updated`));
  assert.equal(await count(), N, "still one record per IAM user");

  // Never rotated (no CreateDate): `status` says due now, and `gateway --once` (default jitter) rotates them.
  const before = JSON.parse((await ok(["status", "--json"])).stdout) as Array<{ nextRotation: string }>;
  assert.equal(before.length, N);
  assert.ok(
    before.every((s) => Date.parse(s.nextRotation) <= Date.now()),
    "all due now",
  );
  const run = await ok(["gateway", "--once", "--json", "--endpoint-url", sandbox.endpoint]);
  const attempts = JSON.parse(run.stdout) as Array<{
    recordTitle: string;
    outcome: string;
    keyIds: { created: string; deleted: string[] };
  }>;
  assert.equal(attempts.length, N, "every user rotated by this one run");
  assert.ok(
    attempts.every((a) => a.outcome === "succeeded"),
    run.stdout,
  );

  const status = JSON.parse((await ok(["status", "--json"])).stdout) as Array<{
    title: string;
    user: string;
    keyId: string;
    sameUserAs: unknown[];
    lastOutcome: { outcome: string };
  }>;
  const history = JSON.parse((await ok(["history", "--json", "--limit", "1000"])).stdout) as typeof attempts;
  assert.equal(history.length, N, "one attempt per user");
  const original = new Map(users.map((u) => [u.name, u.keyId]));
  for (const s of status) {
    const iam = sandbox.admin.listKeys(s.user).map((k) => k.accessKeyId);
    const h = history.filter((e) => e.recordTitle === s.title);
    assert.equal(h.length, 1, `${s.user}: rotated once`);
    assert.deepEqual(iam, [s.keyId], `${s.user}: IAM holds exactly the vault's key`);
    assert.equal(h[0]?.keyIds.created, s.keyId, `${s.user}: status agrees with history`);
    assert.deepEqual(h[0]?.keyIds.deleted, [original.get(s.user)], `${s.user}: only its own old key deleted`);
    assert.equal(s.lastOutcome.outcome, "succeeded");
    assert.deepEqual(s.sameUserAs, []);
  }

  // Importing the old file again with --update keeps the vault's (new) keys, and nothing is due.
  const stale = await ok(["import", "csv", csv, "--update"]);
  assert.match(stale.stderr, /kept the vault's current key/);
  const kept = JSON.parse((await ok(["status", "--json"])).stdout) as typeof status;
  assert.deepEqual(
    kept.map((s) => s.keyId),
    status.map((s) => s.keyId),
  );
  const idle = await ok(["gateway", "--once", "--endpoint-url", sandbox.endpoint]);
  assert.match(idle.stdout, /nothing was due/);

  // A second record for fleet-07, added by hand: status flags the pair, and neither is rotated.
  const victim = status.find((s) => s.user === "fleet-07")!;
  await ok([
    "record",
    "add",
    "--title",
    "fleet-07 copy",
    "--set",
    "login=fleet-07",
    "--set",
    "rotation_credentials=admin",
  ]);
  const flagged = await ok(["status"]);
  assert.match(flagged.stdout, /SAME IAM USER as "fleet-07 copy"/);
  for (const ref of ["fleet-07 copy", victim.title]) {
    const refused = await cli(["rotate", ref, "--endpoint-url", sandbox.endpoint]);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /all manage IAM user "fleet-07"/);
  }
  const gw = await cli([
    "gateway",
    "--once",
    "--rotate",
    "fleet-07 copy",
    "--endpoint-url",
    sandbox.endpoint,
  ]);
  assert.notEqual(gw.code, 0);
  assert.match(gw.stdout, /all manage IAM user/);
  assert.deepEqual(
    sandbox.admin.listKeys("fleet-07").map((k) => k.accessKeyId),
    [victim.keyId],
    "the live key is still there",
  );
});
