/**
 * The SQLite vault's schedule index table: created on first write, read from clear columns, outside the
 * signed head (index writes leave the head and the integrity check as they were), and a change mark that
 * moves with every record or index write and with nothing else.
 */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { scheduleIndexRow, tempVault } from "../../testing/vault.js";
import { newRecord } from "../../vault/record.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const row = scheduleIndexRow;

test("rows: none before the first write, then read back as written; deleted by UID", async () => {
  const vault = await tempVault();
  cleanups.push(() => vault.cleanup());
  const index = vault.store.scheduleIndex();
  assert.deepEqual(index.listRows(), []);
  index.putRows([row("u1"), row("u2", { nextDueAt: null, lastOutcome: "failed", identities: [] })]);
  index.putRows([row("u1", { revision: 2, configurationUid: "c1" })]);
  const byUid = new Map(index.listRows().map((r) => [r.uid, r]));
  assert.deepEqual(byUid.get("u1"), row("u1", { revision: 2, configurationUid: "c1" }));
  assert.deepEqual(byUid.get("u2"), row("u2", { nextDueAt: null, lastOutcome: "failed", identities: [] }));
  index.deleteRows(["u2"]);
  assert.deepEqual(
    index.listRows().map((r) => r.uid),
    ["u1"],
  );
});

test("the change mark moves with record writes and index writes only; the signed head ignores the index", async () => {
  const vault = await tempVault();
  cleanups.push(() => vault.cleanup());
  const index = vault.store.scheduleIndex();
  const m0 = index.changeMark();
  assert.deepEqual(index.changeMark(), m0, "a read moved the mark");
  const created = vault.store.createRecord(newRecord("pamUser", "alice"), { actor: "test" });
  const m1 = index.changeMark();
  assert.notEqual(m1.records, m0.records);
  assert.deepEqual(index.listRecordRevisions(), [{ uid: created.uid, revision: 1 }]);
  const head = vault.store.head();
  index.putRows([row(created.uid)]);
  const m2 = index.changeMark();
  assert.ok(m2.rows > m1.rows);
  assert.equal(m2.records, m1.records);
  assert.deepEqual(
    index.listRows({ since: m1.rows }).map((r) => r.uid),
    [created.uid],
  );
  assert.deepEqual(index.listRows({ since: m2.rows }), []);
  assert.equal(vault.store.head(), head, "an index write changed the signed head");
  vault.store.checkIntegrity({ expectHead: head });
  index.putRows([row(created.uid, { nextDueAt: 5 })]);
  assert.ok(index.changeMark().rows > m2.rows, "a second index write left the mark");
});

test("identity digests: equal values agree within a vault, differ between vaults, name nothing", async () => {
  const [a, b] = [await tempVault(), await tempVault()];
  cleanups.push(
    () => a.cleanup(),
    () => b.cleanup(),
  );
  const da = a.store.scheduleIndex().digest("login\u0000default\u0000alice");
  assert.equal(a.store.scheduleIndex().digest("login\u0000default\u0000alice"), da);
  assert.notEqual(b.store.scheduleIndex().digest("login\u0000default\u0000alice"), da);
  assert.notEqual(a.store.scheduleIndex().digest("login\u0000default\u0000bob"), da);
  assert.ok(!da.includes("alice"));
});
