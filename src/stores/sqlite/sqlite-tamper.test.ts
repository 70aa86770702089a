/** Bad files and tampering: every case is a clear error naming the problem, never wrong data. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type Database from "better-sqlite3";
import { RekeyError } from "../../errors.js";
import { Secret } from "../../secret.js";
import { editVaultFile, isKind } from "../../testing/errors.js";
import { TEST_KDF, tempDir, tempVault } from "../../testing/vault.js";
import { newRecord, setFieldValue } from "../../vault/record.js";
import { initVault, openVault } from "./sqlite-open.js";

function flipByte(buf: Buffer, at = buf.length >> 1): Buffer {
  const out = Buffer.from(buf);
  out[at] = out[at]! ^ 0x40;
  return out;
}

async function vaultWithRecord() {
  const v = await tempVault();
  const r = newRecord("pamUser", "alice");
  setFieldValue(r, "aws_secret_access_key", "secret-1", { type: "secret" });
  const a = v.store.createRecord(r, { actor: "t" });
  setFieldValue(r, "aws_secret_access_key", "secret-2");
  v.store.saveRecord(a.uid, r, { expectedRevision: 1, actor: "t" });
  v.store.close();
  const reopen = () => openVault(v.path, { keyFile: v.keyFile });
  return { ...v, uid: a.uid, reopen };
}

test("a flipped byte in a stored ciphertext is an integrity error naming the record", async (t) => {
  const v = await vaultWithRecord();
  t.after(() => v.cleanup());
  editVaultFile(v.path, (db) => {
    const row = db.prepare("SELECT body FROM record_versions WHERE uid = ? AND revision = 2").get(v.uid) as {
      body: Buffer;
    };
    db.prepare("UPDATE record_versions SET body = ? WHERE uid = ? AND revision = 2").run(
      flipByte(row.body),
      v.uid,
    );
  });
  const s = await v.reopen();
  t.after(() => s.close());
  const named = isKind("integrity", `record ${v.uid} revision 2`, "backup");
  assert.throws(() => s.getRecord(v.uid), named);
  assert.throws(() => s.listRecords(), named);
  assert.throws(() => s.history(v.uid), named);
  assert.throws(() => s.findByTitle("alice"), named);
});

test("a flipped byte in a wrapped data key, a moved ciphertext or an edited actor are integrity errors", async (t) => {
  const v = await vaultWithRecord();
  t.after(() => v.cleanup());
  const cases: Array<
    [string, (db: Database.Database) => void, (s: Awaited<ReturnType<typeof v.reopen>>) => unknown]
  > = [
    [
      "dek",
      (db) => {
        const { dek } = db.prepare("SELECT dek FROM record_versions WHERE revision = 2").get() as {
          dek: Buffer;
        };
        db.prepare("UPDATE record_versions SET dek = ? WHERE revision = 2").run(flipByte(dek));
      },
      (s) => s.getRecord(v.uid),
    ],
    [
      "swap: revision 1's ciphertext moved into revision 2 (a rollback of the secret)",
      (db) =>
        db.exec(`UPDATE record_versions SET (dek, body) = (SELECT dek, body FROM record_versions WHERE revision = 1)
                 WHERE revision = 2`),
      (s) => s.getRecord(v.uid),
    ],
    [
      "actor rewritten",
      (db) => db.exec("UPDATE record_versions SET actor = 'mallory' WHERE revision = 1"),
      (s) => s.history(v.uid),
    ],
  ];
  const pristine = readFileSync(v.path);
  // A pointer rolled back to revision 1 no longer even opens: its (uid, revision) is not the signed one.
  editVaultFile(v.path, (db) => db.exec("UPDATE records SET revision = 1"));
  await assert.rejects(v.reopen(), isKind("integrity", "records", "rolled back"));
  for (const [name, tamper, read] of cases) {
    writeFileSync(v.path, pristine);
    editVaultFile(v.path, tamper);
    const s = await v.reopen();
    try {
      assert.throws(() => read(s), isKind("integrity", `record ${v.uid}`), name);
    } finally {
      s.close();
    }
  }
});

test("tampered folder names and journal state are integrity errors naming the object", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const f = v.store.createFolder("F", { actor: "t" });
  v.store.putJournal({ id: "j1", recordUid: "R", kind: "rotation", state: { a: 1 } });
  v.store.close();
  editVaultFile(v.path, (db) => {
    const { name_ct } = db.prepare("SELECT name_ct FROM folders").get() as { name_ct: Buffer };
    db.prepare("UPDATE folders SET name_ct = ?").run(flipByte(name_ct));
  });
  const s = await openVault(v.path, { keyFile: v.keyFile });
  t.after(() => s.close());
  assert.throws(() => s.listFolders(), isKind("integrity", `folder ${f.uid}`));
  // A journal row moved to another record: refused when the vault opens (the signed head covers the row).
  editVaultFile(v.path, (db) => db.exec("UPDATE journal SET record_uid = 'OTHER'"));
  await assert.rejects(openVault(v.path, { keyFile: v.keyFile }), isKind("integrity", "journal"));
});

test("the audit chain catches an edited, a deleted (middle or last) and an inserted entry", async (t) => {
  const v = await vaultWithRecord(); // entries: 1 init, 2 create, 3 update
  t.after(() => v.cleanup());
  const s0 = await v.reopen();
  s0.appendAudit({
    action: "rotation.complete",
    recordUid: v.uid,
    actor: "t",
    details: { accessKeyId: "AKIA1" },
  });
  s0.appendAudit({
    action: "rotation.complete",
    recordUid: v.uid,
    actor: "t",
    details: { accessKeyId: "AKIA2" },
  });
  assert.deepEqual(s0.verifyAudit(), { ok: true, entries: 5 });
  s0.close();
  const pristine = readFileSync(v.path);
  const cases: Array<[string, string, number]> = [
    ["edited details", `UPDATE audit SET details = '{"accessKeyId":"AKIA9"}' WHERE seq = 4`, 4],
    ["edited actor", "UPDATE audit SET actor = 'someone else' WHERE seq = 2", 2],
    ["deleted middle entry", "DELETE FROM audit WHERE seq = 3", 3],
    ["deleted last entry", "DELETE FROM audit WHERE seq = 5", 5],
    ["deleted last two, head rolled back", "DELETE FROM audit WHERE seq >= 4", 4],
    [
      "inserted entry",
      "INSERT INTO audit (seq, at, action, record_uid, actor, details, hash) SELECT 6, at, action, record_uid, actor, details, hash FROM audit WHERE seq = 5",
      6,
    ],
    [
      "renumbered after a delete",
      "DELETE FROM audit WHERE seq = 2; UPDATE audit SET seq = seq - 1 WHERE seq > 2",
      2,
    ],
  ];
  for (const [name, sql, seq] of cases) {
    writeFileSync(v.path, pristine);
    editVaultFile(v.path, (db) => db.exec(sql));
    // A log that visibly does not end at its signed head is refused when the vault opens.
    const s = await v.reopen().catch((err: unknown) => {
      assert.ok(isKind("integrity", "audit log")(err), `${name}: ${err}`);
      return undefined;
    });
    if (!s) continue;
    try {
      const result = s.verifyAudit();
      assert.equal(result.ok, false, name);
      assert.equal(result.problem?.seq, seq, `${name}: ${result.problem?.reason}`);
    } finally {
      s.close();
    }
  }
  // With the tail cut off, rekey refuses to open (a write would hide the gap) and changes nothing.
  writeFileSync(v.path, pristine);
  editVaultFile(v.path, (db) => db.exec("DELETE FROM audit WHERE seq = 5"));
  const before = readFileSync(v.path);
  await assert.rejects(v.reopen(), isKind("integrity", "audit"));
  assert.deepEqual(readFileSync(v.path), before);
});

test("not a rekey vault: a missing, empty, random or foreign SQLite file gets a clear error and is left untouched", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = { keyFile: join(dir, "k") };
  await assert.rejects(
    openVault(join(dir, "missing.db"), src),
    isKind("not-found", "no vault at", "rekey init"),
  );

  const empty = join(dir, "empty.db");
  writeFileSync(empty, "");
  await assert.rejects(
    openVault(empty, src),
    isKind("integrity", `${empty} is not a rekey vault`, "REKEY_HOME"),
  );
  assert.equal(statSync(empty).size, 0, "an empty file stays empty");

  const random = join(dir, "random.db");
  writeFileSync(random, randomBytes(8192));
  await assert.rejects(openVault(random, src), isKind("integrity", "is not a rekey vault", "rekey init"));

  const header = join(dir, "header.db");
  writeFileSync(header, Buffer.concat([Buffer.from("SQLite format 3\0"), randomBytes(8192)]));
  await assert.rejects(
    openVault(header, src),
    (err: unknown) => err instanceof RekeyError && err.kind === "integrity",
  );

  const foreign = join(dir, "foreign.db");
  editVaultFile(foreign, (db) => db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)"));
  await assert.rejects(openVault(foreign, src), isKind("integrity", "is not a rekey vault"));

  const otherMeta = join(dir, "other-meta.db");
  editVaultFile(otherMeta, (db) =>
    db.exec("CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES ('format', 'x')"),
  );
  await assert.rejects(openVault(otherMeta, src), isKind("integrity", "is not a rekey vault"));

  await assert.rejects(openVault(dir, src), isKind("integrity", "not a regular file"));
});

test("a corrupted vault is an integrity error; a newer schema is refused with the upgrade fix", async (t) => {
  const v = await vaultWithRecord();
  t.after(() => v.cleanup());
  const pristine = readFileSync(v.path);

  editVaultFile(v.path, (db) => db.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'"));
  await assert.rejects(v.reopen(), isKind("usage", "schema version 99", "upgrade rekey"));

  writeFileSync(v.path, pristine);
  const fd = openSync(v.path, "r+");
  writeSync(fd, randomBytes(pristine.length - 4096), 0, pristine.length - 4096, 4096); // every page but the first
  closeSync(fd);
  await assert.rejects(v.reopen(), isKind("integrity", "corrupted"));
});

test("a second init never overwrites: conflict naming the path and the way out", async (t) => {
  const v = await vaultWithRecord();
  t.after(() => v.cleanup());
  const before = readFileSync(v.path);
  await assert.rejects(
    initVault(v.path, { passphrase: new Secret("another"), kdf: TEST_KDF }),
    isKind("conflict", `a vault already exists at ${v.path}`, "move the file away"),
  );
  assert.deepEqual(readFileSync(v.path), before);
  const empty = join(v.dir, "empty.db");
  writeFileSync(empty, "");
  await assert.rejects(initVault(empty, { passphrase: new Secret("x"), kdf: TEST_KDF }), isKind("conflict"));
  await assert.rejects(initVault(join(v.dir, "new.db"), {}), isKind("usage", "passphrase"));
  (await v.reopen()).close();
});

test("a key file readable by others is refused when opening, with the chmod fix", async (t) => {
  const v = await vaultWithRecord();
  t.after(() => v.cleanup());
  chmodSync(v.keyFile, 0o640);
  await assert.rejects(v.reopen(), isKind("usage", `chmod 600 ${v.keyFile}`));
});

test("init leaves nothing behind when it fails: no vault file, no new key file", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, "a-file"), "x");
  // The key file cannot be created: nothing is created at all.
  const path = join(dir, "vault.db");
  await assert.rejects(
    initVault(path, { passphrase: new Secret("pw"), keyFile: join(dir, "a-file", "k"), kdf: TEST_KDF }),
    isKind("usage", "cannot create key file"),
  );
  assert.throws(() => statSync(path), /ENOENT/);
  // The key file was created, then the vault directory cannot be: the new key file is removed again.
  const keyFile = join(dir, "new.key");
  await assert.rejects(
    initVault(join(dir, "a-file", "vault.db"), { passphrase: new Secret("pw"), keyFile, kdf: TEST_KDF }),
    isKind("usage", "cannot create the vault directory"),
  );
  assert.throws(() => statSync(keyFile), /ENOENT/);
});
