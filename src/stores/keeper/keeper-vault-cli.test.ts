/**
 * rekey's own commands on a Keeper vault (REKEY_VAULT=keeper:KSM_CONFIG), and `rekey keeper-script`: the real
 * bundled CLI in a child process, the fake Keeper over HTTPS, the sandbox for AWS.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Sandbox, startSandbox } from "../../sandbox/index.js";
import { rekeyAsync } from "../../testing/cli.js";
import {
  FakeKeeper,
  gatewayLineFor,
  type ServedFakeKeeper,
  serveFakeKeeperHttps,
} from "../../testing/fake-keeper/index.js";
import { rotateWithAdmin, seedSandboxRotation, writeKsmConfig } from "../../testing/keeper-script.js";
import { getFieldValue, type KeeperRecord } from "../../vault/record.js";
import { keeperStateId } from "./local-state.js";

let sandbox: Sandbox;
let fake: FakeKeeper;
let served: ServedFakeKeeper;
let home: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  sandbox = await startSandbox();
  fake = new FakeKeeper();
  served = await serveFakeKeeperHttps(fake);
  home = mkdtempSync(join(tmpdir(), "rekey-keeper-cli-"));
  const config = writeKsmConfig(fake, home);
  env = {
    REKEY_HOME: join(home, "rekey"),
    REKEY_VAULT: `keeper:${config}`,
    NODE_EXTRA_CA_CERTS: served.caFile,
    AWS_EC2_METADATA_DISABLED: "true",
  };
});
after(async () => {
  await served.close();
  await sandbox.close();
  rmSync(home, { recursive: true, force: true });
});

function seeded() {
  const { userName, old, seeded: s } = seedSandboxRotation(fake, sandbox, "kv", { rootAdmin: true });
  return { userName, old, s };
}

const keyOf = (uid: string) =>
  getFieldValue(fake.recordData(uid) as unknown as KeeperRecord, "aws_access_key_id");

test("rekey rotate and rekey repair on a Keeper vault: by title, credentials named by a field, saved with a revision check", async () => {
  const { userName, old, s } = seeded();
  // rekey's own setting on the record: the admin record by UID (a title works too, at the cost of a listing).
  fake.editRecord(s.userUid, (d) => {
    (d.custom as unknown[]).push({ type: "text", label: "rotation_credentials", value: [s.adminUid] });
  });
  const title = `${userName} (AWS IAM user)`;
  const dry = await rekeyAsync(["rotate", title, "--dry-run", "--endpoint-url", sandbox.endpoint, "--json"], {
    env,
  });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(JSON.parse(dry.stdout).deleted, [old.accessKeyId]);
  assert.equal(keyOf(s.userUid), old.accessKeyId, "a dry run changes nothing");

  // The seeded record carries the seed's rotationScripts entry, whose file is not attached here.
  const r = await rekeyAsync(
    ["rotate", title, "--no-scripts", "--endpoint-url", sandbox.endpoint, "--json"],
    {
      env,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.recordUid, s.userUid);
  assert.equal(out.credentialSource.recordUid, s.adminUid);
  assert.deepEqual(out.deleted, [old.accessKeyId]);
  assert.equal(out.revision, fake.records.get(s.userUid)?.revision);
  assert.equal(keyOf(s.userUid), out.created.accessKeyId);
  assert.equal(fake.pending.size, 0);
  assert.ok(!r.stdout.includes(sandbox.root.secretAccessKey) && !r.stderr.includes(old.secretAccessKey));

  const repair = await rekeyAsync(["repair", "--endpoint-url", sandbox.endpoint], { env });
  assert.equal(repair.code, 0, repair.stderr);
  assert.match(repair.stdout, /nothing to repair/);
});

test("rekey gateway --once, history and status on a Keeper vault: a scheduled record rotates once, history kept locally", async () => {
  const { userName, old, s } = seeded();
  const title = `${userName} (AWS IAM user)`;
  // Rotate (not the seed's scripts-only mode), every 12 hours, with the attached admin record.
  rotateWithAdmin(fake, s, "every 12h");
  const args = ["gateway", "--once", "--endpoint-url", sandbox.endpoint, "--jitter", "0", "--json"];
  const g = await rekeyAsync(args, { env });
  assert.equal(g.code, 0, g.stderr);
  const attempts = JSON.parse(g.stdout) as Array<Record<string, unknown>>;
  const mine = attempts.filter((a) => a.recordUid === s.userUid);
  assert.equal(mine.length, 1, g.stdout);
  assert.equal(mine[0]?.outcome, "succeeded", g.stdout);
  const newKey = keyOf(s.userUid);
  assert.notEqual(newKey, old.accessKeyId);
  assert.equal((mine[0]?.keyIds as { created?: string } | undefined)?.created, newKey);

  const again = await rekeyAsync(args, { env });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    (JSON.parse(again.stdout) as Array<{ recordUid: string }>).filter((a) => a.recordUid === s.userUid),
    [],
    "not due again",
  );
  assert.equal(keyOf(s.userUid), newKey);

  const h = await rekeyAsync(["history", title, "--json"], { env });
  assert.equal(h.code, 0, h.stderr);
  const history = JSON.parse(h.stdout) as Array<{ outcome: string; keyIds: { created: string } }>;
  assert.deepEqual(
    history.map((e) => [e.outcome, e.keyIds.created]),
    [["succeeded", newKey]],
  );
  const ksm = JSON.parse(readFileSync(env.REKEY_VAULT!.slice("keeper:".length), "utf8")) as {
    clientId: string;
  };
  const stateDir = join(env.REKEY_HOME!, "keeper", keeperStateId(ksm));
  assert.ok(readdirSync(join(stateDir, "history")).length >= 1, "history kept in the local state directory");

  const st = await rekeyAsync(["status", "--json"], { env });
  assert.equal(st.code, 0, st.stderr);
  const row = (JSON.parse(st.stdout) as Array<Record<string, unknown>>).find((r) => r.uid === s.userUid);
  assert.equal(row?.keyId, newKey);
  assert.equal(row?.scheduleSource, "record");
  assert.equal((row?.lastOutcome as { outcome: string } | null)?.outcome, "succeeded");
  for (const out of [g, h, st]) {
    assert.ok(
      !out.stdout.includes(old.secretAccessKey) && !out.stdout.includes(sandbox.root.secretAccessKey),
    );
  }
});

test("record schedule and record script refuse a Keeper vault, naming the field to set in Keeper", async () => {
  const schedule = await rekeyAsync(["record", "schedule", "anything", "every 1d"], { env });
  assert.equal(schedule.code, 2);
  assert.match(schedule.stderr, /rekey record schedule works only on rekey's local vault/);
  assert.match(schedule.stderr, /"rotationSchedule"/);
  const script = await rekeyAsync(["record", "script", "list", "anything"], { env });
  assert.equal(script.code, 2);
  assert.match(script.stderr, /"rotationScripts"/);
});

test("commands that need the local vault refuse a Keeper vault clearly", async () => {
  const r = await rekeyAsync(["record", "list"], { env });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /REKEY_VAULT names a Keeper vault, and this command works only on rekey's local vault/,
  );
  assert.match(r.stderr, /rekey rotate/);
});

test("rekey keeper-script: the same as the bundle, from the installed CLI", async () => {
  const { old, s } = seeded();
  const { REKEY_VAULT: _, ...plain } = env;
  const r = await rekeyAsync(["keeper-script", "--ksm-config", env.REKEY_VAULT!.slice("keeper:".length)], {
    env: { ...plain, AWS_ENDPOINT_URL: sandbox.endpoint },
    input: `${gatewayLineFor(fake, s)}\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Deleted Access Keys: ${old.accessKeyId}`));
  assert.notEqual(keyOf(s.userUid), old.accessKeyId);

  const bad = await rekeyAsync(["keeper-script"], { env: plain, input: "not base64!\n" });
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /^rekey: the Gateway input on stdin is not base64/);
});
