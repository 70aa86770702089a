/**
 * runKeeperScript in-process (the fake Keeper through the SDK's queryFunction, the sandbox over HTTP): the
 * cases that need a hand inside the run (a concurrent edit, a crash hook, Keeper's view of a pending
 * transaction). The bundle's own end-to-end tests are script-bundle.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { RekeyError } from "../errors.js";
import { policyFor } from "../providers/aws-iam/policy.js";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import { FakeKeeper, gatewayLineFor, type SeedAwsRotationOptions } from "../testing/fake-keeper/index.js";
import { seedSandboxRotation, writeKsmConfig } from "../testing/keeper-script.js";
import { adminWithPolicy, assumableRole, callerArn, uniqueName } from "../testing/rotation.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";
import { type KeeperScriptOptions, runKeeperScript } from "./script.js";

let sandbox: Sandbox;
let home: string;

before(async () => {
  sandbox = await startSandbox();
  home = mkdtempSync(join(tmpdir(), "rekey-keeper-script-"));
});
after(async () => {
  await sandbox.close();
  rmSync(home, { recursive: true, force: true });
});

function world(seed: Omit<SeedAwsRotationOptions, "userName" | "currentKey"> = {}) {
  const fake = new FakeKeeper();
  const { userName, old, seeded } = seedSandboxRotation(fake, sandbox, "inproc", seed);
  const dir = mkdtempSync(join(home, "w-"));
  const opts: KeeperScriptOptions = {
    env: {
      KSM_CONFIG_FILE: writeKsmConfig(fake, dir),
      REKEY_HOME: join(dir, "rekey"),
      AWS_ENDPOINT_URL: sandbox.endpoint,
      AWS_EC2_METADATA_DISABLED: "true",
    },
    queryFunction: fake.queryFunction,
    engine: { retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 50 }, verifyIntervalMs: 50 },
  };
  const line = () => gatewayLineFor(fake, seeded);
  const keyOf = () =>
    getFieldValue(fake.recordData(seeded.userUid) as unknown as KeeperRecord, "aws_access_key_id");
  return { fake, userName, old, seeded, opts, line, keyOf };
}

const rootAdmin = () => ({
  accessKeyId: sandbox.root.accessKeyId,
  secretAccessKey: sandbox.root.secretAccessKey,
});

test("the PAM configuration not shared with the application: its key is taken from the Gateway's copy", async () => {
  const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
  const w = world({ configAdmin: admin });
  const line = w.line(); // the Gateway sends the configuration's fields...
  w.fake.removeRecord(w.seeded.configUid); // ...but KSM does not return it
  const { rotation } = await runKeeperScript(line, w.opts);
  assert.equal(rotation.credentialSource.kind, "pam-configuration");
  assert.equal(rotation.credentialSource.keyId, admin.accessKeyId);
  assert.deepEqual(rotation.deleted, [w.old.accessKeyId]);
  assert.equal(w.keyOf(), rotation.created?.accessKeyId);
});

test("the Gateway's user wins over the record's login, with a warning", async () => {
  const w = world({ configAdmin: rootAdmin() });
  w.fake.editRecord(w.seeded.userUid, (d) => {
    const login = (d.fields as Array<{ type: string; value: unknown[] }>).find((f) => f.type === "login");
    if (login) login.value = ["someone-else"];
  });
  const { rotation } = await runKeeperScript(gatewayLineFor(w.fake, w.seeded, { user: w.userName }), w.opts);
  assert.equal(rotation.userName, w.userName);
  assert.ok(rotation.warnings.some((x) => /has login "someone-else"/.test(x)));
});

test("someone edits the record in Keeper during the rotation: the new key is applied to their version", async () => {
  const w = world({ configAdmin: rootAdmin() });
  let edited = false;
  w.fake.beforeRequest = (endpoint) => {
    if (endpoint !== "update_secret" || edited) return;
    edited = true;
    w.fake.editRecord(w.seeded.userUid, (d) => {
      d.notes = "edited in the vault meanwhile";
    });
  };
  const { rotation } = await runKeeperScript(w.line(), w.opts);
  const data = w.fake.recordData(w.seeded.userUid);
  assert.equal(data.notes, "edited in the vault meanwhile", "their edit is kept");
  assert.equal(w.keyOf(), rotation.created?.accessKeyId, "and the new key saved");
  assert.equal(w.fake.calls("update_secret").filter((c) => c.statusCode !== 200).length, 1);
  assert.deepEqual(
    sandbox.admin.listKeys(w.userName).map((k) => k.accessKeyId),
    [rotation.created?.accessKeyId],
  );
});

for (const pendingView of ["new", "old"] as const) {
  test(`a run stopped with the rotation transaction open (Keeper shows the ${pendingView} data): the next run settles it and converges`, async () => {
    const w = world({ configAdmin: rootAdmin() });
    w.fake.knobs.pendingView = pendingView;
    const crash = new Error("simulated crash after the Keeper save");
    await assert.rejects(
      runKeeperScript(w.line(), {
        ...w.opts,
        transactionalSave: true,
        engine: {
          ...w.opts.engine,
          onCheckpoint: (step) => {
            if (step === "transaction") throw crash;
          },
        },
      }),
      (e) => e === crash,
    );
    assert.equal(w.fake.pending.get(w.seeded.userUid)?.type, "rotation");
    // The next run is a plain-save one (the default): it still settles the transaction the first left open.
    const { rotation } = await runKeeperScript(w.line(), w.opts);
    assert.equal(rotation.resumed?.outcome, "finished");
    assert.equal(w.fake.pending.size, 0);
    const r = w.fake.recordData(w.seeded.userUid) as unknown as KeeperRecord;
    const keyId = getFieldValue(r, "aws_access_key_id") ?? "";
    assert.deepEqual(
      sandbox.admin.listKeys(w.userName).map((k) => k.accessKeyId),
      [keyId],
      "only the record's key remains",
    );
    assert.match(
      await callerArn(sandbox, keyId, getFieldValue(r, "aws_secret_access_key") ?? ""),
      new RegExp(`:user/${w.userName}$`),
    );
  });
}

test("delete-then-create whose save is refused: the old keys are gone, so the new key is kept for the next run", async () => {
  const w = world({ configAdmin: rootAdmin(), deleteAllKeysBeforeRotating: true });
  w.fake.failNext("update_secret", {
    statusCode: 403,
    body: { error: "access_denied", message: "read-only" },
  });
  const err = await runKeeperScript(w.line(), w.opts).then(
    () => assert.fail("expected a failure"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RekeyError);
  assert.match(err.message, /were deleted before creating it .* kept in the rotation journal/);
  const keys = sandbox.admin.listKeys(w.userName);
  assert.equal(keys.length, 1);
  assert.notEqual(keys[0]?.accessKeyId, w.old.accessKeyId);
  const { rotation } = await runKeeperScript(w.line(), w.opts);
  assert.equal(rotation.resumed?.outcome, "finished");
  assert.equal(w.keyOf(), keys[0]?.accessKeyId, "the journaled key is the one saved");
});

test("the default save is the seed's plain update: no KSM transaction is opened or finalized", async () => {
  const w = world({ configAdmin: rootAdmin() });
  const { rotation } = await runKeeperScript(w.line(), w.opts);
  assert.ok(rotation.created);
  assert.equal(w.keyOf(), rotation.created.accessKeyId);
  assert.equal(w.fake.calls("update_secret").length, 1);
  assert.equal(w.fake.calls("finalize_secret_update").length, 0, "no completeTransaction");
  assert.equal(w.fake.pending.size, 0, "no transaction opened");
});

test("rekey_save=transaction on the record: the save opens a rotation transaction and finalizes it", async () => {
  const w = world({ configAdmin: rootAdmin(), userFields: { rekey_save: "transaction" } });
  const { rotation } = await runKeeperScript(w.line(), w.opts);
  assert.equal(w.keyOf(), rotation.created?.accessKeyId);
  assert.equal(w.fake.calls("finalize_secret_update").length, 1);
  assert.equal(w.fake.pending.size, 0);
});

for (const step of ["journal", "save"] as const) {
  test(`plain save, a run stopped at "${step}": the next run converges on one working key in the record`, async () => {
    const w = world({ configAdmin: rootAdmin() });
    const crash = new Error(`simulated crash at ${step}`);
    await assert.rejects(
      runKeeperScript(w.line(), {
        ...w.opts,
        engine: {
          ...w.opts.engine,
          onCheckpoint: (s) => {
            if (s === step) throw crash;
          },
        },
      }),
      (e) => e === crash,
    );
    const { rotation } = await runKeeperScript(w.line(), w.opts);
    assert.equal(rotation.resumed?.outcome, "finished");
    const r = w.fake.recordData(w.seeded.userUid) as unknown as KeeperRecord;
    const keyId = getFieldValue(r, "aws_access_key_id") ?? "";
    assert.deepEqual(
      sandbox.admin.listKeys(w.userName).map((k) => k.accessKeyId),
      [keyId],
    );
    assert.match(
      await callerArn(sandbox, keyId, getFieldValue(r, "aws_secret_access_key") ?? ""),
      new RegExp(`:user/${w.userName}$`),
    );
    assert.equal(w.fake.calls("finalize_secret_update").length, 0, "never a transaction");
  });
}

test("plain save whose answer is lost (the update landed): the next run sees the key in the record and finishes", async () => {
  const w = world({ configAdmin: rootAdmin() });
  w.fake.loseResponseOf("update_secret");
  w.fake.beforeRequest = (endpoint) => {
    if (endpoint === "update_secret") {
      w.fake.failNext("get_secret", { statusCode: 503, body: "Service Unavailable" });
      w.fake.beforeRequest = undefined;
    }
  };
  await assert.rejects(runKeeperScript(w.line(), w.opts), /not known whether the save landed/);
  assert.equal(sandbox.admin.listKeys(w.userName).length, 2, "every key kept");
  const { rotation } = await runKeeperScript(w.line(), w.opts);
  assert.equal(rotation.resumed?.outcome, "finished");
  assert.deepEqual(
    sandbox.admin.listKeys(w.userName).map((k) => k.accessKeyId),
    [w.keyOf()],
  );
});

test("seed_credential_order=True: the PAM configuration's key is used before the attached record", async () => {
  const attached = adminWithPolicy(sandbox, uniqueName("att"), policyFor({}));
  const cfg = adminWithPolicy(sandbox, uniqueName("cfg"), policyFor({}));
  const w = world({
    configAdmin: cfg,
    attachedAdmin: { kind: "aws", ...attached },
    userFields: { seed_credential_order: "True" },
  });
  const { rotation } = await runKeeperScript(w.line(), w.opts);
  assert.equal(rotation.credentialSource.kind, "pam-configuration");
  assert.match(rotation.credentialSource.description, new RegExp(cfg.accessKeyId));
  // rekey's default: the attached record first.
  const d = world({ configAdmin: cfg, attachedAdmin: { kind: "aws", ...attached } });
  const def = await runKeeperScript(d.line(), d.opts);
  assert.equal(def.rotation.credentialSource.kind, "attached");
});

test("seed_assume_role_ambient=True: sts:AssumeRole is signed with the machine's credentials, not the record's key", async () => {
  const { assumer, role } = assumableRole(sandbox);
  const w = world({
    attachedAdmin: {
      kind: "aws",
      roleArn: role.arn,
      // The seed reads these but signs with ambient credentials: a key that does not exist proves it.
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "not-a-real-secret",
    },
    userFields: { seed_assume_role_ambient: "True" },
  });
  const env = {
    ...w.opts.env,
    AWS_ACCESS_KEY_ID: assumer.accessKeyId,
    AWS_SECRET_ACCESS_KEY: assumer.secretAccessKey,
  };
  const { rotation } = await runKeeperScript(w.line(), { ...w.opts, env });
  assert.equal(rotation.credentialSource.kind, "attached");
  assert.match(
    rotation.credentialSource.description,
    new RegExp(`role ${role.arn} assumed with ambient credentials`),
  );
  assert.equal(w.keyOf(), rotation.created?.accessKeyId);
});
