import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { RekeyError } from "../errors.js";
import { type TempVault, tempVault } from "../testing/vault.js";
import { asyncVaultStore, isAsyncVaultStore, toAsyncStore } from "./async-store.js";
import { getFieldValue, newRecord, setFieldValue } from "./record.js";

let v: TempVault | undefined;
afterEach(() => {
  v?.cleanup();
  v = undefined;
});

function user(keyId: string) {
  const r = newRecord("pamUser", "alice");
  setFieldValue(r, "login", "alice");
  setFieldValue(r, "aws_access_key_id", keyId);
  return r;
}

describe("asyncVaultStore over the local SQLite vault", () => {
  test("methods return promises; a synchronous failure becomes a rejection", async () => {
    v = await tempVault();
    const store = asyncVaultStore(v.store);
    const created = await store.createRecord(user("AKIA1"), { actor: "t" });
    assert.equal((await store.getRecord(created.uid))?.record.title, "alice");
    const pending = store.saveRecord(created.uid, user("AKIA2"), { expectedRevision: 99, actor: "t" });
    assert.ok(pending instanceof Promise);
    await assert.rejects(pending, (e) => e instanceof RekeyError && e.kind === "conflict");
  });

  test("commit is atomic on SQLite: a stale save in the batch undoes the whole batch", async () => {
    v = await tempVault();
    const store = asyncVaultStore(v.store);
    const a = await store.createRecord(user("AKIAA"), { actor: "t" });
    const b = await store.createRecord(user("AKIAB"), { actor: "t" });
    await assert.rejects(
      store.commit(
        [
          { op: "saveRecord", uid: a.uid, record: user("AKIAA2"), expectedRevision: a.revision },
          { op: "putJournal", entry: { id: "j", recordUid: a.uid, kind: "rotation", state: {} } },
          { op: "saveRecord", uid: b.uid, record: user("AKIAB2"), expectedRevision: b.revision + 5 },
        ],
        { actor: "t" },
      ),
      (e) => e instanceof RekeyError && e.kind === "conflict",
    );
    assert.equal(getFieldValue((await store.getRecord(a.uid))!.record, "aws_access_key_id"), "AKIAA");
    assert.deepEqual(await store.listJournal(), []);

    const { saved } = await store.commit(
      [
        { op: "saveRecord", uid: a.uid, record: user("AKIAA3"), expectedRevision: a.revision },
        { op: "audit", event: { action: "rotation.complete", recordUid: a.uid, actor: "t" } },
      ],
      { actor: "t" },
    );
    assert.equal(saved[0]?.revision, a.revision + 1);
    assert.equal((await store.listAudit({ recordUid: a.uid, limit: 1 }))[0]?.action, "rotation.complete");
  });
});

describe("toAsyncStore", () => {
  test("wraps a synchronous store once; an async store is returned as is", async () => {
    v = await tempVault();
    const wrapped = toAsyncStore(v.store);
    assert.equal(isAsyncVaultStore(v.store), false);
    assert.equal(isAsyncVaultStore(wrapped), true);
    assert.equal(toAsyncStore(wrapped), wrapped);
    // A two-phase save request is simply a save on a backend without transactions.
    const created = await wrapped.createRecord(user("AKIA1"), { actor: "t" });
    const { saved } = await wrapped.commit(
      [
        {
          op: "saveRecord",
          uid: created.uid,
          record: user("AKIA2"),
          expectedRevision: created.revision,
          transaction: "rotation",
        },
      ],
      { actor: "t" },
    );
    assert.equal(getFieldValue(saved[0]!.record, "aws_access_key_id"), "AKIA2");
    assert.equal(wrapped.completeTransaction, undefined);
  });
});
