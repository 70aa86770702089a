/**
 * The single-file Gateway script (dist/keeper/rekey-aws-access-key.cjs), run as the Keeper Gateway runs a PAM
 * script: copied alone into a directory without node_modules, started with plain `node`, the base64 line on
 * stdin. Keeper is the fake server over real HTTPS (test CA via NODE_EXTRA_CA_CERTS, the real KSM SDK inside
 * the bundle); AWS is the sandbox behind a counting proxy (AWS_ENDPOINT_URL). Nothing is inherited from the
 * test runner's environment.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseCsv } from "csv-parse/sync";
import { stringify as stringifyCsv } from "csv-stringify/sync";
import { parseCommanderCsv } from "../csv/commander-csv.js";
import { encodeGatewayParams } from "../pam-protocol/gateway-params.js";
import { policyFor } from "../providers/aws-iam/policy.js";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { AWS_USER_TEMPLATE_FIELDS, awsUserTemplateCsv } from "../templates/aws-user.js";
import { crashEnv } from "../testing/checkpoint.js";
import { BIN } from "../testing/cli.js";
import {
  FakeKeeper,
  gatewayLineFor,
  type SeedAwsRotationOptions,
  type SeededAwsRotation,
  type ServedFakeKeeper,
  serveFakeKeeperHttps,
} from "../testing/fake-keeper/index.js";
import {
  bundleInTempDir,
  type CountingProxy,
  countingProxy,
  runScript,
  type ScriptRun,
  seedSandboxRotation,
  writeKsmConfig,
} from "../testing/keeper-script.js";
import { adminWithPolicy, assumableRole, callerArn, uniqueName } from "../testing/rotation.js";
import { findField, getFieldValue, type KeeperRecord, setFieldValue } from "../vault/record.js";

const NEW_PASSWORD = "N3w-Gateway-Password!";

let sandbox: Sandbox;
let proxy: CountingProxy;
let fake: FakeKeeper;
let served: ServedFakeKeeper;
let bundle: ReturnType<typeof bundleInTempDir>;
let home: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  sandbox = await startSandbox();
  proxy = await countingProxy(sandbox.endpoint);
  fake = new FakeKeeper();
  served = await serveFakeKeeperHttps(fake);
  bundle = bundleInTempDir();
  home = mkdtempSync(join(tmpdir(), "rekey-gateway-home-"));
  env = {
    HOME: home,
    REKEY_HOME: join(home, "rekey"),
    KSM_CONFIG_FILE: writeKsmConfig(fake, home),
    NODE_EXTRA_CA_CERTS: served.caFile,
    AWS_ENDPOINT_URL: proxy.url,
    AWS_EC2_METADATA_DISABLED: "true",
  };
});

after(async () => {
  await served?.close();
  await proxy?.close();
  await sandbox?.close();
  bundle?.cleanup();
  if (home) rmSync(home, { recursive: true, force: true });
});

interface Setup {
  userName: string;
  keys: Array<{ accessKeyId: string; secretAccessKey: string }>;
  seeded: SeededAwsRotation;
  line: string;
  secrets: string[];
}

/** An IAM user with `keys` keys (the first is the record's) and the seed's Keeper setup for it. */
function setup(keys: number, seed: Omit<SeedAwsRotationOptions, "userName" | "currentKey"> = {}): Setup {
  const { userName, keys: created, seeded } = seedSandboxRotation(fake, sandbox, "gw", { keys, ...seed });
  const line = `${gatewayLineFor(fake, seeded, { newPassword: NEW_PASSWORD })}\n`;
  const secrets = [
    NEW_PASSWORD,
    ...created.map((k) => k.secretAccessKey),
    ...(seed.attachedAdmin ? [seed.attachedAdmin.secretAccessKey] : []),
    ...(seed.configAdmin ? [seed.configAdmin.secretAccessKey] : []),
  ];
  return { userName, keys: created, seeded, line, secrets };
}

const record = (uid: string) => fake.recordData(uid) as unknown as KeeperRecord;

function assertNoSecrets(run: ScriptRun, secrets: string[]): void {
  for (const s of secrets) {
    assert.ok(!run.stdout.includes(s) && !run.stderr.includes(s), "no secret in the script's output");
  }
}

/** Exit 0; the seed's four fields hold a working new key; only `kept` of the old keys remain. */
async function assertRotated(
  run: ScriptRun,
  s: Setup,
  expect: { deleted: string[]; deactivated?: string[] },
): Promise<string> {
  assert.equal(run.code, 0, `exit 0 (stderr: ${run.stderr})`);
  const r = record(s.seeded.userUid);
  const newId = getFieldValue(r, "aws_access_key_id") ?? "";
  const secret = getFieldValue(r, "aws_secret_access_key") ?? "";
  assert.ok(!s.keys.some((k) => k.accessKeyId === newId), "the record holds a new key");
  assert.equal(findField(r, "aws_secret_access_key")?.field.type, "secret", "the secret is a hidden field");
  assert.match(getFieldValue(r, "CreateDate") ?? "", /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(
    (getFieldValue(r, "Access_Key_ID_Removed_during_previous_rotation") ?? "")
      .split(", ")
      .filter(Boolean)
      .sort(),
    [...expect.deleted].sort(),
  );
  assert.equal(
    getFieldValue(r, "password"),
    NEW_PASSWORD,
    "the password field takes the Gateway's newPassword",
  );
  assert.match(
    await callerArn(sandbox, newId, secret),
    new RegExp(`:user/${s.userName}$`),
    "the saved secret works",
  );
  const keys = sandbox.admin.listKeys(s.userName);
  assert.deepEqual(
    keys.map((k) => `${k.accessKeyId} ${k.status}`).sort(),
    [`${newId} Active`, ...(expect.deactivated ?? []).map((id) => `${id} Inactive`)].sort(),
  );
  assert.equal(fake.pending.has(s.seeded.userUid), false, "the Keeper rotation transaction is finalized");
  // What the Gateway stores as the script's output: key ids, the record and its revision.
  assert.match(run.stdout, new RegExp(`New Access Key ID: ${newId}`));
  // Keys created in one second have no order: compare the deleted ids as a set.
  const deletedLine = /^Deleted Access Keys: (.*)$/m.exec(run.stdout)?.[1] ?? "";
  assert.deepEqual(deletedLine === "none" ? [] : deletedLine.split(", ").sort(), [...expect.deleted].sort());
  assert.match(
    run.stdout,
    new RegExp(
      `Keeper record: ${s.seeded.userUid} .*revision ${fake.records.get(s.seeded.userUid)?.revision}`,
    ),
  );
  assertNoSecrets(run, [...s.secrets, secret]);
  assert.deepEqual(readdirSync(join(env.REKEY_HOME!, "keeper")).length, 1, "one local state directory");
  return newId;
}

const run = (s: Pick<Setup, "line">, extra: NodeJS.ProcessEnv = {}, args: string[] = []) =>
  runScript(bundle.script, s.line, { ...env, ...extra }, { args });

describe("credential sources, in the seed's order", () => {
  test("an attached record with aws_access_key_id/aws_secret_access_key (create-then-delete: the seed's default)", async () => {
    const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
    const s = setup(1, {
      attachedAdmin: { kind: "aws", accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
      // A key on the configuration too: the attached record still comes first.
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(admin.secretAccessKey, sandbox.root.secretAccessKey);
    const r = await run(s);
    await assertRotated(r, s, { deleted: [s.keys[0]!.accessKeyId] });
    assert.match(
      r.stdout,
      new RegExp(
        `Admin credentials: attached record .*${s.seeded.adminUid}.*access key ${admin.accessKeyId}`,
      ),
    );
  });

  test("an attached record with role_arn: sts:AssumeRole signed with the record's own key", async () => {
    const { assumer, role } = assumableRole(sandbox);
    const s = setup(1, {
      attachedAdmin: {
        kind: "aws",
        roleArn: role.arn,
        accessKeyId: assumer.accessKeyId,
        secretAccessKey: assumer.secretAccessKey,
      },
    });
    s.secrets.push(assumer.secretAccessKey);
    const r = await run(s);
    await assertRotated(r, s, { deleted: [s.keys[0]!.accessKeyId] });
    assert.match(r.stdout, new RegExp(`role ${role.arn} assumed with access key ${assumer.accessKeyId}`));
  });

  test("an attached record with accessKeyId/accessSecretKey (the seed's third shape)", async () => {
    const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
    const s = setup(1, {
      attachedAdmin: { kind: "pam", accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    });
    s.secrets.push(admin.secretAccessKey);
    const r = await run(s);
    await assertRotated(r, s, { deleted: [s.keys[0]!.accessKeyId] });
    assert.match(r.stdout, new RegExp(`attached record .*access key ${admin.accessKeyId}`));
  });

  test("nothing attached: the PAM configuration's key, read through KSM", async () => {
    const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
    const s = setup(1, {
      configAdmin: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    });
    s.secrets.push(admin.secretAccessKey);
    const r = await run(s);
    await assertRotated(r, s, { deleted: [s.keys[0]!.accessKeyId] });
    assert.match(
      r.stdout,
      new RegExp(
        `Admin credentials: PAM configuration .*${s.seeded.configUid}.*access key ${admin.accessKeyId}`,
      ),
    );
  });

  test("no key in Keeper: the machine's own credentials (the AWS default chain; here its environment)", async () => {
    const admin = adminWithPolicy(sandbox, uniqueName("machine"), policyFor({}));
    const s = setup(1);
    s.secrets.push(admin.secretAccessKey);
    const r = await run(s, {
      AWS_ACCESS_KEY_ID: admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
    });
    await assertRotated(r, s, { deleted: [s.keys[0]!.accessKeyId] });
    // The PAM User record's own key (in the Gateway's records too) was never tried as an admin key.
    assert.match(
      r.stdout,
      new RegExp(
        `Admin credentials: the AWS default credential chain: environment variables \\(access key ${admin.accessKeyId}\\)`,
      ),
    );
  });

  test("no source at all: a clear error listing each one, exit non-zero, nothing changed", async () => {
    const s = setup(1);
    const revision = fake.records.get(s.seeded.userUid)?.revision;
    const r = await run(s);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /no usable AWS admin credentials.*\n.*attached records: none attached/);
    assert.match(r.stderr, /PAM configuration .* holds no access key/);
    assert.match(r.stderr, /default credential chain/);
    assert.equal(fake.records.get(s.seeded.userUid)?.revision, revision);
    assert.deepEqual(
      sandbox.admin.listKeys(s.userName).map((k) => k.accessKeyId),
      [s.keys[0]!.accessKeyId],
    );
    assertNoSecrets(r, s.secrets);
  });
});

describe("the seed's two modes, and rekey's graceful", () => {
  test("delete_all_keys_before_rotating=True with two keys: both deleted first, then the new key", async () => {
    const s = setup(2, {
      deleteAllKeysBeforeRotating: true,
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    const r = await run(s);
    await assertRotated(r, s, { deleted: s.keys.map((k) => k.accessKeyId) });
    assert.match(r.stdout, /strategy delete-then-create/);
  });

  test("delete_all_keys_before_rotating=False with two active keys: refused before any change (as AWS would)", async () => {
    const s = setup(2, {
      deleteAllKeysBeforeRotating: false,
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    const r = await run(s);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /2 active keys|two active keys|already has 2/i);
    assert.equal(sandbox.admin.listKeys(s.userName).length, 2);
  });

  test("rotation_strategy=graceful: the new key is verified, the old one deactivated, not deleted", async () => {
    const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({ strategy: "graceful" }));
    const s = setup(1, {
      userFields: { rotation_strategy: "graceful" },
      attachedAdmin: { kind: "aws", accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    });
    s.secrets.push(admin.secretAccessKey);
    const r = await run(s);
    await assertRotated(r, s, { deleted: [], deactivated: [s.keys[0]!.accessKeyId] });
    assert.match(r.stdout, /strategy graceful/);
    assert.match(r.stdout, /Verified: arn:aws:iam::\d+:user\//);
    assert.match(r.stdout, new RegExp(`Deactivated Access Keys: ${s.keys[0]!.accessKeyId}`));
  });
});

describe("Keeper failures", () => {
  for (const [name, failure] of [
    [
      "403 access_denied",
      { statusCode: 403, body: { error: "access_denied", message: "record is read-only" } },
    ],
    ["500 (and the record shows it did not land)", { statusCode: 500 }],
  ] as const) {
    test(`a refused save (${name}): the new key is deleted, the old key kept, the record unchanged, exit non-zero`, async () => {
      const s = setup(1, {
        configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
      });
      s.secrets.push(sandbox.root.secretAccessKey);
      const before = fake.recordData(s.seeded.userUid);
      fake.failNext("update_secret", failure);
      const r = await run(s);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /rekey: saving the new key (AKIA\w+) to record .* failed: .*rekey deleted the new key again/,
      );
      assert.deepEqual(
        sandbox.admin.listKeys(s.userName).map((k) => `${k.accessKeyId} ${k.status}`),
        [`${s.keys[0]!.accessKeyId} Active`],
        "only the old key remains, still active",
      );
      assert.deepEqual(fake.recordData(s.seeded.userUid), before, "the record is unchanged");
      assert.equal(fake.pending.has(s.seeded.userUid), false);
      assertNoSecrets(r, s.secrets);
      // Nothing is left pending: the next run rotates normally.
      const again = await run(s);
      await assertRotated(again, s, { deleted: [s.keys[0]!.accessKeyId] });
    });
  }

  test("--transactional-save, a save whose outcome cannot be known: every key kept, exit non-zero; the next run finalizes and finishes", async () => {
    const s = setup(1, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    // The update lands but its answer is lost, and the read-back that would tell fails too.
    fake.loseResponseOf("update_secret");
    fake.beforeRequest = (endpoint) => {
      if (endpoint === "update_secret") {
        fake.failNext("get_secret", { statusCode: 503, body: "Service Unavailable" });
        fake.beforeRequest = undefined;
      }
    };
    const first = await run(s, {}, ["--transactional-save"]);
    assert.notEqual(first.code, 0);
    assert.match(first.stderr, /not known whether the save landed.*every key of the user is kept/s);
    assert.equal(sandbox.admin.listKeys(s.userName).length, 2, "old and new key both kept");
    assert.equal(fake.pending.get(s.seeded.userUid)?.type, "rotation", "the transaction is still open");
    assertNoSecrets(first, s.secrets);

    const second = await run(s);
    const newId = await assertRotated(second, s, { deleted: [s.keys[0]!.accessKeyId] });
    assert.match(second.stdout, /Resumed an interrupted rotation: finished/);
    assert.ok(
      sandbox.admin.listKeys(s.userName).some((k) => k.accessKeyId === newId),
      "the key created by the first run is the one kept",
    );
  });

  test("--transactional-save, killed between the Keeper save and its finalize: the next run finalizes, then deletes the old key", async () => {
    const s = setup(1, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    const crashed = await run(s, crashEnv("transaction"), ["--transactional-save"]);
    assert.equal(crashed.signal, "SIGKILL");
    assert.equal(fake.pending.get(s.seeded.userUid)?.type, "rotation");
    assert.equal(sandbox.admin.listKeys(s.userName).length, 2);
    // The dead script's lock does not block the next run (same host, dead pid).
    const rerun = await run(s);
    await assertRotated(rerun, s, { deleted: [s.keys[0]!.accessKeyId] });
    assertNoSecrets(crashed, s.secrets);
  });
});

describe("the seed's plain save (the default)", () => {
  test("a rotation saves with one update_secret and no KSM transaction", async () => {
    const s = setup(1, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    const finalized = fake.calls("finalize_secret_update").length;
    const r = await run(s);
    await assertRotated(r, s, { deleted: [s.keys[0]!.accessKeyId] });
    assert.equal(fake.calls("finalize_secret_update").length, finalized, "no completeTransaction");
  });

  test("killed after the plain save (before deleting the old key): the next run deletes it", async () => {
    const s = setup(1, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    const crashed = await run(s, crashEnv("save"));
    assert.equal(crashed.signal, "SIGKILL");
    assert.equal(fake.pending.has(s.seeded.userUid), false, "no transaction left open");
    assert.equal(sandbox.admin.listKeys(s.userName).length, 2);
    const saved = getFieldValue(record(s.seeded.userUid), "aws_access_key_id");
    const rerun = await run(s);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /Resumed an interrupted rotation: finished/);
    // Nothing left to save: the rerun only deletes the old key (its output has no new revision).
    assert.equal(getFieldValue(record(s.seeded.userUid), "aws_access_key_id"), saved);
    assert.deepEqual(
      sandbox.admin.listKeys(s.userName).map((k) => k.accessKeyId),
      [saved],
      "only the saved key remains",
    );
    assert.match(
      await callerArn(
        sandbox,
        saved ?? "",
        getFieldValue(record(s.seeded.userUid), "aws_secret_access_key") ?? "",
      ),
      new RegExp(`:user/${s.userName}$`),
    );
    assertNoSecrets(crashed, s.secrets);
    assertNoSecrets(rerun, s.secrets);
  });
});

describe("--check: proves what a rotation needs, changes nothing", () => {
  /** Keeper writes and AWS keys before/after, to prove nothing changed. */
  function snapshot(s: Setup) {
    return {
      saves: fake.calls("update_secret").length + fake.calls("finalize_secret_update").length,
      record: JSON.stringify(fake.recordData(s.seeded.userUid)),
      keys: JSON.stringify(sandbox.admin.listKeys(s.userName)),
    };
  }

  test("all good (stdin line): one ok line per check, exit 0, no Keeper save, keys unchanged", async () => {
    const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
    const s = setup(1, {
      attachedAdmin: { kind: "aws", accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    });
    s.secrets.push(admin.secretAccessKey);
    const before = snapshot(s);
    const r = await run(s, {}, ["--check"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {3}keeper: config: /m);
    assert.match(r.stdout, /^ok {3}keeper: answers: /m);
    assert.match(r.stdout, /^ok {3}keeper: user record readable: /m);
    assert.match(r.stdout, /^ok {3}keeper: user record editable: /m);
    assert.match(
      r.stdout,
      new RegExp(`^ok {3}aws: admin credentials: .*${admin.accessKeyId}.*GetCallerIdentity`, "m"),
    );
    assert.match(r.stdout, /^ok {3}aws: iam:ListAccessKeys: IAM user "[^"]+" has 1 key/m);
    assert.match(r.stdout, /^ok {3}aws: key limit: /m);
    assert.doesNotMatch(r.stdout, /^FAIL/m);
    assert.deepEqual(snapshot(s), before, "no Keeper save, no AWS key change");
    assertNoSecrets(r, s.secrets);
  });

  test("--record UID (no stdin) and --json: credentials from the record's fields, an array", async () => {
    const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
    const s = setup(1, {
      attachedAdmin: { kind: "aws", accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
      userFields: {},
    });
    fake.editRecord(s.seeded.userUid, (d) => {
      setFieldValue(d as unknown as KeeperRecord, "rotation_credentials", s.seeded.adminUid!);
      setFieldValue(d as unknown as KeeperRecord, "pam_configuration", s.seeded.configUid);
    });
    s.secrets.push(admin.secretAccessKey);
    const before = snapshot(s);
    const r = await runScript(bundle.script, "", env, {
      args: ["--check", "--record", s.seeded.userUid, "--json"],
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = JSON.parse(r.stdout) as Array<{
      status: string;
      area: string;
      check: string;
      detail: string;
    }>;
    assert.ok(Array.isArray(lines));
    assert.ok(lines.some((l) => l.check === "admin credentials" && l.detail.includes(admin.accessKeyId)));
    assert.ok(lines.every((l) => l.status !== "FAIL"));
    assert.deepEqual(snapshot(s), before);
    assertNoSecrets(r, s.secrets);
  });

  test("two active keys, the default strategy: FAIL key limit with its fix, exit 1, nothing changed", async () => {
    const s = setup(2, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    const before = snapshot(s);
    const r = await run(s, {}, ["--check"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {3}aws: iam:ListAccessKeys: IAM user "[^"]+" has 2 key/m);
    assert.match(r.stdout, /^FAIL aws: key limit: .* — fix: /m);
    assert.deepEqual(snapshot(s), before);
    assertNoSecrets(r, s.secrets);
  });

  test("a user record the application may only read: FAIL keeper: user record editable, exit 1", async () => {
    const s = setup(1, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    fake.records.get(s.seeded.userUid)!.editable = false;
    const before = snapshot(s);
    const r = await run(s, {}, ["--check"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {3}keeper: user record readable: /m);
    assert.match(r.stdout, /^FAIL keeper: user record editable: .*read-only.* — fix: .*Can Edit/m);
    assert.deepEqual(snapshot(s), before);
    assertNoSecrets(r, s.secrets);
  });

  test("an admin without iam:ListAccessKeys: FAIL aws with the fix, exit 1", async () => {
    const weak = adminWithPolicy(sandbox, uniqueName("weak"), {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }],
    });
    const s = setup(1, {
      configAdmin: { accessKeyId: weak.accessKeyId, secretAccessKey: weak.secretAccessKey },
    });
    s.secrets.push(weak.secretAccessKey);
    const before = snapshot(s);
    const r = await run(s, {}, ["--check"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {3}aws: admin credentials: /m);
    assert.match(r.stdout, /^FAIL aws: iam:ListAccessKeys: .* — fix: /m);
    assert.deepEqual(snapshot(s), before);
    assertNoSecrets(r, s.secrets);
  });

  test("a bad admin key: FAIL aws: admin credentials, exit 1; a missing KSM config: FAIL keeper: config", async () => {
    const s = setup(1, {
      configAdmin: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "not-the-secret-at-all" },
    });
    const r = await run(s, {}, ["--check"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL aws: admin credentials: .* — fix: /m);
    assert.ok(!r.stdout.includes("not-the-secret-at-all"));
    const noConfig = await run(s, { KSM_CONFIG_FILE: join(home, "nope.json") }, ["--check"]);
    assert.equal(noConfig.code, 1);
    assert.match(noConfig.stdout, /^FAIL keeper: config: .*nope\.json.* — fix: /m);
  });

  test("the installed CLI: rekey keeper-script --check (stdin, then --record --json), same checks, exit 0/1", async () => {
    const s = setup(1, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    const before = snapshot(s);
    const r = await runScript(BIN, s.line, env, { args: ["keeper-script", "--check"] });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok {3}aws: key limit: /m);
    // --record: the engine's own sources; this fake holds many configurations, so the record names its own.
    fake.editRecord(s.seeded.userUid, (d) => {
      setFieldValue(d as unknown as KeeperRecord, "pam_configuration", s.seeded.configUid);
    });
    before.record = JSON.stringify(fake.recordData(s.seeded.userUid));
    const rec = await runScript(BIN, "", env, {
      args: ["keeper-script", "--check", "--record", s.seeded.userUid, "--json"],
    });
    assert.equal(rec.code, 0, rec.stdout + rec.stderr);
    assert.ok((JSON.parse(rec.stdout) as unknown[]).length >= 6);
    const two = setup(2, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    const bad = await runScript(BIN, two.line, env, { args: ["keeper-script", "--check"] });
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^FAIL aws: key limit: /m);
    assert.deepEqual(snapshot(s), before);
    for (const x of [r, rec, bad]) assertNoSecrets(x, s.secrets);
  });

  test("a record Keeper does not share: FAIL keeper: user record readable, no AWS call", async () => {
    const s = setup(1);
    fake.records.delete(s.seeded.userUid);
    const aws = proxy.count();
    const r = await run(s, {}, ["--check"]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^FAIL keeper: user record readable: .* — fix: share/m);
    assert.equal(proxy.count(), aws);
  });
});

describe("the template survives Keeper Commander's import", () => {
  test("every field is still there when empty pairs are dropped, and the imported record rotates", async () => {
    const csv = awsUserTemplateCsv({ login: "x" });
    // Commander's import: a name/value pair whose value is empty is dropped.
    const rows = parseCsv(csv) as string[][];
    const commanderRows = rows.map((row) => {
      const out = row.slice(0, 7);
      for (let i = 7; i + 1 < row.length; i += 2) if (row[i + 1] !== "") out.push(row[i]!, row[i + 1]!);
      return out;
    });
    const [imported] = parseCommanderCsv(stringifyCsv(commanderRows));
    const labels = imported!.record.custom.map((f) => f.label);
    for (const f of AWS_USER_TEMPLATE_FIELDS) assert.ok(labels.includes(f.label), `${f.label} survives`);

    // The imported record, converted to a PAM User for a sandbox user, rotates through the bundle.
    const s = setup(0, {
      configAdmin: { accessKeyId: sandbox.root.accessKeyId, secretAccessKey: sandbox.root.secretAccessKey },
    });
    s.secrets.push(sandbox.root.secretAccessKey);
    fake.editRecord(s.seeded.userUid, (d) => {
      const r = d as unknown as KeeperRecord;
      for (const f of imported!.record.custom)
        setFieldValue(r, f.label!, String(f.value[0] ?? ""), { type: f.type });
    });
    assert.equal(getFieldValue(record(s.seeded.userUid), "aws_access_key_id"), "-");
    const r = await run({ line: `${gatewayLineFor(fake, s.seeded, { newPassword: NEW_PASSWORD })}\n` });
    assert.equal(r.code, 0, r.stderr);
    const after = record(s.seeded.userUid);
    const newId = getFieldValue(after, "aws_access_key_id") ?? "";
    assert.match(newId, /^AKIA/);
    assert.deepEqual(
      sandbox.admin.listKeys(s.userName).map((k) => k.accessKeyId),
      [newId],
    );
    assert.match(getFieldValue(after, "CreateDate") ?? "", /^\d{4}-/);
    assertNoSecrets(r, s.secrets);
  });
});

describe("bad input on stdin: one line naming the problem, non-zero exit, no AWS call", () => {
  const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64");
  const uid = "AAAAAAAAAAAAAAAAAAAAAA";
  const rec = (u: string) => [{ uid: u, title: "alice", login: "alice" }];
  const valid = (o: Record<string, unknown>) =>
    b64({ providerRecordUid: "", userRecordUid: uid, user: "alice", records: b64(rec(uid)), ...o });
  const cases: Array<[string, string, RegExp, number]> = [
    ["empty stdin", "", /is empty/, 2],
    ["an empty line", "\n", /is empty/, 2],
    ["not base64", "%%% this is not base64 %%%\n", /is not base64/, 2],
    ["base64 of something else than JSON", `${b64("hello, Gateway")}\n`, /not of JSON/, 2],
    ["JSON, not an object", `${b64([1, 2])}\n`, /not an object/, 2],
    ["no records", `${b64({ userRecordUid: uid, user: "alice" })}\n`, /has no "records"/, 2],
    ["records not base64", `${valid({ records: "%%%" })}\n`, /"records" that are not base64/, 2],
    ["records not a JSON array", `${valid({ records: b64({ a: 1 }) })}\n`, /not a JSON array/, 2],
    [
      "a record without uid",
      `${valid({ records: b64([{ title: "x" }]) })}\n`,
      /records\[0\] without a "uid"/,
      2,
    ],
    ["no user", `${valid({ user: "" })}\n`, /has no "user"/, 2],
    ["no userRecordUid", `${valid({ userRecordUid: "" })}\n`, /has no "userRecordUid"/, 2],
    [
      "a userRecordUid not among the records",
      `${valid({ userRecordUid: "BBBBBBBBBBBBBBBBBBBBBB" })}\n`,
      /not among its 1 records/,
      2,
    ],
  ];
  for (const [name, input, message, code] of cases) {
    test(name, async () => {
      const aws = proxy.count();
      const keeper = fake.calls().length;
      const r = await runScript(bundle.script, input, env);
      assert.equal(r.code, code, r.stderr);
      assert.equal(r.stdout, "");
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, /^rekey: the Gateway input on stdin /);
      assert.match(lines[0]!, message);
      assert.equal(proxy.count(), aws, "no AWS call");
      assert.equal(fake.calls().length, keeper, "no Keeper call either");
    });
  }

  test("a userRecordUid Keeper does not know: exit non-zero after asking Keeper, still no AWS call", async () => {
    const aws = proxy.count();
    const line = encodeGatewayParams({
      userRecordUid: uid,
      user: "alice",
      records: [{ uid, title: "alice", login: "alice" }],
    });
    const r = await runScript(bundle.script, `${line}\n`, env);
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^rekey: the PAM User record ${uid} \\(userRecordUid\\) is not shared with the KSM application`,
      ),
    );
    assert.equal(proxy.count(), aws, "no AWS call");
  });

  test("a missing KSM config: named in the error, no AWS call", async () => {
    const aws = proxy.count();
    const s = setup(1);
    const r = await runScript(bundle.script, s.line, { ...env, KSM_CONFIG_FILE: join(home, "missing.json") });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /the KSM config .*missing\.json does not exist/);
    assert.equal(proxy.count(), aws);
    assertNoSecrets(r, s.secrets);
  });
});
