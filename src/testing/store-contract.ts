/**
 * The store contract: what every AsyncVaultStore backend must do, as one suite a backend's test file runs
 * with its own fixture (the SQLite vault through `toAsyncStore`, PostgreSQL on a real server, ...).
 *
 * A backend gives `newVault()`: a fresh vault whose `open()` returns another, independent store on it (its
 * own connection: two gateways), plus the two things only the backend can do from outside rekey: edit an
 * audit row behind its back, and show everything it keeps at rest as text.
 *
 * @example
 * runStoreContract("postgres", { newVault: async () => ({ open, tamperAudit, atRest, cleanup }) });
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RekeyError } from "../errors.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { getFieldValue, type KeeperRecord, newRecord, newUid, setFieldValue } from "../vault/record.js";
import type { Lease } from "../vault/store.js";

export interface ContractVault {
  /** The store the vault was created with (closed by `cleanup`). */
  store: AsyncVaultStore;
  /** Another store on the same vault: its own connection, as a second gateway would have. */
  open(): Promise<AsyncVaultStore>;
  /** Change the actor of audit entry `seq` directly in the storage (as someone with database access could). */
  tamperAudit(seq: number): Promise<void>;
  /** Everything stored at rest, as text (binary columns with their printable bytes as they are). */
  atRest(): Promise<string>;
  cleanup(): Promise<void>;
}

export interface StoreBackend {
  newVault(): Promise<ContractVault>;
}

const isKind = (kind: string) => (err: unknown) => err instanceof RekeyError && err.kind === kind;

/** Lease.renew/release are typed void; a backend doing I/O returns its promise: wait for either. */
const settle = async (v: unknown) => {
  await (v as Promise<void> | undefined);
};

function loginRecord(title: string, password: string): KeeperRecord {
  const r = newRecord("login", title);
  setFieldValue(r, "login", "alice");
  setFieldValue(r, "password", password);
  return r;
}

let n = 0;
const unique = (what: string) => `${what} ${process.pid}-${++n}-${newUid().slice(0, 6)}`;

export function runStoreContract(name: string, backend: StoreBackend): void {
  describe(`store contract: ${name}`, () => {
    const vaults: ContractVault[] = [];
    const stores: AsyncVaultStore[] = [];
    after(async () => {
      for (const s of stores) await s.close();
      for (const v of vaults) await v.cleanup();
    });
    const fresh = async () => {
      const v = await backend.newVault();
      vaults.push(v);
      return v;
    };
    const second = async (v: ContractVault) => {
      const s = await v.open();
      stores.push(s);
      return s;
    };

    test("records: create, read, find by title, save with revisions, stale save is a conflict, delete", async () => {
      const { store } = await fresh();
      const title = unique("db admin");
      const created = await store.createRecord(loginRecord(title, "pw-1"), { actor: "test" });
      assert.equal(created.revision, 1);
      assert.equal((await store.getRecord(created.uid))?.record.title, title);
      assert.deepEqual(
        (await store.findByTitle(title)).map((r) => r.uid),
        [created.uid],
      );
      assert.deepEqual(await store.findByTitle(`${title}x`), []);
      const other = await store.createRecord(newRecord("pamUser", unique("other")), { actor: "test" });
      assert.deepEqual(
        (await store.listRecords()).map((r) => r.uid),
        [created.uid, other.uid],
        "listed in creation order",
      );
      assert.deepEqual(
        (await store.listRecords({ type: "pamUser" })).map((r) => r.uid),
        [other.uid],
      );

      const edited = structuredClone(created.record);
      setFieldValue(edited, "password", "pw-2");
      const saved = await store.saveRecord(created.uid, edited, { expectedRevision: 1, actor: "test" });
      assert.equal(saved.revision, 2);
      assert.equal(getFieldValue((await store.getRecord(created.uid))!.record, "password"), "pw-2");
      await assert.rejects(
        store.saveRecord(created.uid, edited, { expectedRevision: 1, actor: "test" }),
        isKind("conflict"),
      );
      assert.equal((await store.getRecord(created.uid))?.revision, 2, "the stale save changed nothing");

      const chosen = newUid();
      await store.createRecord(loginRecord(unique("chosen"), "x"), { uid: chosen, actor: "test" });
      await assert.rejects(
        store.createRecord(loginRecord(unique("again"), "x"), { uid: chosen, actor: "test" }),
        isKind("conflict"),
      );

      await assert.rejects(
        store.deleteRecord(created.uid, { expectedRevision: 1, actor: "test" }),
        isKind("conflict"),
      );
      await store.deleteRecord(created.uid, { expectedRevision: 2, actor: "test" });
      assert.equal(await store.getRecord(created.uid), undefined);
      await assert.rejects(
        store.saveRecord(created.uid, edited, { expectedRevision: 2, actor: "test" }),
        isKind("not-found"),
      );
      await assert.rejects(
        store.saveRecord(newUid(), edited, { expectedRevision: 1, actor: "test" }),
        isKind("not-found"),
      );
    });

    test("history: every version oldest first, the tombstone keeps the last content", async () => {
      const { store } = await fresh();
      const r = await store.createRecord(loginRecord(unique("h"), "v1"), { actor: "maker" });
      const v2 = structuredClone(r.record);
      setFieldValue(v2, "password", "v2");
      await store.saveRecord(r.uid, v2, { expectedRevision: 1, actor: "editor" });
      await store.deleteRecord(r.uid, { expectedRevision: 2, actor: "remover" });
      const h = await store.history(r.uid);
      assert.deepEqual(
        h.map((v) => [v.revision, v.actor, v.deleted, getFieldValue(v.record, "password")]),
        [
          [1, "maker", false, "v1"],
          [2, "editor", false, "v2"],
          [3, "remover", true, "v2"],
        ],
      );
      assert.deepEqual(await store.history(newUid()), []);
    });

    test("folders: create (shared at the root, sub-folders inside), list, records in a folder", async () => {
      const { store } = await fresh();
      const top = await store.createFolder("Team", { actor: "test" });
      assert.equal(top.shared, true);
      const sub = await store.createFolder("Prod", { parentUid: top.uid, actor: "test" });
      assert.equal(sub.shared, false);
      assert.deepEqual(
        (await store.listFolders()).map((f) => [f.name, f.parentUid]),
        [
          ["Team", null],
          ["Prod", top.uid],
        ],
      );
      await assert.rejects(
        store.createFolder("x", { parentUid: newUid(), actor: "test" }),
        isKind("not-found"),
      );
      const inSub = await store.createRecord(loginRecord(unique("in sub"), "x"), {
        folderUid: sub.uid,
        actor: "test",
      });
      await store.createRecord(loginRecord(unique("at root"), "x"), { actor: "test" });
      assert.deepEqual(
        (await store.listRecords({ folderUid: sub.uid })).map((r) => r.uid),
        [inSub.uid],
      );
      await assert.rejects(
        store.createRecord(loginRecord(unique("lost"), "x"), { folderUid: newUid(), actor: "test" }),
        isKind("not-found"),
      );
    });

    test("journal: put, update (createdAt kept), list by record and kind, delete (twice is fine)", async () => {
      const { store } = await fresh();
      const a = await store.putJournal({
        id: "j1",
        recordUid: "rec-a",
        kind: "rotation",
        state: { step: 1 },
      });
      await store.putJournal({ id: "j2", recordUid: "rec-b", kind: "rotation", state: { step: 1 } });
      await store.putJournal({ id: "j3", recordUid: "rec-a", kind: "other", state: {} });
      await sleep(5);
      const a2 = await store.putJournal({
        id: "j1",
        recordUid: "rec-a",
        kind: "rotation",
        state: { step: 2, newKey: { secret: "s3cr3t-journal" } },
      });
      assert.equal(a2.createdAt, a.createdAt);
      assert.notEqual(a2.updatedAt, a.updatedAt);
      assert.deepEqual(
        (await store.listJournal()).map((j) => j.id),
        ["j1", "j2", "j3"],
      );
      assert.deepEqual(
        (await store.listJournal({ recordUid: "rec-a", kind: "rotation" })).map((j) => j.state),
        [{ step: 2, newKey: { secret: "s3cr3t-journal" } }],
      );
      await store.deleteJournal("j1");
      await store.deleteJournal("j1");
      assert.deepEqual(
        (await store.listJournal({ recordUid: "rec-a" })).map((j) => j.id),
        ["j3"],
      );
      await assert.rejects(
        store.putJournal({ id: "", recordUid: "r", kind: "k", state: {} }),
        isKind("usage"),
      );
    });

    test("audit: appended with each change, listed, chain verified; an edited row is reported", async () => {
      const v = await fresh();
      const { store } = v;
      const r = await store.createRecord(loginRecord(unique("aud"), "x"), { actor: "test" });
      const e = await store.appendAudit({
        action: "test.event",
        recordUid: r.uid,
        actor: "tester",
        details: { n: 1 },
      });
      assert.equal(e.action, "test.event");
      const all = await store.listAudit();
      assert.equal(all.at(-1)?.seq, e.seq);
      assert.deepEqual(
        (await store.listAudit({ recordUid: r.uid })).map((x) => x.action),
        ["record.create", "test.event"],
      );
      assert.deepEqual(
        (await store.listAudit({ limit: 1 })).map((x) => x.seq),
        [e.seq],
      );
      assert.deepEqual(await store.verifyAudit(), { ok: true, entries: e.seq });
      await assert.rejects(store.appendAudit({ action: "x", actor: "t", details: { password: "p" } }));

      await v.tamperAudit(e.seq - 1);
      const check = await store.verifyAudit();
      assert.equal(check.ok, false);
      assert.equal(check.problem?.seq, e.seq - 1);
    });

    test("rotation history: appended with its audit copy, listed oldest first, limit, duplicate id refused", async () => {
      const { store } = await fresh();
      const at = new Date().toISOString();
      await store.appendRotationHistory(
        { id: "h1", recordUid: "rec-1", startedAt: at, outcome: "ok", output: "script said hi" },
        { action: "rotation.complete", actor: "gateway", details: { keyId: "AKIA1" } },
      );
      await store.appendRotationHistory(
        { id: "h2", recordUid: "rec-2", startedAt: at, outcome: "failed" },
        { action: "rotation.failed", actor: "gateway" },
      );
      await store.appendRotationHistory(
        { id: "h3", recordUid: "rec-1", startedAt: at, outcome: "ok" },
        { action: "rotation.complete", actor: "gateway" },
      );
      assert.deepEqual(
        (await store.listRotationHistory()).map((h) => h.id),
        ["h1", "h2", "h3"],
      );
      assert.deepEqual(
        (await store.listRotationHistory({ recordUid: "rec-1", limit: 1 })).map((h) => h.id),
        ["h3"],
      );
      assert.equal((await store.listRotationHistory({ recordUid: "rec-1" }))[0]?.output, "script said hi");
      await assert.rejects(
        store.appendRotationHistory(
          { id: "h1", recordUid: "rec-1", startedAt: at },
          { action: "rotation.complete", actor: "gateway" },
        ),
        isKind("conflict"),
      );
      assert.deepEqual(
        (await store.listAudit({ recordUid: "rec-1" })).map((a) => a.action),
        ["rotation.complete", "rotation.complete"],
        "one audit copy per entry, none for the refused one",
      );
    });

    test("leases: one holder across two stores; released, expired or lost as the port says", async () => {
      const v = await fresh();
      const a = v.store;
      const b = await second(v);
      const lease = (await a.tryLock("rec-l", "gateway-a", 60_000)) as Lease;
      assert.ok(lease);
      assert.equal(await b.tryLock("rec-l", "gateway-b", 60_000), null, "held by a live holder");
      assert.ok(await a.tryLock("rec-l", "gateway-a", 60_000), "its holder may take it again");
      assert.ok(await b.tryLock("rec-other", "gateway-b", 60_000), "other records are free");
      await settle(lease.renew(60_000));
      await settle(lease.release());
      const bLease = await b.tryLock("rec-l", "gateway-b", 300);
      assert.ok(bLease, "free once released");

      // Expiry: gateway-b stops renewing; after its time to live gateway-a takes over, and b's renew fails.
      await sleep(400);
      const taken = await a.tryLock("rec-l", "gateway-a", 60_000);
      assert.ok(taken, "an expired lease is taken over");
      await assert.rejects(async () => settle(bLease.renew(1000)), isKind("conflict"));
      await assert.rejects(async () => settle(bLease.renew(1000)), isKind("conflict"), "and stays lost");
      await settle(bLease.release()); // releasing a lost lease leaves the new holder's alone
      assert.equal(await b.tryLock("rec-l", "gateway-b", 60_000), null);
      await assert.rejects(a.tryLock("rec-x", "gateway-a", 0), isKind("usage"));
    });

    test("commit: all ops in one transaction; a stale save undoes the whole batch", async () => {
      const { store } = await fresh();
      const r = await store.createRecord(loginRecord(unique("c"), "old"), { actor: "test" });
      const next = structuredClone(r.record);
      setFieldValue(next, "password", "new");
      const auditBefore = (await store.listAudit()).length;
      await assert.rejects(
        store.commit(
          [
            { op: "putJournal", entry: { id: "jc", recordUid: r.uid, kind: "rotation", state: { s: 1 } } },
            { op: "audit", event: { action: "test.batch", actor: "test" } },
            { op: "saveRecord", uid: r.uid, record: next, expectedRevision: 7 },
          ],
          { actor: "test" },
        ),
        isKind("conflict"),
      );
      assert.deepEqual(await store.listJournal(), [], "the journal entry was undone");
      assert.equal((await store.listAudit()).length, auditBefore, "and the audit entry");
      assert.equal((await store.getRecord(r.uid))?.revision, 1);

      await store.putJournal({ id: "jc", recordUid: r.uid, kind: "rotation", state: { s: 1 } });
      const at = new Date().toISOString();
      const res = await store.commit(
        [
          { op: "saveRecord", uid: r.uid, record: next, expectedRevision: 1 },
          { op: "deleteJournal", id: "jc" },
          { op: "audit", event: { action: "rotation.complete", recordUid: r.uid, actor: "test" } },
          {
            op: "appendRotationHistory",
            entry: { id: "hc", recordUid: r.uid, startedAt: at },
            audit: { action: "rotation.history", actor: "test" },
          },
        ],
        { actor: "rotate" },
      );
      assert.deepEqual(
        res.saved.map((s) => [s.uid, s.revision]),
        [[r.uid, 2]],
      );
      assert.equal((await store.history(r.uid)).at(-1)?.actor, "rotate");
      assert.deepEqual(await store.listJournal(), []);
      assert.deepEqual(
        (await store.listRotationHistory()).map((h) => h.id),
        ["hc"],
      );
      assert.equal((await store.verifyAudit()).ok, true);
    });

    test("no plaintext at rest: titles, secrets, folder names, journal and history hidden", async () => {
      const v = await fresh();
      const { store } = v;
      const title = "Zebra Payroll Admin";
      const secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
      const r = await store.createRecord(loginRecord(title, secret), { actor: "test" });
      await store.createFolder("Quokka Team", { actor: "test" });
      await store.putJournal({
        id: "jp",
        recordUid: r.uid,
        kind: "rotation",
        state: { pending: "Journal-Narwhal-9" },
      });
      await store.appendRotationHistory(
        { id: "hp", recordUid: r.uid, startedAt: new Date().toISOString(), output: "History-Axolotl-7" },
        { action: "rotation.complete", actor: "test" },
      );
      const text = await v.atRest();
      assert.ok(text.includes(r.uid), "the scan sees the stored rows");
      for (const plain of [
        title,
        "Zebra",
        secret,
        "wJalrXUtnFEMI",
        "Quokka",
        "Narwhal",
        "Axolotl",
        "alice",
      ]) {
        assert.ok(!text.includes(plain), `"${plain}" is not stored in clear`);
      }
    });
  });
}
