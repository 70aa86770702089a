/**
 * The signed vault head: rows deleted or rolled back with plain SQL, an older copy of one record or of the
 * whole file, and the upgrade of a vault written before the head existed. Real vault files, edited behind
 * rekey's back as an attacker with write access to the file (but not the vault key) would.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { RekeyError } from "../../errors.js";
import { editVaultFile, isKind } from "../../testing/errors.js";
import { tempVault } from "../../testing/vault.js";
import { newRecord, setFieldValue } from "../../vault/record.js";
import { openVault } from "./sqlite-open.js";

const integrity = (...texts: string[]) => isKind("integrity", ...texts);

/** A vault with two records (alice at revision 2), a folder, a journal entry and two history rows. */
async function busyVault() {
  const v = await tempVault();
  const r = newRecord("pamUser", "alice");
  setFieldValue(r, "aws_secret_access_key", "secret-1", { type: "secret" });
  const alice = v.store.createRecord(r, { actor: "t" });
  setFieldValue(r, "aws_secret_access_key", "secret-2");
  v.store.saveRecord(alice.uid, r, { expectedRevision: 1, actor: "t" });
  const bob = v.store.createRecord(newRecord("login", "bob"), { actor: "t" });
  v.store.createFolder("F", { actor: "t" });
  v.store.putJournal({ id: "j1", recordUid: alice.uid, kind: "rotation", state: { phase: "intent" } });
  for (const id of ["h1", "h2"]) {
    v.store.appendRotationHistory(
      { id, recordUid: alice.uid, startedAt: new Date().toISOString(), outcome: "rotated" },
      { action: "gateway.rotation", actor: "t", details: { outcome: "rotated" } },
    );
  }
  v.store.close();
  const reopen = (opts: { expectHeadFile?: string } = {}) => openVault(v.path, { keyFile: v.keyFile }, opts);
  return { ...v, alice: alice.uid, bob: bob.uid, reopen };
}

test("a row deleted with plain SQL (record, version, history, journal, folder) is refused when the vault opens", async (t) => {
  const v = await busyVault();
  t.after(() => v.cleanup());
  const pristine = readFileSync(v.path);
  const cases: Array<[string, string, string]> = [
    ["a live record", `DELETE FROM records WHERE uid = '${v.bob}'`, "records (1 live, the head signed 2)"],
    ["an old version", `DELETE FROM record_versions WHERE uid = '${v.alice}' AND revision = 1`, "versions"],
    [
      "the newest version and the pointer to it",
      `DELETE FROM record_versions WHERE uid = '${v.alice}' AND revision = 2; UPDATE records SET revision = 1 WHERE uid = '${v.alice}'`,
      "records",
    ],
    ["a rotation-history row", "DELETE FROM rotation_history WHERE seq = 2", "rotation history"],
    ["a journal entry", "DELETE FROM journal", "journal (0 entries, the head signed 1"],
    ["a folder", "DELETE FROM folders", "folders"],
  ];
  for (const [name, sql, what] of cases) {
    writeFileSync(v.path, pristine);
    editVaultFile(v.path, (db) => db.exec(sql));
    await assert.rejects(v.reopen(), integrity("failed its integrity check", what), name);
  }
  writeFileSync(v.path, pristine);
  const s = await v.reopen();
  t.after(() => s.close());
  assert.deepEqual(s.checkIntegrity(), { generation: 8 });
});

test("one record rolled back to an older copy, with the audit log cut back to its old signed head, is detected", async (t) => {
  const v = await busyVault();
  t.after(() => v.cleanup());
  const old = readFileSync(v.path); // the attacker's older copy: alice at revision 2
  const s = await v.reopen();
  const r = s.getRecord(v.alice)!;
  setFieldValue(r.record, "aws_secret_access_key", "secret-3");
  s.saveRecord(v.alice, r.record, { expectedRevision: 2, actor: "t" });
  s.appendAudit({ action: "rotation.complete", recordUid: v.alice, actor: "t", details: {} });
  s.close();
  const oldCopy = join(v.dir, "old.db");
  writeFileSync(oldCopy, old);
  const rollback = (withVaultHead: boolean) =>
    editVaultFile(v.path, (db) => {
      db.exec(`ATTACH '${oldCopy}' AS old`);
      db.exec(`DELETE FROM records WHERE uid = '${v.alice}';
        INSERT INTO records SELECT * FROM old.records WHERE uid = '${v.alice}';
        DELETE FROM record_versions WHERE uid = '${v.alice}' AND revision = 3;
        DELETE FROM audit WHERE seq > (SELECT MAX(seq) FROM old.audit);
        UPDATE meta SET value = (SELECT value FROM old.meta WHERE key = 'audit_head') WHERE key = 'audit_head'`);
      if (withVaultHead) {
        db.exec(
          "UPDATE meta SET value = (SELECT value FROM old.meta WHERE key = 'vault_head') WHERE key = 'vault_head'",
        );
      }
    });
  const current = readFileSync(v.path);
  rollback(false);
  await assert.rejects(v.reopen(), integrity("the audit log's head"));
  writeFileSync(v.path, current);
  // The other writes since the copy (here: none but alice's) are what gives a full rollback of the head away:
  // add one to bob first, as any busy vault has.
  const s2 = await v.reopen();
  const b = s2.getRecord(v.bob)!;
  s2.saveRecord(v.bob, b.record, { expectedRevision: b.revision, actor: "t" });
  s2.close();
  rollback(true);
  await assert.rejects(v.reopen(), integrity("records"));
});

test("a record rolled back while a process has the vault open is an integrity error on save, never a conflict", async (t) => {
  const v = await busyVault();
  t.after(() => v.cleanup());
  const s = await v.reopen();
  t.after(() => s.close());
  const r = s.getRecord(v.alice)!;
  // Revision 1's pointer row, as it was in an older copy (its row MAC is valid: rekey wrote it).
  editVaultFile(v.path, (db) => db.exec(`UPDATE records SET revision = 1 WHERE uid = '${v.alice}'`));
  assert.throws(
    () => s.saveRecord(v.alice, r.record, { expectedRevision: 2, actor: "t" }),
    integrity(`record ${v.alice}`, "rolled back"),
  );
  assert.throws(
    () => s.saveRecord(v.alice, r.record, { expectedRevision: 1, actor: "t" }),
    integrity("rolled back"),
  );
});

test("the whole file rolled back: caught against the head kept elsewhere (--expect-head, REKEY_EXPECT_HEAD_FILE)", async (t) => {
  const v = await busyVault();
  t.after(() => v.cleanup());
  const old = readFileSync(v.path);
  const s = await v.reopen();
  const oldHead = s.head();
  assert.match(oldHead, /^rekey-head-v1:8:\d+:[0-9a-f]{64}:[0-9a-f]{64}:[0-9a-f]{64}$/);
  s.deleteRecord(v.bob, { expectedRevision: 1, actor: "t" });
  const head = s.head();
  assert.deepEqual(s.checkIntegrity({ expectHead: oldHead }), { generation: 9 }, "a later state passes");
  assert.deepEqual(s.checkIntegrity({ expectHead: head }), { generation: 9 });
  s.close();

  writeFileSync(v.path, old); // the attacker restores the older copy: consistent in itself
  const rolled = await v.reopen();
  assert.deepEqual(rolled.checkIntegrity(), { generation: 8 });
  assert.throws(
    () => rolled.checkIntegrity({ expectHead: head, from: "the ticket" }),
    integrity("does not match the ticket", "generation 8, older than the expected head's 9", "older"),
  );
  // A forged or garbled line is not accepted as an anchor.
  const forged = head.replace(/^rekey-head-v1:9:/, "rekey-head-v1:99:");
  assert.throws(() => rolled.checkIntegrity({ expectHead: forged }), integrity("not made by this vault"));
  assert.throws(
    () => rolled.checkIntegrity({ expectHead: "nonsense" }),
    (e: unknown) => e instanceof RekeyError && e.kind === "usage",
  );
  // A fork: the old copy written to until its generation passes the anchor is still not a continuation.
  const r = rolled.getRecord(v.alice)!;
  rolled.saveRecord(v.alice, r.record, { expectedRevision: r.revision, actor: "t" });
  rolled.saveRecord(v.alice, r.record, { expectedRevision: r.revision + 1, actor: "t" });
  assert.throws(() => rolled.checkIntegrity({ expectHead: head }), integrity("another history"));
  rolled.close();

  // REKEY_EXPECT_HEAD_FILE: created at the first open, rewritten after each write, checked at every open.
  writeFileSync(v.path, old);
  const anchor = join(v.dir, "vault.head");
  const a = await v.reopen({ expectHeadFile: anchor });
  assert.equal(readFileSync(anchor, "utf8").trim(), oldHead);
  const b = a.getRecord(v.bob)!;
  a.saveRecord(v.bob, b.record, { expectedRevision: b.revision, actor: "t" });
  const after = a.head();
  a.close();
  assert.equal(readFileSync(anchor, "utf8").trim(), after);
  writeFileSync(v.path, old);
  await assert.rejects(v.reopen({ expectHeadFile: anchor }), integrity(`does not match ${anchor}`, "older"));
  (await v.reopen()).close(); // without the anchor the old copy looks fine: that is what the anchor is for
});

test("a vault written before the signed head (schema 1) is upgraded once, audited, then checked like any other", async (t) => {
  const v = await busyVault();
  t.after(() => v.cleanup());
  // Schema 1 is schema 2 without the vault head: exactly the file an older rekey wrote.
  editVaultFile(v.path, (db) =>
    db.exec(
      "DELETE FROM meta WHERE key = 'vault_head'; UPDATE meta SET value = '1' WHERE key = 'schema_version'",
    ),
  );
  const v1 = readFileSync(v.path);
  const s = await v.reopen();
  const audit = s.listAudit();
  assert.deepEqual(audit.at(-1)?.details, { fromSchema: 1, toSchema: 2 });
  assert.equal(audit.at(-1)?.action, "vault.upgrade");
  assert.equal(s.verifyAudit().ok, true);
  assert.deepEqual(s.checkIntegrity(), { generation: 1 });
  s.close();
  editVaultFile(v.path, (db) => {
    const { value } = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as {
      value: string;
    };
    assert.equal(value, "2");
  });
  (await v.reopen()).close(); // no second upgrade
  // A schema-1 file with a row already deleted is upgraded as it is (nothing to compare with), but a
  // broken audit log is refused rather than signed over.
  writeFileSync(v.path, v1);
  editVaultFile(v.path, (db) => db.exec("DELETE FROM audit WHERE seq = 3"));
  await assert.rejects(v.reopen(), integrity("cannot be upgraded", "entry 3"));
});
