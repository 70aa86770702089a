import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { RekeyError } from "../errors.js";
import { asyncVaultStore, isAsyncVaultStore, toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { type TempVault, tempVault } from "../testing/vault.js";
import type { AsyncVaultStore, WriteOp } from "./async-store.js";
import { getFieldValue, newRecord, setFieldValue } from "./record.js";
import { capabilitiesOf, requireCapabilitiesFor, requireCapability } from "./store-capabilities.js";

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

describe("commit's record and folder ops, capabilities", () => {
  test("createFolder (by ref), createRecord and deleteRecord commit together on SQLite, or not at all", async () => {
    v = await tempVault();
    const store = asyncVaultStore(v.store);
    const doomed = await store.createRecord(user("AKIAD"), { actor: "t" });
    const stale = await store.createRecord(user("AKIAS"), { actor: "t" });
    const batch = (staleRevision: number): WriteOp[] => [
      { op: "createFolder", name: "Prod", shared: true, ref: "prod" },
      { op: "createFolder", name: "db", parentUid: { ref: "prod" }, ref: "db" },
      { op: "createRecord", record: user("AKIAN"), folderUid: { ref: "db" }, uid: "NEWUID0000000000000001" },
      { op: "deleteRecord", uid: doomed.uid, expectedRevision: doomed.revision },
      { op: "saveRecord", uid: stale.uid, record: user("AKIAS2"), expectedRevision: staleRevision },
    ];
    await assert.rejects(
      store.commit(batch(stale.revision + 3), { actor: "t" }),
      (e) => e instanceof RekeyError && e.kind === "conflict",
    );
    assert.deepEqual(await store.listFolders(), [], "no folder left behind");
    assert.equal(await store.getRecord("NEWUID0000000000000001"), undefined);
    assert.ok(await store.getRecord(doomed.uid), "the delete was undone too");

    const res = await store.commit(batch(stale.revision), { actor: "t" });
    const [prod, db] = res.folders ?? [];
    assert.deepEqual([prod?.name, prod?.shared, db?.name, db?.parentUid], ["Prod", true, "db", prod?.uid]);
    assert.equal(res.created?.[0]?.uid, "NEWUID0000000000000001");
    assert.equal(res.created?.[0]?.folderUid, db?.uid);
    assert.equal(await store.getRecord(doomed.uid), undefined);
    assert.equal(res.saved[0]?.revision, stale.revision + 1);
    await assert.rejects(
      store.commit([{ op: "createRecord", record: user("X"), folderUid: { ref: "nope" } }], { actor: "t" }),
      /folder ref "nope" names no earlier createFolder op/,
    );
  });

  test("the local vault has every capability; requireCapability refuses what a store lacks, naming it", async () => {
    v = await tempVault();
    const store = asyncVaultStore(v.store);
    assert.ok(Object.values(capabilitiesOf(store)).every(Boolean));
    requireCapability(store, "integrityHead", "rekey audit head");
    assert.match(await store.head(), /\S/);
    assert.ok((await store.checkIntegrity()).generation >= 1);

    const limited: AsyncVaultStore = {
      ...store,
      description: "a limited vault",
      capabilities: { ...capabilitiesOf(store), recordHistory: false },
    };
    assert.throws(
      () => requireCapability(limited, "recordHistory", "rekey record history"),
      (e) =>
        e instanceof RekeyError &&
        e.kind === "usage" &&
        /rekey record history needs the record's earlier versions, which a limited vault does not have/.test(
          e.message,
        ) &&
        e.details?.capability === "recordHistory",
    );
    const keeperLike: AsyncVaultStore = {
      ...store,
      description: "a folder-only vault",
      capabilities: {
        ...capabilitiesOf(store),
        recordsAtRoot: false,
        chosenRecordUids: false,
        createSharedFolders: false,
      },
    };
    const inFolder: WriteOp = { op: "createRecord", record: user("A"), folderUid: "F1" };
    requireCapabilitiesFor(
      keeperLike,
      [inFolder, { op: "createFolder", name: "sub", parentUid: "F1" }],
      "import",
    );
    for (const [op, capability] of [
      [{ op: "createRecord", record: user("A"), folderUid: null }, "recordsAtRoot"],
      [{ ...inFolder, uid: "CHOSEN00000000000000001" }, "chosenRecordUids"],
      [{ op: "createFolder", name: "top", shared: true }, "createSharedFolders"],
    ] as Array<[WriteOp, string]>) {
      assert.throws(
        () => requireCapabilitiesFor(keeperLike, [inFolder, op], "rekey import csv"),
        (e) =>
          e instanceof RekeyError &&
          e.details?.capability === capability &&
          /^rekey import csv needs/.test(e.message),
      );
    }
    // A store that declares nothing has what its methods show.
    const bare: AsyncVaultStore = {
      ...store,
      capabilities: undefined,
      head: undefined,
      addKeyFileSlot: undefined,
    };
    assert.equal(capabilitiesOf(bare).integrityHead, false);
    assert.equal(capabilitiesOf(bare).localKeySlots, false);
    assert.equal(capabilitiesOf(bare).recordHistory, true);
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
