import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { test } from "node:test";
import { RekeyError } from "../../errors.js";
import { Secret } from "../../secret.js";
import { TEST_PASSPHRASE, tempVault, vaultBytes } from "../../testing/vault.js";
import { getFieldValue, newRecord, setFieldValue } from "../../vault/record.js";
import { openVault, vaultPath } from "./sqlite-open.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TITLE = "payments-service-prod-iam-user";

function awsUser(title = TITLE, secret = SECRET) {
  const r = newRecord("pamUser", title, "rotated monthly by the payments team");
  setFieldValue(r, "login", "payments-svc");
  setFieldValue(r, "aws_access_key_id", "AKIAIOSFODNN7EXAMPLE");
  setFieldValue(r, "aws_secret_access_key", secret, { type: "secret" });
  return r;
}

const isKind = (kind: string, text?: string) => (err: unknown) =>
  err instanceof RekeyError &&
  err.kind === kind &&
  (text === undefined || `${err.message} ${err.hint}`.includes(text));

test("vaultPath: $REKEY_HOME/vault.db, default ~/.rekey", () => {
  assert.equal(vaultPath({ REKEY_HOME: "/srv/rekey" }), "/srv/rekey/vault.db");
  assert.match(vaultPath({ HOME: "/x" }), /\/\.rekey\/vault\.db$/);
});

test("nothing a record holds is readable in the file: not the secret, title, notes, type or folder name", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const folder = v.store.createFolder("Finance Shared Folder", { actor: "test" });
  const created = v.store.createRecord(awsUser(), { folderUid: folder.uid, actor: "test" });
  v.store.putJournal({
    id: "j1",
    recordUid: created.uid,
    kind: "rotation",
    state: { newSecret: `${SECRET}-journal` },
  });
  // While open (WAL holds the data) and after close (checkpointed into the main file).
  for (const phase of ["open", "closed"]) {
    if (phase === "closed") v.store.close();
    const bytes = vaultBytes(v.path);
    for (const needle of [
      SECRET,
      TITLE,
      "payments-svc",
      "rotated monthly",
      "pamUser",
      "Finance Shared Folder",
    ]) {
      for (const enc of [
        Buffer.from(needle),
        Buffer.from(needle).toString("base64"),
        Buffer.from(needle).toString("hex"),
      ]) {
        assert.equal(bytes.indexOf(enc), -1, `${needle} readable in the ${phase} vault file`);
      }
    }
  }
  const again = await openVault(v.path, { keyFile: v.keyFile });
  t.after(() => again.close());
  assert.equal(getFieldValue(again.getRecord(created.uid)!.record, "aws_secret_access_key"), SECRET);
  assert.equal(again.listJournal()[0]?.state.newSecret, `${SECRET}-journal`);
  assert.equal(again.listFolders()[0]?.name, "Finance Shared Folder");
});

test("the vault file, its WAL and the directory are private (0600 / 0700)", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  v.store.createRecord(awsUser(), { actor: "test" });
  assert.equal(statSync(v.path).mode & 0o777, 0o600);
  assert.equal(statSync(`${v.path}-wal`).mode & 0o777, 0o600);
  assert.equal(statSync(`${v.path}-shm`).mode & 0o777, 0o600);
  assert.equal(statSync(v.keyFile).mode & 0o777, 0o600);
  assert.equal(statSync(v.path.replace(/\/vault\.db$/, "")).mode & 0o777, 0o700);
});

test("unlock by passphrase or key file; a wrong passphrase is an auth error naming the vault", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const uid = v.store.createRecord(awsUser(), { actor: "test" }).uid;
  v.store.close();
  const byPass = await openVault(v.path, { passphrase: new Secret(TEST_PASSPHRASE) });
  assert.equal(byPass.getRecord(uid)?.record.title, TITLE);
  byPass.close();
  await assert.rejects(
    openVault(v.path, { passphrase: new Secret("wrong horse") }),
    isKind("auth", `wrong passphrase for vault ${v.path}`),
  );
  // Lazily resolved unlock source: asked only once the file is known to be a vault.
  let asked = false;
  const lazy = await openVault(v.path, async () => {
    asked = true;
    return { keyFile: v.keyFile };
  });
  assert.ok(asked);
  lazy.close();
});

test("records: create, get, find by title, list with filters, save with revisions", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const s = v.store;
  const f = s.createFolder("Shared", { actor: "test" });
  const sub = s.createFolder("Sub", { parentUid: f.uid, actor: "test" });
  assert.deepEqual(s.listFolders(), [
    { uid: f.uid, name: "Shared", parentUid: null, shared: true },
    { uid: sub.uid, name: "Sub", parentUid: f.uid, shared: false },
  ]);
  assert.throws(
    () => s.createFolder("x", { parentUid: "AAAAAAAAAAAAAAAAAAAAAA", actor: "t" }),
    isKind("not-found"),
  );

  const a = s.createRecord(awsUser("alice"), { folderUid: sub.uid, actor: "test" });
  const b = s.createRecord(newRecord("login", "shared-title"), { actor: "test" });
  const c = s.createRecord(newRecord("login", "shared-title"), { actor: "test" });
  assert.equal(a.revision, 1);
  assert.equal(a.folderUid, sub.uid);
  assert.deepEqual(s.getRecord(a.uid), a);
  assert.equal(s.getRecord("AAAAAAAAAAAAAAAAAAAAAA"), undefined);
  assert.deepEqual(
    s.findByTitle("alice").map((r) => r.uid),
    [a.uid],
  );
  assert.deepEqual(
    s.findByTitle("shared-title").map((r) => r.uid),
    [b.uid, c.uid],
  );
  assert.deepEqual(s.findByTitle("Alice"), []);
  assert.deepEqual(
    s.listRecords().map((r) => r.uid),
    [a.uid, b.uid, c.uid],
  );
  assert.deepEqual(
    s.listRecords({ type: "login" }).map((r) => r.uid),
    [b.uid, c.uid],
  );
  assert.deepEqual(
    s.listRecords({ folderUid: sub.uid }).map((r) => r.uid),
    [a.uid],
  );

  const edited = structuredClone(a.record);
  edited.title = "alice-renamed";
  const saved = s.saveRecord(a.uid, edited, { expectedRevision: 1, actor: "test" });
  assert.equal(saved.revision, 2);
  assert.equal(saved.createdAt, a.createdAt);
  assert.deepEqual(s.findByTitle("alice"), []);
  assert.deepEqual(
    s.findByTitle("alice-renamed").map((r) => r.uid),
    [a.uid],
  );

  assert.throws(
    () => s.createRecord(newRecord("login", "dup"), { uid: a.uid, actor: "t" }),
    isKind("conflict"),
  );
  assert.throws(
    () => s.createRecord(newRecord("login", "x"), { uid: "not a uid", actor: "t" }),
    isKind("usage"),
  );
  assert.throws(
    () => s.createRecord(newRecord("login", "x"), { folderUid: "AAAAAAAAAAAAAAAAAAAAAA", actor: "t" }),
    isKind("not-found"),
  );
});

test("a stale save is a conflict naming the record and both revisions; nothing changes", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const a = v.store.createRecord(awsUser(), { actor: "test" });
  v.store.saveRecord(a.uid, awsUser(TITLE, "second"), { expectedRevision: 1, actor: "one" });
  const auditBefore = v.store.listAudit().length;
  assert.throws(
    () => v.store.saveRecord(a.uid, awsUser(TITLE, "stale"), { expectedRevision: 1, actor: "two" }),
    (err: unknown) =>
      isKind("conflict", "re-read the record and apply your change again")(err) &&
      (err as Error).message.includes(a.uid) &&
      (err as Error).message.includes("revision 1") &&
      (err as Error).message.includes("revision 2"),
  );
  assert.throws(() => v.store.deleteRecord(a.uid, { expectedRevision: 1, actor: "two" }), isKind("conflict"));
  assert.equal(v.store.getRecord(a.uid)?.revision, 2);
  assert.equal(v.store.history(a.uid).length, 2);
  assert.equal(v.store.listAudit().length, auditBefore);
});

test("history keeps every version, encrypted, including the tombstone of a delete", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const s = v.store;
  const a = s.createRecord(awsUser(TITLE, "secret-v1"), { actor: "rekey record add" });
  s.saveRecord(a.uid, awsUser(TITLE, "secret-v2"), { expectedRevision: 1, actor: "rotate" });
  s.saveRecord(a.uid, awsUser(TITLE, "secret-v3"), { expectedRevision: 2, actor: "rotate" });
  const h = s.history(a.uid);
  assert.deepEqual(
    h.map((x) => [x.revision, x.actor, getFieldValue(x.record, "aws_secret_access_key"), x.deleted]),
    [
      [1, "rekey record add", "secret-v1", false],
      [2, "rotate", "secret-v2", false],
      [3, "rotate", "secret-v3", false],
    ],
  );
  s.deleteRecord(a.uid, { expectedRevision: 3, actor: "rekey record rm" });
  assert.equal(s.getRecord(a.uid), undefined);
  assert.deepEqual(s.findByTitle(TITLE), []);
  const after = s.history(a.uid);
  assert.equal(after.length, 4);
  assert.deepEqual(after.at(-1)?.deleted, true);
  assert.equal(getFieldValue(after.at(-1)!.record, "aws_secret_access_key"), "secret-v3");
  assert.deepEqual(s.history("AAAAAAAAAAAAAAAAAAAAAA"), []);
  assert.throws(
    () => s.saveRecord(a.uid, awsUser(), { expectedRevision: 4, actor: "t" }),
    isKind("not-found", "deleted"),
  );
  assert.throws(() => s.createRecord(awsUser(), { uid: a.uid, actor: "t" }), isKind("conflict"));
  s.close();
  const bytes = vaultBytes(v.path);
  for (const n of ["secret-v1", "secret-v2", "secret-v3"]) assert.equal(bytes.indexOf(n), -1, n);
});

test("every mutation appends its audit entry (labels, never values) and the chain verifies", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const s = v.store;
  const f = s.createFolder("F", { actor: "rekey folder add" });
  const a = s.createRecord(awsUser(), { folderUid: f.uid, actor: "rekey record add" });
  s.saveRecord(a.uid, awsUser(TITLE, "new-secret"), { expectedRevision: 1, actor: "rekey rotate" });
  s.deleteRecord(a.uid, { expectedRevision: 2, actor: "rekey record rm" });
  s.appendAudit({
    action: "rotation.complete",
    recordUid: a.uid,
    actor: "rekey rotate",
    details: { accessKeyId: "AKIA1" },
  });
  const log = s.listAudit();
  assert.deepEqual(
    log.map((e) => [e.seq, e.action, e.actor]),
    [
      [1, "vault.init", "test"],
      [2, "folder.create", "rekey folder add"],
      [3, "record.create", "rekey record add"],
      [4, "record.update", "rekey rotate"],
      [5, "record.delete", "rekey record rm"],
      [6, "rotation.complete", "rekey rotate"],
    ],
  );
  assert.deepEqual(log[3]?.details, {
    revision: 2,
    fieldsChanged: ["aws_secret_access_key"],
    propertiesChanged: [],
  });
  assert.ok(!JSON.stringify(log).includes(SECRET) && !JSON.stringify(log).includes("new-secret"));
  assert.ok(!JSON.stringify(log).includes(TITLE) && !JSON.stringify(log).includes('"F"'));
  assert.deepEqual(
    s.listAudit({ recordUid: a.uid }).map((e) => e.seq),
    [3, 4, 5, 6],
  );
  assert.deepEqual(
    s.listAudit({ limit: 2 }).map((e) => e.seq),
    [5, 6],
  );
  assert.deepEqual(s.verifyAudit(), { ok: true, entries: 6 });
  assert.throws(
    () => s.appendAudit({ action: "x", actor: "t", details: { secretAccessKey: "oops" } }),
    (err: unknown) => err instanceof RekeyError && err.kind === "internal",
  );
  assert.equal(s.listAudit().length, 6);
});

test("a failed mutation leaves nothing half-changed; transaction() is all or nothing and nests", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const s = v.store;
  assert.throws(() =>
    s.transaction(() => {
      s.createFolder("F", { actor: "t" });
      s.createRecord(awsUser("one"), { actor: "t" });
      throw new Error("boom");
    }),
  );
  assert.deepEqual([s.listRecords().length, s.listFolders().length, s.listAudit().length], [0, 0, 1]);

  // A Secret object in a record would be stored as "[REDACTED]" and lost: refused, nothing written.
  const bad = awsUser();
  setFieldValue(bad, "password", [new Secret("x")]);
  assert.throws(() => s.createRecord(bad, { actor: "t" }), /Secret object/);
  assert.equal(s.listAudit().length, 1);

  const both = s.transaction(() => {
    const one = s.createRecord(awsUser("one"), { actor: "t" });
    const two = s.transaction(() => s.createRecord(awsUser("two"), { actor: "t" }));
    return [one, two];
  });
  assert.equal(both.length, 2);
  assert.equal(s.listRecords().length, 2);
  assert.deepEqual(s.verifyAudit(), { ok: true, entries: 3 });
});

test("journal: upsert by id, list with filters, delete; state encrypted at rest", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const s = v.store;
  const first = s.putJournal({
    id: "rot-1",
    recordUid: "R1",
    kind: "rotation",
    state: { step: "created", secret: "JSECRET-1" },
  });
  s.putJournal({ id: "rot-2", recordUid: "R2", kind: "rotation", state: { step: "created" } });
  const updated = s.putJournal({
    id: "rot-1",
    recordUid: "R1",
    kind: "rotation",
    state: { step: "saved", secret: "JSECRET-1" },
  });
  assert.equal(updated.createdAt, first.createdAt);
  assert.deepEqual(
    s.listJournal({ recordUid: "R1" }).map((j) => j.state),
    [{ step: "saved", secret: "JSECRET-1" }],
  );
  assert.deepEqual(
    s.listJournal({ kind: "rotation" }).map((j) => j.id),
    ["rot-1", "rot-2"],
  );
  assert.deepEqual(s.listJournal({ kind: "other" }), []);
  assert.throws(
    () => s.putJournal({ id: "x", recordUid: "R", kind: "k", state: { s: new Secret("x") } }),
    /Secret object/,
  );
  s.deleteJournal("rot-2");
  s.deleteJournal("rot-2");
  assert.deepEqual(
    s.listJournal().map((j) => j.id),
    ["rot-1"],
  );
  s.close();
  assert.equal(vaultBytes(v.path).indexOf("JSECRET-1"), -1);
});

test("a vault created with the default (strong) scrypt opens with its key file in milliseconds", async (t) => {
  const { tempDir } = await import("../../testing/vault.js");
  const { initVault } = await import("./sqlite-open.js");
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = `${dir}/vault.db`;
  const keyFile = `${dir}/vault.key`;
  const store = await initVault(path, { passphrase: new Secret("a strong one"), keyFile });
  const uid = store.createRecord(awsUser(), { actor: "t" }).uid;
  store.close();
  const started = performance.now();
  const fast = await openVault(path, { keyFile });
  assert.equal(fast.getRecord(uid)?.record.title, TITLE);
  const ms = performance.now() - started;
  fast.close();
  assert.ok(ms < 60, `key-file open + read took ${ms.toFixed(1)} ms`);
});
