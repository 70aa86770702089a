/** Every error of the issue names the problem and the fix, exits non-zero, and loses nothing. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RekeyError } from "../errors.js";
import { policyFor } from "../providers/aws-iam/policy.js";
import type { Sandbox } from "../sandbox/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import {
  addRecord,
  adminWithPolicy,
  assertConverged,
  credentialRecord,
  fastOptions,
  iamUserWithKeys,
  pamUser,
  type RotationFixture,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import { getFieldValue } from "../vault/record.js";
import { rotateRecord } from "./engine.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;

let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture({ rootCredential: "root cred" });
  ({ sandbox, store } = fx);
});
after(() => fx.close());

const isError = (kind: string, message: RegExp, hint?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof RekeyError, String(e));
  assert.equal(e.kind, kind, e.message);
  assert.match(e.message, message);
  if (hint) assert.match(e.hint ?? "", hint);
  assert.ok(e.exitCode !== 0);
  return true;
};

test("unknown record", async () => {
  await assert.rejects(
    rotateRecord(toAsyncStore(store), "no such record", fastOptions(sandbox)),
    isError("not-found", /no record with UID or title "no such record"/, /rekey record list/),
  );
});

test("record without login", async () => {
  const r = addRecord(
    store,
    pamUser(uniqueName("nologin"), undefined, { rotation_credentials: "root cred" }),
  );
  await assert.rejects(
    rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox)),
    isError("usage", /has no login/, /--set login=/),
  );
});

test("IAM user not found", async () => {
  const name = uniqueName("ghost");
  const r = addRecord(store, pamUser(`${name} (AWS)`, name, { rotation_credentials: "root cred" }));
  await assert.rejects(
    rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox)),
    isError("not-found", new RegExp(`IAM user "${name}" not found`), /login field/),
  );
  await assert.rejects(
    rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox, { dryRun: true })),
    isError("not-found", /not found/),
  );
});

test("AccessDenied names the action and points to rekey policy; nothing is left half-done", async () => {
  const name = uniqueName("carol");
  const [key] = iamUserWithKeys(sandbox, name, 1);
  const weak = adminWithPolicy(sandbox, uniqueName("weak"), {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["iam:ListAccessKeys", "iam:GetUser"], Resource: "*" }],
  });
  const cred = addRecord(
    store,
    credentialRecord(uniqueName("weak cred"), {
      aws_access_key_id: weak.accessKeyId,
      aws_secret_access_key: weak.secretAccessKey,
    }),
  );
  const r = addRecord(store, pamUser(`${name} (AWS)`, name, { rotation_credentials: cred.uid }));
  await assert.rejects(
    rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox)),
    isError("auth", /AWS denied iam:CreateAccessKey on IAM user/, /rekey policy/),
  );
  assert.deepEqual(
    sandbox.admin.listKeys(name).map((k) => k.accessKeyId),
    [key],
  );
  assert.deepEqual(store.listJournal({ recordUid: r.uid }), []);
  assert.ok(store.listAudit({ recordUid: r.uid }).some((a) => a.action === "rotation.failed"));
});

test("a deleted and re-created user (new UserId) is refused unless forced", async () => {
  const name = uniqueName("dave");
  iamUserWithKeys(sandbox, name, 1);
  const r = addRecord(store, pamUser(`${name} (AWS)`, name, { rotation_credentials: "root cred" }));
  await rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox));
  const oldId = getFieldValue(store.getRecord(r.uid)!.record, "aws_user_id");
  for (const k of sandbox.admin.listKeys(name)) sandbox.admin.deleteAccessKey(name, k.accessKeyId);
  sandbox.admin.deleteUser(name);
  sandbox.admin.createUser(name);
  sandbox.admin.createAccessKey(name);
  await assert.rejects(
    rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox)),
    isError("conflict", /now has UserId .* was rotated for UserId .*deleted and re-created/, /--force/),
  );
  const res = await rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox, { force: true }));
  assert.ok(res.warnings.some((w) => /changed UserId/.test(w)));
  const newId = getFieldValue(store.getRecord(r.uid)!.record, "aws_user_id");
  assert.notEqual(newId, oldId);
  assert.equal(newId, res.userId);
  await assertConverged(sandbox, store, r.uid, name);
});

test("without iam:GetUser the UserId check is skipped with a warning naming the permission", async () => {
  const name = uniqueName("erin");
  iamUserWithKeys(sandbox, name, 1);
  const seedPolicy = policyFor({ checkUserId: false });
  const admin = adminWithPolicy(sandbox, uniqueName("seedadmin"), seedPolicy);
  const cred = addRecord(
    store,
    credentialRecord(uniqueName("seed cred"), {
      aws_access_key_id: admin.accessKeyId,
      aws_secret_access_key: admin.secretAccessKey,
    }),
  );
  const r = addRecord(store, pamUser(`${name} (AWS)`, name, { rotation_credentials: cred.uid }));
  const res = await rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox));
  assert.ok(
    res.warnings.some((w) => /skipped the IAM UserId check/.test(w) && /iam:GetUser/.test(w)),
    res.warnings.join("\n"),
  );
  assert.equal(res.userId, undefined);
  await assertConverged(sandbox, store, r.uid, name);
});

test("a record being rotated by another process is refused (lock)", async () => {
  const name = uniqueName("frank");
  iamUserWithKeys(sandbox, name, 1);
  const r = addRecord(store, pamUser(`${name} (AWS)`, name, { rotation_credentials: "root cred" }));
  const lease = store.tryLock(r.uid, "someone-else", 60_000);
  assert.ok(lease);
  try {
    await assert.rejects(
      rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox)),
      isError("conflict", /being rotated by another process/, /expires/),
    );
  } finally {
    lease.release();
  }
  await rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox));
  await assertConverged(sandbox, store, r.uid, name);
});

test("bad settings are usage errors before any AWS call", async () => {
  const name = uniqueName("gina");
  const r = addRecord(
    store,
    pamUser(`${name} (AWS)`, name, { rotation_credentials: "root cred", rotation_strategy: "yolo" }),
  );
  await assert.rejects(
    rotateRecord(toAsyncStore(store), r.uid, fastOptions(sandbox)),
    isError("usage", /unknown rotation strategy "yolo"/),
  );
  await assert.rejects(
    rotateRecord(
      toAsyncStore(store),
      r.uid,
      fastOptions(sandbox, { strategy: "graceful", region: "nowhere" }),
    ),
    isError("usage", /not an AWS region/),
  );
});
