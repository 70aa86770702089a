/**
 * The two traps that delete a live key (issue: "no silent traps"): two records naming one IAM user, and a
 * record whose vault key is not among the user's keys (pointed at another user). Real engine, real
 * sandbox, real SQLite vault.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RekeyError } from "../errors.js";
import type { Sandbox } from "../sandbox/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import {
  addRecord,
  fastOptions,
  pamUser,
  type RotationFixture,
  recordKey,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import { getFieldValue, setFieldValue } from "../vault/record.js";
import { rotateRecord } from "./engine.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;
let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture({ rootCredential: "admin key" });
  ({ sandbox, store } = fx);
});
after(() => fx.close());

function userWithKey(prefix: string) {
  const name = uniqueName(prefix);
  sandbox.admin.createUser(name);
  const key = sandbox.admin.createAccessKey(name);
  const rec = addRecord(store, pamUser(`${name} (AWS)`, name, { rotation_credentials: "admin key" }));
  recordKey(store, rec.uid, key.accessKeyId, key.secretAccessKey);
  return { name, uid: rec.uid, key };
}

const keyIdsOf = (name: string) => sandbox.admin.listKeys(name).map((k) => k.accessKeyId);

test("two records for one IAM user: neither is rotated (exit 4, both named, not retried), IAM untouched", async () => {
  const a = userWithKey("dup");
  // A re-imported copy of the same user (the same login and admin credentials), holding the same key.
  const copy = addRecord(store, pamUser(`${a.name} again`, a.name, { rotation_credentials: "admin key" }));
  recordKey(store, copy.uid, a.key.accessKeyId, a.key.secretAccessKey);
  for (const uid of [a.uid, copy.uid]) {
    await assert.rejects(rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox)), (err: unknown) => {
      assert.ok(err instanceof RekeyError);
      assert.equal(err.exitCode, 4);
      assert.equal(err.details?.retryable, false);
      assert.match(err.message, new RegExp(`${a.uid}.*${copy.uid}|${copy.uid}.*${a.uid}`));
      assert.match(err.message, /nothing was changed/);
      return true;
    });
  }
  // Dry runs say so too.
  await assert.rejects(
    rotateRecord(toAsyncStore(store), a.uid, fastOptions(sandbox, { dryRun: true })),
    /all manage IAM user/,
  );
  assert.deepEqual(keyIdsOf(a.name), [a.key.accessKeyId], "the live key is still there");
  // Once the extra record is gone, the rotation works.
  store.deleteRecord(copy.uid, { actor: "test", expectedRevision: store.getRecord(copy.uid)!.revision });
  const r = await rotateRecord(toAsyncStore(store), a.uid, fastOptions(sandbox));
  assert.deepEqual(r.deleted, [a.key.accessKeyId]);
});

test("the same login in another account (another configuration awsId) is another IAM user", async () => {
  const a = userWithKey("acct");
  const other = addRecord(
    store,
    pamUser(`${a.name} elsewhere`, a.name, { rotation_credentials: "other admin" }),
  );
  const r = await rotateRecord(
    toAsyncStore(store),
    a.uid,
    fastOptions(sandbox, { peers: [store.getRecord(a.uid)!, other] }),
  );
  assert.ok(r.created);
});

test("the same aws_user_id under two logins is one IAM user", async () => {
  const a = userWithKey("uid");
  await rotateRecord(toAsyncStore(store), a.uid, fastOptions(sandbox)); // writes aws_user_id
  const userId = getFieldValue(store.getRecord(a.uid)!.record, "aws_user_id")!;
  assert.ok(userId);
  addRecord(store, pamUser("renamed copy", "someone-else", { aws_user_id: userId }));
  await assert.rejects(rotateRecord(toAsyncStore(store), a.uid, fastOptions(sandbox)), /all manage IAM user/);
});

test("a record pointed at another IAM user (its vault key not among that user's keys) is refused; --force says what it deletes", async () => {
  const alice = userWithKey("alice");
  const admin = userWithKey("admin");
  store.deleteRecord(admin.uid, { actor: "test", expectedRevision: store.getRecord(admin.uid)!.revision }); // the admin user is not managed by any record
  await rotateRecord(toAsyncStore(store), alice.uid, fastOptions(sandbox)); // rotated once: aws_user_id recorded
  const aliceKeys = keyIdsOf(alice.name);

  // Someone points the record at the admin user and removes aws_user_id (which would fail the UserId check).
  const s = store.getRecord(alice.uid)!;
  const edited = structuredClone(s.record);
  setFieldValue(edited, "login", admin.name);
  setFieldValue(edited, "aws_user_id", "");
  store.saveRecord(alice.uid, edited, { expectedRevision: s.revision, actor: "test" });

  for (const strategy of ["create-then-delete", "delete-then-create", "graceful"] as const) {
    await assert.rejects(
      rotateRecord(toAsyncStore(store), alice.uid, fastOptions(sandbox, { strategy })),
      (err: unknown) => {
        assert.ok(err instanceof RekeyError, String(err));
        assert.equal(err.exitCode, 4, err.message);
        assert.match(err.message, /is not among the IAM user's keys/);
        assert.match(err.message, /nothing was changed/);
        assert.match(
          err.hint ?? "",
          new RegExp(`--force \\(it would (delete|deactivate) ${admin.key.accessKeyId}\\)`),
        );
        return true;
      },
    );
  }
  assert.deepEqual(keyIdsOf(admin.name), [admin.key.accessKeyId], "the admin's key is untouched");
  assert.deepEqual(keyIdsOf(alice.name), aliceKeys);

  const forced = await rotateRecord(toAsyncStore(store), alice.uid, fastOptions(sandbox, { force: true }));
  assert.deepEqual(forced.deleted, [admin.key.accessKeyId]);
  assert.ok(forced.warnings.some((w) => /--force: the vault's current key .* is not among/.test(w)));
});

test("a rotated record whose key and aws_user_id were both removed is refused (it was rotated before)", async () => {
  const bob = userWithKey("bob");
  await rotateRecord(toAsyncStore(store), bob.uid, fastOptions(sandbox));
  const s = store.getRecord(bob.uid)!;
  const edited = structuredClone(s.record);
  for (const f of ["aws_user_id", "aws_access_key_id"]) setFieldValue(edited, f, "");
  store.saveRecord(bob.uid, edited, { expectedRevision: s.revision, actor: "test" });
  const keys = keyIdsOf(bob.name);
  await assert.rejects(
    rotateRecord(toAsyncStore(store), bob.uid, fastOptions(sandbox)),
    /rotated before \(it has, or had, aws_user_id\) but holds no current key/,
  );
  assert.deepEqual(keyIdsOf(bob.name), keys);
});

test("a never-rotated record without a key (the seed's template) still rotates: create, then delete the others", async () => {
  const name = uniqueName("tmpl");
  sandbox.admin.createUser(name);
  const found = sandbox.admin.createAccessKey(name);
  const rec = addRecord(store, pamUser(`${name} (AWS)`, name, { rotation_credentials: "admin key" }));
  const r = await rotateRecord(toAsyncStore(store), rec.uid, fastOptions(sandbox));
  assert.deepEqual(r.deleted, [found.accessKeyId]);
});
