/** Each admin credential source, in the seed's order, against the sandbox with the real SDK. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RekeyError } from "../../errors.js";
import { rotateRecord } from "../../rotation/engine.js";
import type { Sandbox } from "../../sandbox/index.js";
import { toAsyncStore } from "../../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../../stores/sqlite/sqlite-store.js";
import {
  addRecord,
  adminWithPolicy,
  assertConverged,
  assumableRole,
  credentialRecord,
  fastOptions,
  iamUserWithKeys,
  pamUser,
  type RotationFixture,
  rotationFixture,
  uniqueName,
} from "../../testing/rotation.js";
import { newRecord, setFieldValue } from "../../vault/record.js";
import { policyFor } from "./policy.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;

let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture();
  ({ sandbox, store } = fx);
});
after(() => fx.close());

function target(fields: Record<string, string> = {}) {
  const name = uniqueName("bob");
  iamUserWithKeys(sandbox, name, 1);
  const rec = addRecord(store, pamUser(`${name} (AWS)`, name, fields));
  return { name, uid: rec.uid };
}

test("attached record with aws_access_key_id / aws_secret_access_key", async () => {
  const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
  const cred = addRecord(
    store,
    credentialRecord(uniqueName("cred"), {
      aws_access_key_id: admin.accessKeyId,
      aws_secret_access_key: admin.secretAccessKey,
    }),
  );
  const { name, uid } = target({ rotation_credentials: cred.uid });
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.equal(res.credentialSource.kind, "attached");
  assert.equal(res.credentialSource.recordUid, cred.uid);
  assert.equal(res.credentialSource.keyId, admin.accessKeyId);
  await assertConverged(sandbox, store, uid, name);
});

test("attached record with accessKeyId / accessSecretKey (the PAM-config shape)", async () => {
  const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
  const title = uniqueName("cfg-shaped");
  addRecord(
    store,
    credentialRecord(title, { accessKeyId: admin.accessKeyId, accessSecretKey: admin.secretAccessKey }),
  );
  const { name, uid } = target({ rotation_credentials: title });
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.equal(res.credentialSource.keyId, admin.accessKeyId);
  await assertConverged(sandbox, store, uid, name);
});

test("AssumeRole with ExternalId, signed with the record's own key (not ambient credentials)", async () => {
  // The assumer may do nothing but assume the role; the role may rotate keys. No other source exists.
  const { assumer, role } = assumableRole(sandbox, { externalId: "rekey-ext-42" });
  const cred = addRecord(
    store,
    credentialRecord(uniqueName("role cred"), {
      role_arn: role.arn,
      aws_access_key_id: assumer.accessKeyId,
      aws_secret_access_key: assumer.secretAccessKey,
      external_id: "rekey-ext-42",
      role_session_name: "rekey-test",
    }),
  );
  const { name, uid } = target({ rotation_credentials: cred.uid });
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.equal(res.credentialSource.kind, "attached");
  assert.match(
    res.credentialSource.description,
    new RegExp(`role ${role.arn} assumed with access key ${assumer.accessKeyId} and an external id`),
  );
  assert.equal(res.credentialSource.keyId, assumer.accessKeyId);
  await assertConverged(sandbox, store, uid, name);

  // Without the external id the trust policy refuses, and the error says which source failed and why.
  const bad = addRecord(
    store,
    credentialRecord(uniqueName("role cred no ext"), {
      role_arn: role.arn,
      aws_access_key_id: assumer.accessKeyId,
      aws_secret_access_key: assumer.secretAccessKey,
    }),
  );
  const other = target({ rotation_credentials: bad.uid });
  await assert.rejects(rotateRecord(toAsyncStore(store), other.uid, fastOptions(sandbox)), (e: unknown) => {
    assert.ok(e instanceof RekeyError);
    assert.equal(e.kind, "auth");
    assert.match(e.message, /no usable AWS admin credentials/);
    assert.match(e.message, /sts:AssumeRole/);
    return true;
  });
});

test("the PAM configuration: named by pam_configuration, or the vault's only one; its region is used", async () => {
  const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
  const cfg = newRecord("pamAwsConfiguration", uniqueName("AWS config"));
  setFieldValue(cfg, "awsId", sandbox.accountId);
  setFieldValue(cfg, "accessKeyId", admin.accessKeyId);
  setFieldValue(cfg, "accessSecretKey", admin.secretAccessKey);
  setFieldValue(cfg, "regionNames", "eu-west-1\nus-east-1");
  const stored = addRecord(store, cfg);
  const { name, uid } = target({ pam_configuration: stored.record.title });
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.equal(res.credentialSource.kind, "pam-configuration");
  assert.equal(res.credentialSource.recordUid, stored.uid);
  assert.equal(res.region, "eu-west-1");
  await assertConverged(sandbox, store, uid, name);

  // No pam_configuration field: the vault holds exactly one pamAwsConfiguration, so it is used.
  const t2 = target();
  const res2 = await rotateRecord(toAsyncStore(store), t2.uid, fastOptions(sandbox));
  assert.equal(res2.credentialSource.kind, "pam-configuration");
  assert.ok(res2.warnings.some((w) => /attached records: none/.test(w)));
  await assertConverged(sandbox, store, t2.uid, t2.name);
  store.deleteRecord(stored.uid, { expectedRevision: store.getRecord(stored.uid)!.revision, actor: "test" });
});

test("the default chain, via AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the env option", async () => {
  const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
  const { name, uid } = target();
  const res = await rotateRecord(
    toAsyncStore(store),
    uid,
    fastOptions(sandbox, {
      env: { AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey },
    }),
  );
  assert.equal(res.credentialSource.kind, "default-chain");
  assert.equal(res.credentialSource.keyId, admin.accessKeyId);
  assert.match(res.credentialSource.description, /environment variables/);
  await assertConverged(sandbox, store, uid, name);
});

test("a source that does not work falls through to the next one, with a warning", async () => {
  const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
  const stale = addRecord(
    store,
    credentialRecord(uniqueName("stale"), {
      aws_access_key_id: "AKIASTALESTALESTALE0",
      aws_secret_access_key: "s".repeat(40),
    }),
  );
  const { name, uid } = target({ rotation_credentials: stale.uid });
  const res = await rotateRecord(
    toAsyncStore(store),
    uid,
    fastOptions(sandbox, {
      env: { AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey },
    }),
  );
  assert.equal(res.credentialSource.kind, "default-chain");
  assert.ok(
    res.warnings.some((w) => w.includes(stale.uid) && /does not recognize the access key id/.test(w)),
  );
  await assertConverged(sandbox, store, uid, name);
});

test("--credentials replaces the record's sources and is the only one tried", async () => {
  const admin = adminWithPolicy(sandbox, uniqueName("admin"), policyFor({}));
  const good = addRecord(
    store,
    credentialRecord(uniqueName("override"), {
      aws_access_key_id: admin.accessKeyId,
      aws_secret_access_key: admin.secretAccessKey,
    }),
  );
  const { name, uid } = target({ rotation_credentials: "no such record" });
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { credentials: good.uid }));
  assert.equal(res.credentialSource.recordUid, good.uid);
  await assertConverged(sandbox, store, uid, name);
  // With a broken override, the env's key is not silently used instead.
  await assert.rejects(
    rotateRecord(
      toAsyncStore(store),
      uid,
      fastOptions(sandbox, {
        credentials: "no such record",
        env: { AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey },
      }),
    ),
    (e: unknown) =>
      e instanceof RekeyError &&
      !/default credential chain/.test(e.message) &&
      /no such record/.test(e.message),
  );
});

test("when no source works, one error lists every source tried and why", async () => {
  const noKeys = addRecord(store, credentialRecord(uniqueName("empty cred"), { note: "nothing here" }));
  const { uid } = target({ rotation_credentials: `${noKeys.uid}, missing-title` });
  await assert.rejects(rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox)), (e: unknown) => {
    assert.ok(e instanceof RekeyError);
    assert.equal(e.kind, "auth");
    const lines = e.message.split("\n");
    assert.match(lines[0]!, /no usable AWS admin credentials to rotate IAM user/);
    assert.ok(
      lines.some((l) => l.includes(noKeys.uid) && /has none of role_arn/.test(l)),
      e.message,
    );
    assert.ok(
      lines.some((l) => /"missing-title"/.test(l) && /no record/.test(l)),
      e.message,
    );
    assert.ok(
      lines.some((l) => /PAM configuration: none/.test(l)),
      e.message,
    );
    assert.ok(
      lines.some((l) => /default credential chain/.test(l)),
      e.message,
    );
    assert.match(e.hint ?? "", /rekey policy/);
    return true;
  });
});
