/**
 * The scoped open check (openVault `check: "scoped"`, for commands that read one record): what it still
 * catches at open and on each read, that the full check runs before any listing, and the one rollback it
 * leaves to the full check. Real vault files, edited behind rekey's back as an attacker with write access to
 * the file (but not the vault key) would.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { editVaultFile, isKind } from "../../testing/errors.js";
import { tempVault } from "../../testing/vault.js";
import { getFieldValue, newRecord, setFieldValue } from "../../vault/record.js";
import { openVault } from "./sqlite-open.js";

const integrity = (...texts: string[]) => isKind("integrity", ...texts);

interface RecordsRow {
  uid: string;
  revision: number;
  title_mac: Buffer;
  created_at: string;
  row_mac: Buffer;
}

/**
 * alice at revision 2 (her revision-1 records row kept, as an older copy of the file would hold it), bob, and
 * carol deleted (her last live records row kept).
 */
async function threeRecords() {
  const v = await tempVault();
  const r = newRecord("pamUser", "alice");
  setFieldValue(r, "aws_secret_access_key", "secret-1", { type: "secret" });
  const alice = v.store.createRecord(r, { actor: "t" });
  v.store.close();
  const aliceRev1 = recordsRow(v.path, alice.uid);
  const s = await openVault(v.path, { keyFile: v.keyFile });
  setFieldValue(r, "aws_secret_access_key", "secret-2");
  s.saveRecord(alice.uid, r, { expectedRevision: 1, actor: "t" });
  const bob = s.createRecord(newRecord("login", "bob"), { actor: "t" });
  const carol = s.createRecord(newRecord("login", "carol"), { actor: "t" });
  s.close();
  const carolLive = recordsRow(v.path, carol.uid);
  const s2 = await openVault(v.path, { keyFile: v.keyFile });
  s2.deleteRecord(carol.uid, { expectedRevision: 1, actor: "t" });
  s2.close();
  const open = (check: "full" | "scoped") => openVault(v.path, { keyFile: v.keyFile }, { check });
  return { ...v, alice: alice.uid, bob: bob.uid, carol: carol.uid, aliceRev1, carolLive, open };
}

function recordsRow(path: string, uid: string): RecordsRow {
  let row: RecordsRow | undefined;
  editVaultFile(path, (db) => {
    row = db.prepare("SELECT * FROM records WHERE uid = ?").get(uid) as RecordsRow;
  });
  return row!;
}

function putRecordsRow(db: Database.Database, row: RecordsRow): void {
  db.prepare(
    "INSERT OR REPLACE INTO records (uid, revision, title_mac, created_at, row_mac) VALUES (?, ?, ?, ?, ?)",
  ).run(row.uid, row.revision, row.title_mac, row.created_at, row.row_mac);
}

test("scoped: an untouched vault reads by UID and by title, lists and verifies as with the full check", async (t) => {
  const v = await threeRecords();
  t.after(() => v.cleanup());
  const s = await v.open("scoped");
  t.after(() => s.close());
  assert.equal(getFieldValue(s.getRecord(v.alice)!.record, "aws_secret_access_key"), "secret-2");
  assert.deepEqual(
    s.findByTitle("bob").map((r) => r.uid),
    [v.bob],
  );
  assert.equal(s.getRecord(v.carol), undefined);
  assert.deepEqual(
    s.listRecords().map((r) => r.uid),
    [v.alice, v.bob],
  );
  s.checkIntegrity();
});

test("scoped: what it still refuses at open (counts, journal, audit tail) and on the record it reads", async (t) => {
  const v = await threeRecords();
  t.after(() => v.cleanup());
  const pristine = readFileSync(v.path);
  const atOpen: Array<[string, (db: Database.Database) => void, string]> = [
    ["a live record's row deleted", (db) => db.exec(`DELETE FROM records WHERE uid = '${v.bob}'`), "records"],
    ["a deleted record's row put back", (db) => putRecordsRow(db, v.carolLive), "records"],
    [
      "the audit log cut back",
      (db) => db.exec("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)"),
      "audit",
    ],
  ];
  for (const [name, tamper, what] of atOpen) {
    writeFileSync(v.path, pristine);
    editVaultFile(v.path, tamper);
    await assert.rejects(v.open("scoped"), integrity("failed its integrity check", what), name);
  }
  const onRead: Array<
    [string, (db: Database.Database) => void, (s: Awaited<ReturnType<typeof v.open>>) => unknown, string]
  > = [
    [
      "alice's records row put back to revision 1 (her revision 2 still saved)",
      (db) => putRecordsRow(db, v.aliceRev1),
      (s) => s.getRecord(v.alice),
      "newest saved version is 2 (rolled back)",
    ],
    [
      "the same, found by title",
      (db) => putRecordsRow(db, v.aliceRev1),
      (s) => s.findByTitle("alice"),
      "rolled back",
    ],
    [
      "carol's row put back and bob's deleted (the count kept): carol's newest version is her deletion",
      (db) => {
        putRecordsRow(db, v.carolLive);
        db.exec(`DELETE FROM records WHERE uid = '${v.bob}'`);
      },
      (s) => s.getRecord(v.carol),
      "newest saved version is 2 (rolled back)",
    ],
    [
      "alice's pointer edited",
      (db) => db.exec(`UPDATE records SET created_at = 'x' WHERE uid = '${v.alice}'`),
      (s) => s.getRecord(v.alice),
      `record ${v.alice}`,
    ],
    [
      "alice's ciphertext edited",
      (db) =>
        db.exec(`UPDATE record_versions SET actor = 'mallory' WHERE uid = '${v.alice}' AND revision = 2`),
      (s) => s.getRecord(v.alice),
      `record ${v.alice}`,
    ],
  ];
  for (const [name, tamper, read, what] of onRead) {
    writeFileSync(v.path, pristine);
    editVaultFile(v.path, tamper);
    const s = await v.open("scoped");
    try {
      assert.throws(() => read(s), integrity(what), name);
      // The rollbacks: the full check refuses the same file at open (edits are found on read by both).
      if (what.includes("rolled back")) {
        await assert.rejects(v.open("full"), integrity("failed its integrity check"), name);
      }
    } finally {
      s.close();
    }
  }
});

test("scoped: another record tampered with: the untouched one is still read, any listing runs the full check first", async (t) => {
  const v = await threeRecords();
  t.after(() => v.cleanup());
  editVaultFile(v.path, (db) => putRecordsRow(db, v.aliceRev1));
  // With the full check this vault does not open at all; scoped, bob (untouched) is read: see sqlite-open.ts.
  await assert.rejects(v.open("full"), integrity("records"));
  const s = await v.open("scoped");
  t.after(() => s.close());
  assert.equal(s.getRecord(v.bob)?.record.title, "bob");
  assert.throws(() => s.listRecords(), integrity("records"));
  assert.throws(() => s.listRecordsPage({}, 0, 10), integrity("records"));
  assert.throws(() => s.exportRows(), integrity("records"));
  assert.throws(() => s.scheduleIndex().listRows(), integrity("records"));
  assert.throws(() => s.checkIntegrity(), integrity("records"));
});

test("scoped: left to the full check: alice rolled back with her newer version deleted and the count kept", async (t) => {
  const v = await threeRecords();
  t.after(() => v.cleanup());
  editVaultFile(v.path, (db) => {
    putRecordsRow(db, v.aliceRev1);
    // Her revision 2 moved to a UID no record has: the versions count stays as signed.
    db.exec(`UPDATE record_versions SET uid = 'planted' WHERE uid = '${v.alice}' AND revision = 2`);
  });
  const s = await v.open("scoped");
  t.after(() => s.close());
  // An older copy of alice made by rekey (never a forged one): this is what the scoped check does not see...
  assert.equal(getFieldValue(s.getRecord(v.alice)!.record, "aws_secret_access_key"), "secret-1");
  // ...and what every listing, the gateway, backups and audit verify still report.
  assert.throws(() => s.listRecords(), integrity("records"));
  await assert.rejects(v.open("full"), integrity("records"));
});
