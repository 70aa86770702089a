/** The three strategies, the 2-key cases, verification, throttling and dry-run, against the sandbox. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RekeyError } from "../errors.js";
import type { Sandbox } from "../sandbox/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import {
  addRecord,
  assertConverged,
  fastOptions,
  pamUser,
  type RotationFixture,
  recordKey,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import { findField, getFieldValue } from "../vault/record.js";
import { rotateRecord } from "./engine.js";
import { repairRecords } from "./repair-records.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;

let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture({ rootCredential: "admin key" });
  ({ sandbox, store } = fx);
});
after(() => fx.close());

/** A user with `n` keys and its pamUser record (the first key recorded as the vault's, when `recorded`). */
function setup(n: number, fields: Record<string, string> = {}, recorded = true) {
  const name = uniqueName("alice");
  const keyIds: string[] = [];
  sandbox.admin.createUser(name);
  const secrets: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = sandbox.admin.createAccessKey(name);
    keyIds.push(k.accessKeyId);
    secrets.push(k.secretAccessKey);
  }
  const rec = addRecord(
    store,
    pamUser(`${name} (AWS)`, name, { rotation_credentials: "admin key", ...fields }),
  );
  if (recorded && n > 0) recordKey(store, rec.uid, keyIds[0]!, secrets[0]!);
  return { name, uid: rec.uid, keyIds };
}

test("create-then-delete: new key stored as the seed does, old key deleted, identity recorded", async () => {
  const { name, uid, keyIds } = setup(1);
  const before = store.getRecord(uid)!;
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.equal(res.strategy, "create-then-delete");
  assert.ok(res.created);
  assert.deepEqual(res.deleted, keyIds);
  assert.deepEqual(
    res.steps.map((s) => s.step),
    ["create", "save", "delete"],
  );
  assert.equal(res.credentialSource.kind, "attached");
  assert.equal(res.credentialSource.keyId, sandbox.root.accessKeyId);
  assert.match(res.credentialSource.description, /attached record "admin key"/);
  const r = store.getRecord(uid)!;
  assert.equal(getFieldValue(r.record, "aws_access_key_id"), res.created.accessKeyId);
  assert.equal(findField(r.record, "aws_access_key_id")?.field.type, "text");
  assert.equal(findField(r.record, "aws_secret_access_key")?.field.type, "secret");
  assert.match(getFieldValue(r.record, "CreateDate") ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(getFieldValue(r.record, "Access_Key_ID_Removed_during_previous_rotation"), keyIds[0]);
  assert.notEqual(
    getFieldValue(r.record, "password"),
    getFieldValue(before.record, "password"),
    "dummy password rotated",
  );
  assert.match(getFieldValue(r.record, "aws_user_id") ?? "", /^AIDA/);
  assert.equal(res.userId, getFieldValue(r.record, "aws_user_id"));
  await assertConverged(sandbox, store, uid, name);
  // The old value stays in the record's history; the audit says what happened.
  assert.ok(store.history(uid).length >= 3);
  const audit = store.listAudit({ recordUid: uid }).map((a) => a.action);
  assert.ok(audit.includes("rotation.complete"), audit.join(","));

  // And again: the previous rotation's key is replaced.
  const res2 = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.deepEqual(res2.deleted, [res.created.accessKeyId]);
  await assertConverged(sandbox, store, uid, name);
});

test("create-then-delete with 2 keys: an inactive non-current key is deleted first, and we say so", async () => {
  const { name, uid, keyIds } = setup(2);
  sandbox.admin.updateAccessKey(name, keyIds[1]!, "Inactive");
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.deepEqual(
    res.steps.map((s) => `${s.step}${s.keyId === keyIds[1] ? " B" : s.keyId === keyIds[0] ? " A" : ""}`),
    ["delete B", "create", "save", "delete A"],
  );
  assert.ok(
    res.warnings.some((w) => w.includes(`deleted inactive key ${keyIds[1]} first`)),
    res.warnings.join("\n"),
  );
  await assertConverged(sandbox, store, uid, name);
});

test("create-then-delete with 2 active keys: refused before changing anything", async () => {
  const { name, uid, keyIds } = setup(2);
  const rev = store.getRecord(uid)!.revision;
  await assert.rejects(rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox)), (e: unknown) => {
    assert.ok(e instanceof RekeyError);
    assert.equal(e.kind, "conflict");
    assert.match(e.message, /already has 2 access keys/);
    assert.match(e.message, /at most 2 per user/);
    assert.match(e.hint ?? "", /delete_all_keys_before_rotating/);
    assert.match(e.hint ?? "", /graceful/);
    return true;
  });
  assert.deepEqual(
    sandbox.admin
      .listKeys(name)
      .map((k) => k.accessKeyId)
      .sort(),
    [...keyIds].sort(),
  );
  assert.equal(store.getRecord(uid)!.revision, rev);
  assert.deepEqual(store.listJournal({ recordUid: uid }), []);
});

test("delete-then-create (the seed's delete_all_keys_before_rotating=True) deletes every key first", async () => {
  const { name, uid, keyIds } = setup(2, { delete_all_keys_before_rotating: "True" });
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.equal(res.strategy, "delete-then-create");
  assert.deepEqual(
    res.steps.map((s) => s.step),
    ["delete", "delete", "create", "save"],
  );
  assert.deepEqual([...res.deleted].sort(), [...keyIds].sort());
  // Keys created in the same second have equal CreateDates (IAM dates are whole seconds): compare as sets.
  assert.deepEqual(
    getFieldValue(store.getRecord(uid)!.record, "Access_Key_ID_Removed_during_previous_rotation")
      ?.split(", ")
      .sort(),
    [...keyIds].sort(),
  );
  await assertConverged(sandbox, store, uid, name);
});

test("graceful: create, verify, save, deactivate; next time the previous key is deleted", async () => {
  const { name, uid, keyIds } = setup(1, { rotation_strategy: "graceful" });
  const first = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.deepEqual(
    first.steps.map((s) => s.step),
    ["create", "verify", "save", "deactivate"],
  );
  assert.deepEqual(first.deactivated, keyIds);
  assert.deepEqual(first.deleted, []);
  assert.ok(first.verified);
  let r = store.getRecord(uid)!.record;
  assert.equal(getFieldValue(r, "aws_previous_access_key_id"), keyIds[0]);
  assert.ok(getFieldValue(r, "aws_previous_key_deactivated_at"));
  await assertConverged(sandbox, store, uid, name, { graceful: true });

  const second = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.deepEqual(second.deleted, keyIds, "the previous (inactive) key is deleted at the next rotation");
  assert.deepEqual(second.deactivated, [first.created?.accessKeyId]);
  r = store.getRecord(uid)!.record;
  assert.equal(getFieldValue(r, "aws_previous_access_key_id"), first.created?.accessKeyId);
  await assertConverged(sandbox, store, uid, name, { graceful: true });
});

test("graceful never deletes a key rekey does not know, unless forced", async () => {
  const { name, uid, keyIds } = setup(2, { rotation_strategy: "graceful" });
  await assert.rejects(
    rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox)),
    /never deletes a key that rekey neither created nor knows/,
  );
  assert.equal(sandbox.admin.listKeys(name).length, 2);
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { force: true }));
  assert.deepEqual(res.deleted, [keyIds[1]]);
  assert.deepEqual(res.deactivated, [keyIds[0]]);
  await assertConverged(sandbox, store, uid, name, { graceful: true });
});

test("graceful: the previous key is deleted by repair once old_key_grace has passed", async () => {
  const { name, uid, keyIds } = setup(1, { rotation_strategy: "graceful", old_key_grace: "1h" });
  await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  const soon = await repairRecords(toAsyncStore(store), { ...fastOptions(sandbox), records: [uid] });
  assert.equal(soon.records[0]?.outcome, "nothing");
  assert.equal(sandbox.admin.listKeys(name).length, 2);
  const later = () => new Date(Date.now() + 2 * 3_600_000);
  const res = await repairRecords(toAsyncStore(store), { ...fastOptions(sandbox), now: later });
  const mine = res.records.find((x) => x.recordUid === uid);
  assert.equal(mine?.outcome, "grace-expired");
  assert.deepEqual(mine?.deleted, keyIds);
  assert.equal(sandbox.admin.listKeys(name).length, 1);
  assert.equal(getFieldValue(store.getRecord(uid)!.record, "aws_previous_access_key_id"), "");
  await assertConverged(sandbox, store, uid, name);
});

test("verification waits out IAM's propagation delay before the old key is touched", async () => {
  const { name, uid, keyIds } = setup(1);
  sandbox.knobs.set({ propagationDelayMs: 400 });
  try {
    const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { verify: true }));
    assert.ok(res.verified);
    assert.ok(res.verified.attempts > 1, "the first attempts were refused while the key propagated");
    assert.deepEqual(res.deleted, keyIds);
    const order = res.steps.map((s) => s.step);
    assert.ok(order.indexOf("verify") < order.indexOf("delete"));
  } finally {
    sandbox.knobs.set({ propagationDelayMs: 0 });
  }
  await assertConverged(sandbox, store, uid, name);
});

test("a new key that never verifies is deleted again and nothing else changes", async () => {
  const { name, uid, keyIds } = setup(1, { rotation_strategy: "graceful" });
  const rev = store.getRecord(uid)!.revision;
  sandbox.knobs.set({ propagationDelayMs: 60_000 });
  try {
    await assert.rejects(
      rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { verifyTimeoutMs: 300 })),
      (e: unknown) =>
        e instanceof RekeyError && /did not work/.test(e.message) && /deleted it again/.test(e.message),
    );
  } finally {
    sandbox.knobs.set({ propagationDelayMs: 0 });
  }
  assert.deepEqual(
    sandbox.admin.listKeys(name).map((k) => [k.accessKeyId, k.status]),
    [[keyIds[0], "Active"]],
  );
  assert.equal(store.getRecord(uid)!.revision, rev);
  assert.deepEqual(store.listJournal({ recordUid: uid }), []);
});

test("throttling: the rotation still succeeds", async () => {
  const { name, uid } = setup(1, { rotation_strategy: "graceful" });
  sandbox.knobs.set({ throttleRate: 5, throttleBurst: 1 });
  try {
    const res = await rotateRecord(
      toAsyncStore(store),
      uid,
      fastOptions(sandbox, { retry: { maxAttempts: 12, baseDelayMs: 50, maxDelayMs: 500 } }),
    );
    assert.ok(res.created);
  } finally {
    sandbox.knobs.set({ throttleRate: 0, throttleBurst: 0 });
  }
  await assertConverged(sandbox, store, uid, name, { graceful: true });
});

test("dry-run shows the plan and the credential source and changes nothing", async () => {
  const { name, uid, keyIds } = setup(2);
  sandbox.admin.updateAccessKey(name, keyIds[1]!, "Inactive");
  const rev = store.getRecord(uid)!.revision;
  const auditBefore = store.listAudit().length;
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { dryRun: true }));
  assert.equal(res.dryRun, true);
  assert.equal(res.created, undefined);
  assert.deepEqual(
    res.steps.map((s) => [s.step, s.keyId ?? "", s.status]),
    [
      ["delete", keyIds[1], "planned"],
      ["create", "", "planned"],
      ["save", "", "planned"],
      ["delete", keyIds[0], "planned"],
    ],
  );
  assert.deepEqual(res.deleted, [keyIds[1], keyIds[0]]);
  assert.match(res.credentialSource.description, /admin key/);
  assert.equal(store.getRecord(uid)!.revision, rev);
  assert.equal(store.listAudit().length, auditBefore);
  assert.deepEqual(
    sandbox.admin.listKeys(name).map((k) => k.accessKeyId),
    keyIds,
  );
  // A dry-run that would be refused fails the same way.
  sandbox.admin.updateAccessKey(name, keyIds[1]!, "Active");
  await assert.rejects(
    rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox, { dryRun: true })),
    /already has 2 access keys/,
  );
});

test("first rotation of a record whose key field is empty (the seed's template as imported)", async () => {
  const { name, uid, keyIds } = setup(1, {}, false);
  const res = await rotateRecord(toAsyncStore(store), uid, fastOptions(sandbox));
  assert.deepEqual(res.deleted, keyIds);
  await assertConverged(sandbox, store, uid, name);
});
