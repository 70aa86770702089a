/**
 * rekey's own commands on a Keeper vault (REKEY_VAULT=keeper:KSM_CONFIG), and `rekey keeper-script`: the real
 * bundled CLI in a child process, the fake Keeper over HTTPS, the sandbox for AWS.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { rekeyAsync } from "../cli/run-cli.test-helper.js";
import { uniqueName } from "../rotation/test-support.js";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";
import {
  FakeKeeper,
  gatewayLineFor,
  type ServedFakeKeeper,
  seedAwsRotation,
  serveFakeKeeperHttps,
} from "./fake-server/index.js";
import { writeKsmConfig } from "./script-test-support.js";

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
  const userName = uniqueName("kv");
  sandbox.admin.createUser(userName);
  const old = sandbox.admin.createAccessKey(userName);
  const s = seedAwsRotation(fake, {
    userName,
    awsAccountId: sandbox.accountId,
    currentKey: { id: old.accessKeyId, secret: old.secretAccessKey },
    attachedAdmin: {
      kind: "aws",
      accessKeyId: sandbox.root.accessKeyId,
      secretAccessKey: sandbox.root.secretAccessKey,
    },
  });
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

  const r = await rekeyAsync(["rotate", title, "--endpoint-url", sandbox.endpoint, "--json"], { env });
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
