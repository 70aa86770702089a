/**
 * The old key's last use decides (architecture invariant 6), against the sandbox, which records the last
 * use of every key that signs a request: an application still on the old key after the new key exists
 * holds its deletion; adoption keeps the key it found Active through the overlap.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { IamKeyPort } from "../providers/aws-iam/port.js";
import type { Sandbox } from "../sandbox/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import {
  addRecord,
  callerArn,
  fastOptions,
  pamUser,
  type RotationFixture,
  recordKey,
  rotationFixture,
  uniqueName,
} from "../testing/rotation.js";
import { getFieldValue } from "../vault/record.js";
import { repairRecords, rotateRecord } from "./index.js";

let sandbox: Sandbox;
let store: SqliteVaultStore;
let fx: RotationFixture;
before(async () => {
  fx = await rotationFixture({ rootCredential: "admin key" });
  ({ sandbox, store } = fx);
});
after(() => fx.close());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A user with one key the vault holds (or, with `adopt`, one key the vault does not know). */
function setup(fields: Record<string, string> = {}, opts: { adopt?: boolean } = {}) {
  const name = uniqueName("app");
  sandbox.admin.createUser(name);
  const old = sandbox.admin.createAccessKey(name);
  const rec = addRecord(
    store,
    pamUser(`${name} (AWS)`, name, {
      rotation_credentials: "admin key",
      ...(opts.adopt ? { adopt_existing_keys: "True" } : {}),
      ...fields,
    }),
  );
  if (!opts.adopt) recordKey(store, rec.uid, old.accessKeyId, old.secretAccessKey);
  const app = () => callerArn(sandbox, old.accessKeyId, old.secretAccessKey);
  return { name, uid: rec.uid, old, app };
}

/**
 * The application signs a request with the old key after the new key was created (just before rekey asks
 * IAM about the old key's last use).
 */
const appUsesOldKeyAfterCreate =
  (app: () => Promise<string>) =>
  (port: IamKeyPort): IamKeyPort => {
    let created = false;
    return {
      ...port,
      async createKey(userName) {
        const k = await port.createKey(userName);
        created = true;
        return k;
      },
      async lastUsed(userName, keyId) {
        if (created) await app();
        return port.lastUsed(userName, keyId);
      },
    };
  };

const field = (uid: string, label: string) => getFieldValue(store.getRecord(uid)!.record, label) ?? "";
const keyStatus = (name: string, id: string) =>
  sandbox.admin.listKeys(name).find((k) => k.accessKeyId === id)?.status;

test("create-then-delete: an old key used after the new key was created is held, not deleted; deleted once unused", async () => {
  const s = setup();
  const res = await rotateRecord(
    toAsyncStore(store),
    s.uid,
    fastOptions(sandbox, { wrapPort: appUsesOldKeyAfterCreate(s.app) }),
  );
  assert.ok(res.created);
  assert.deepEqual(res.deleted, [], "nothing deleted");
  assert.equal(res.retained?.held, true);
  assert.match(
    res.retained?.why ?? "",
    new RegExp(`^held: old key still in use \\(${s.old.accessKeyId} last used `),
  );
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Active", "the application keeps working");
  assert.equal(field(s.uid, "aws_access_key_id"), res.created.accessKeyId, "the vault holds the new key");
  assert.equal(field(s.uid, "aws_previous_access_key_id"), s.old.accessKeyId);
  assert.ok(field(s.uid, "aws_previous_key_held_at"));
  assert.equal(field(s.uid, "Access_Key_ID_Removed_during_previous_rotation"), "", "not removed");

  // Before the recheck time: repair leaves it alone.
  const early = await repairRecords(toAsyncStore(store), { ...fastOptions(sandbox), records: [s.uid] });
  assert.equal(early.records[0]?.outcome, "nothing");
  // An hour later the application is still on it: held again.
  await s.app();
  const later = new Date(Date.now() + HOUR + 60_000);
  const again = await repairRecords(toAsyncStore(store), {
    ...fastOptions(sandbox, { now: () => later }),
    records: [s.uid],
  });
  assert.equal(again.records[0]?.outcome, "held", JSON.stringify(again.records[0]));
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Active");
  // The application moved (no use since): the next check deletes the key.
  const moved = new Date(later.getTime() + HOUR + 60_000);
  const done = await repairRecords(toAsyncStore(store), {
    ...fastOptions(sandbox, { now: () => moved }),
    records: [s.uid],
  });
  assert.equal(done.records[0]?.outcome, "grace-expired", JSON.stringify(done.records[0]));
  assert.deepEqual(done.records[0]?.deleted, [s.old.accessKeyId]);
  assert.equal(keyStatus(s.name, s.old.accessKeyId), undefined);
  assert.equal(field(s.uid, "aws_previous_access_key_id"), "");
  assert.equal(field(s.uid, "aws_previous_key_held_at"), "");
  const audit = store.listAudit({ recordUid: s.uid }).map((a) => a.action);
  assert.ok(audit.includes("rotation.old-key-held"), audit.join(","));
});

test("an old key not used since the new key was created is deleted at once (the usual case)", async () => {
  const s = setup();
  await s.app(); // used before the rotation only
  const res = await rotateRecord(toAsyncStore(store), s.uid, fastOptions(sandbox));
  assert.deepEqual(res.deleted, [s.old.accessKeyId]);
  assert.equal(res.retained, undefined);
});

test("--force deletes an old key still in use; a held key blocks the next rotation until unused", async () => {
  const forced = setup();
  const res = await rotateRecord(
    toAsyncStore(store),
    forced.uid,
    fastOptions(sandbox, { force: true, wrapPort: appUsesOldKeyAfterCreate(forced.app) }),
  );
  assert.deepEqual(res.deleted, [forced.old.accessKeyId]);

  const s = setup();
  const first = await rotateRecord(
    toAsyncStore(store),
    s.uid,
    fastOptions(sandbox, { wrapPort: appUsesOldKeyAfterCreate(s.app) }),
  );
  assert.equal(first.retained?.held, true);
  await s.app(); // still in use
  await assert.rejects(rotateRecord(toAsyncStore(store), s.uid, fastOptions(sandbox)), (err: Error) => {
    assert.match(err.message, new RegExp(`previous key ${s.old.accessKeyId} .* is still in use`));
    return true;
  });
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Active", "refused: nothing changed");
  assert.equal(field(s.uid, "aws_access_key_id"), first.created?.accessKeyId);
});

test("a held key no longer used is retired before the next rotation creates its key", async () => {
  const s = setup();
  const first = await rotateRecord(
    toAsyncStore(store),
    s.uid,
    fastOptions(sandbox, { wrapPort: appUsesOldKeyAfterCreate(s.app) }),
  );
  assert.equal(first.retained?.held, true);
  const second = await rotateRecord(toAsyncStore(store), s.uid, fastOptions(sandbox));
  assert.deepEqual(second.deleted.sort(), [s.old.accessKeyId, first.created!.accessKeyId].sort());
  assert.deepEqual(
    sandbox.admin.listKeys(s.name).map((k) => k.accessKeyId),
    [second.created!.accessKeyId],
  );
});

test("adoption: the key found stays Active for the overlap, Inactive for the grace, then is deleted", async () => {
  const s = setup({}, { adopt: true });
  const res = await rotateRecord(toAsyncStore(store), s.uid, fastOptions(sandbox));
  assert.ok(res.created);
  assert.deepEqual(res.deleted, []);
  assert.deepEqual(res.deactivated, []);
  assert.equal(res.retained?.held, false);
  assert.ok(
    res.warnings.some((w) => w.startsWith(`adopting IAM user "${s.name}"`)),
    res.warnings.join("\n"),
  );
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Active", "untouched: applications keep working");
  const until = new Date(field(s.uid, "aws_previous_key_active_until"));
  assert.ok(
    Math.abs(until.getTime() - (Date.parse(res.created.createDate) + 7 * DAY)) < 5_000,
    until.toISOString(),
  );

  // During the overlap: nothing happens, whatever repair is asked.
  const day3 = new Date(Date.now() + 3 * DAY);
  assert.equal(
    (
      await repairRecords(toAsyncStore(store), {
        ...fastOptions(sandbox, { now: () => day3 }),
        records: [s.uid],
      })
    ).records[0]?.outcome,
    "nothing",
  );
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Active");
  // After the overlap, unused since the new key: deactivated (not deleted).
  const day8 = new Date(Date.now() + 8 * DAY);
  const deact = await repairRecords(toAsyncStore(store), {
    ...fastOptions(sandbox, { now: () => day8 }),
    records: [s.uid],
  });
  assert.deepEqual(deact.records[0]?.deactivated, [s.old.accessKeyId], JSON.stringify(deact.records[0]));
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Inactive");
  // After the grace (default 7d for adopted records): deleted.
  const day16 = new Date(Date.now() + 16 * DAY);
  const del = await repairRecords(toAsyncStore(store), {
    ...fastOptions(sandbox, { now: () => day16 }),
    records: [s.uid],
  });
  assert.deepEqual(del.records[0]?.deleted, [s.old.accessKeyId], JSON.stringify(del.records[0]));
  assert.deepEqual(
    sandbox.admin.listKeys(s.name).map((k) => k.accessKeyId),
    [res.created.accessKeyId],
  );
});

test("adoption: an application still on the found key after the overlap holds its deactivation", async () => {
  const s = setup({ old_key_overlap: "1d" }, { adopt: true });
  const res = await rotateRecord(toAsyncStore(store), s.uid, fastOptions(sandbox));
  assert.ok(res.created);
  await s.app(); // the application never moved
  const day2 = new Date(Date.now() + 2 * DAY);
  const r = await repairRecords(toAsyncStore(store), {
    ...fastOptions(sandbox, { now: () => day2 }),
    records: [s.uid],
  });
  assert.equal(r.records[0]?.outcome, "held", JSON.stringify(r.records[0]));
  assert.match(r.records[0]?.held ?? "", /held: old key still in use/);
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Active");
});

test("adoption refuses delete-then-create (it would delete the key applications use before the new one exists)", async () => {
  const s = setup({ delete_all_keys_before_rotating: "True" }, { adopt: true });
  await assert.rejects(
    rotateRecord(toAsyncStore(store), s.uid, fastOptions(sandbox)),
    /adopt the keys .* delete-then-create/,
  );
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Active");
});

test("graceful with old_key_overlap: the previous key stays Active, then is deactivated when unused", async () => {
  const s = setup({ rotation_strategy: "graceful", old_key_overlap: "2h", old_key_grace: "1d" });
  const res = await rotateRecord(toAsyncStore(store), s.uid, fastOptions(sandbox));
  assert.deepEqual(res.deactivated, []);
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Active");
  const h3 = new Date(Date.now() + 3 * HOUR);
  const r = await repairRecords(toAsyncStore(store), {
    ...fastOptions(sandbox, { now: () => h3 }),
    records: [s.uid],
  });
  assert.deepEqual(r.records[0]?.deactivated, [s.old.accessKeyId], JSON.stringify(r.records[0]));
  assert.equal(keyStatus(s.name, s.old.accessKeyId), "Inactive");
  assert.ok(field(s.uid, "aws_previous_key_deactivated_at"));
});
