import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import type { SecretManagerOptions } from "@keeper-security/secrets-manager-core";
import { RekeyError } from "../../errors.js";
import {
  FakeKeeper,
  pamUserForSeed,
  seedAwsRotation,
  serveFakeKeeperTrusted,
} from "../../testing/fake-keeper/index.js";
import { findRecord } from "../../vault/find-record.js";
import { getFieldValue, type KeeperRecord, setFieldValue } from "../../vault/record.js";
import type { StoredRecord } from "../../vault/store.js";
import { requireCapability } from "../../vault/store-capabilities.js";
import { type KeeperVault, openKeeperVault } from "./ksm-store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(
  opts: { queryFunction?: SecretManagerOptions["queryFunction"]; fake?: FakeKeeper; http?: boolean } = {},
) {
  const fake = opts.fake ?? new FakeKeeper();
  const seeded = seedAwsRotation(fake, {
    userName: "alice",
    currentKey: { id: "AKIAOLDKEY0000000000", secret: "old-secret-value-0000000000000000000000" },
  });
  const dir = mkdtempSync(join(tmpdir(), "rekey-keeper-store-"));
  dirs.push(dir);
  const configPath = join(dir, "ksm.json");
  writeFileSync(configPath, JSON.stringify(fake.createClientConfig()), { mode: 0o600 });
  const sleeps: number[] = [];
  const vault = await openKeeperVault({
    configPath,
    stateDir: join(dir, "state"),
    ...(opts.http ? {} : { queryFunction: opts.queryFunction ?? fake.queryFunction }),
    throttleSleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { fake, seeded, vault, dir, sleeps, configPath };
}

async function rejection(p: Promise<unknown>): Promise<RekeyError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RekeyError, `expected a RekeyError, got ${err}`);
    return err;
  }
  assert.fail("expected a rejection");
}

function withKey(r: KeeperRecord, id: string): KeeperRecord {
  const copy = structuredClone(r);
  setFieldValue(copy, "aws_access_key_id", id);
  return copy;
}

/** A save of `before` with a new key id, expected to fail: the error it fails with. */
function failedSave(vault: KeeperVault, before: StoredRecord): Promise<RekeyError> {
  return rejection(
    vault.saveRecord(before.uid, withKey(before.record, "AKIAX"), {
      expectedRevision: before.revision,
      actor: "t",
    }),
  );
}

/** The user record as read now, then edited in the web vault (a new revision this process has not read). */
async function readThenEditedElsewhere(
  vault: KeeperVault,
  fake: FakeKeeper,
  uid: string,
): Promise<StoredRecord> {
  const before = await vault.getRecord(uid);
  assert.ok(before);
  fake.editRecord(uid, (d) => {
    d.notes = "edited in the web vault";
  });
  return before;
}

describe("KeeperVault over the real SDK and the fake Keeper", () => {
  test("lists, gets, finds by title and resolves records", async () => {
    const { vault, seeded } = await setup();
    const all = await vault.listRecords();
    assert.equal(all.length, 2);
    const users = await vault.listRecords({ type: "pamUser" });
    assert.deepEqual(
      users.map((u) => u.uid),
      [seeded.userUid],
    );
    const user = await vault.getRecord(seeded.userUid);
    assert.equal(user?.record.title, "alice (AWS IAM user)");
    assert.equal(user?.folderUid, seeded.folder.uid);
    assert.equal(getFieldValue(user!.record, "aws_access_key_id"), "AKIAOLDKEY0000000000");
    assert.equal(await vault.getRecord("not-a-uid"), undefined);
    assert.equal(await vault.getRecord("AAAAAAAAAAAAAAAAAAAAAA"), undefined);
    assert.equal((await vault.findByTitle("AWS PAM configuration"))[0]?.uid, seeded.configUid);
    assert.equal((await findRecord(vault, "alice (AWS IAM user)")).uid, seeded.userUid);
    assert.equal((await findRecord(vault, seeded.userUid)).uid, seeded.userUid);
    const missing = await rejection(findRecord(vault, "nobody"));
    assert.equal(missing.kind, "not-found");
  });

  test("an ambiguous title is a conflict naming the UIDs", async () => {
    const { vault, fake, seeded } = await setup();
    const twin = fake.addRecord(fake.recordData(seeded.userUid), { folderUid: seeded.folder.uid });
    const err = await rejection(findRecord(vault, "alice (AWS IAM user)"));
    assert.equal(err.kind, "conflict");
    assert.match(err.message, new RegExp(twin.uid));
  });

  test("saveRecord: revision-checked update, new revision from Keeper, unknown keys kept, audited without values", async () => {
    const { vault, fake, seeded } = await setup();
    fake.editRecord(seeded.userUid, (d) => {
      d.references = { keep: "me" };
    });
    const before = await vault.getRecord(seeded.userUid);
    assert.ok(before);
    const updated = withKey(before.record, "AKIANEWKEY0000000000");
    setFieldValue(updated, "aws_secret_access_key", "new-secret-value-00000000000000000000000", {
      type: "secret",
    });
    const saved = await vault.saveRecord(seeded.userUid, updated, {
      expectedRevision: before.revision,
      actor: "test",
    });
    assert.ok(saved.revision > before.revision);
    assert.equal(saved.revision, fake.records.get(seeded.userUid)?.revision);
    assert.equal(getFieldValue(saved.record, "aws_access_key_id"), "AKIANEWKEY0000000000");
    assert.deepEqual(fake.recordData(seeded.userUid).references, { keep: "me" });
    const [entry] = await vault.listAudit({ recordUid: seeded.userUid });
    assert.equal(entry?.action, "record.update");
    assert.deepEqual(entry?.details.fieldsChanged, ["aws_access_key_id", "aws_secret_access_key"]);
    assert.ok(!JSON.stringify(entry).includes("new-secret-value"));
    assert.deepEqual(await vault.verifyAudit(), { ok: true, entries: 1 });
  });

  test("a stale expectedRevision, for a record not just read, is a conflict before anything is sent", async () => {
    const { vault, fake, seeded } = await setup();
    const before = await readThenEditedElsewhere(vault, fake, seeded.userUid);
    await vault.getRecords([seeded.configUid]); // another read since: the save reads the record first
    const err = await failedSave(vault, before);
    assert.equal(err.kind, "conflict");
    assert.match(err.message, /changed by someone else/);
    assert.equal(fake.calls("update_secret").length, 0);
  });

  test("a record just read at the expected revision goes straight to the update: Keeper refuses a stale one", async () => {
    const { vault, fake, seeded } = await setup();
    const before = await readThenEditedElsewhere(vault, fake, seeded.userUid);
    const reads = fake.calls("get_secret").length;
    const err = await failedSave(vault, before);
    assert.equal(err.kind, "conflict");
    assert.equal(err.details?.outcome, "not-saved");
    assert.equal(fake.calls("get_secret").length, reads, "no read before the update");
    assert.deepEqual(
      fake.calls("update_secret").map((c) => c.statusCode),
      [400],
    );
    assert.equal(fake.recordData(seeded.userUid).notes, "edited in the web vault");
  });

  test("a refusal in words rekey does not know, for a record changed meanwhile: read back, a conflict", async () => {
    const { vault, fake, seeded } = await setup();
    const before = await readThenEditedElsewhere(vault, fake, seeded.userUid);
    fake.failNext("update_secret", {
      statusCode: 400,
      body: JSON.stringify({ error: "record_mismatch", message: "the record does not match" }),
    });
    const err = await failedSave(vault, before);
    assert.equal(err.kind, "conflict");
    assert.match(
      err.message,
      /changed by someone else: your change is based on revision \d+, Keeper has revision \d+/,
    );
    assert.equal(fake.recordData(seeded.userUid).notes, "edited in the web vault");
  });

  for (const style of ["invalid_revision", "out_of_sync"] as const) {
    test(`an edit racing the save: Keeper's ${style} error becomes a conflict (not saved)`, async () => {
      const { vault, fake, seeded } = await setup();
      fake.knobs.revisionError = style;
      const before = await vault.getRecord(seeded.userUid);
      assert.ok(before);
      fake.beforeRequest = (endpoint) => {
        if (endpoint !== "update_secret") return;
        fake.beforeRequest = undefined;
        fake.editRecord(seeded.userUid, (d) => {
          d.notes = "raced";
        });
      };
      const err = await failedSave(vault, before);
      assert.equal(err.kind, "conflict");
      assert.equal(err.details?.outcome, "not-saved");
      assert.equal(err.details?.keeperCode, style);
      assert.equal(fake.recordData(seeded.userUid).notes, "raced");
    });
  }

  test("a lost response after Keeper applied the save still counts as saved", async () => {
    const { vault, fake, seeded } = await setup();
    const before = await vault.getRecord(seeded.userUid);
    assert.ok(before);
    fake.loseResponseOf("update_secret");
    const saved = await vault.saveRecord(seeded.userUid, withKey(before.record, "AKIALOST"), {
      expectedRevision: before.revision,
      actor: "t",
    });
    assert.equal(getFieldValue(saved.record, "aws_access_key_id"), "AKIALOST");
    assert.equal(fake.calls("update_secret").at(-1)?.statusCode, 502);
  });

  test("a 502 before Keeper applied anything is a failed save (not-saved)", async () => {
    const { vault, fake, seeded } = await setup();
    const before = await vault.getRecord(seeded.userUid);
    assert.ok(before);
    fake.failNext("update_secret", { statusCode: 502, body: "Bad Gateway" });
    const err = await rejection(
      vault.saveRecord(seeded.userUid, withKey(before.record, "AKIANOPE"), {
        expectedRevision: before.revision,
        actor: "t",
      }),
    );
    assert.equal(err.details?.outcome, "not-saved");
    assert.equal(
      getFieldValue(fake.recordData(seeded.userUid) as unknown as KeeperRecord, "aws_access_key_id"),
      "AKIAOLDKEY0000000000",
    );
  });

  test("when the save fails and the record cannot be read back, the outcome is unknown", async () => {
    const { vault, fake, seeded } = await setup();
    const before = await vault.getRecord(seeded.userUid);
    assert.ok(before);
    fake.loseResponseOf("update_secret");
    fake.beforeRequest = (endpoint) => {
      if (endpoint === "update_secret")
        fake.failNext("get_secret", { statusCode: 503, body: "Service Unavailable" }, 5);
    };
    const err = await rejection(
      vault.saveRecord(seeded.userUid, withKey(before.record, "AKIAMAYBE"), {
        expectedRevision: before.revision,
        actor: "t",
      }),
    );
    assert.equal(err.details?.outcome, "unknown");
    assert.match(err.message, /may or may not have reached Keeper/);
  });

  test("a rotation transaction: save, then commit or roll back", async () => {
    const { vault, fake, seeded } = await setup();
    const before = await vault.getRecord(seeded.userUid);
    assert.ok(before);
    await vault.saveRecord(seeded.userUid, withKey(before.record, "AKIAROT1"), {
      expectedRevision: before.revision,
      actor: "t",
      transaction: "rotation",
    });
    assert.equal(fake.pending.get(seeded.userUid)?.type, "rotation");
    await vault.completeTransaction(seeded.userUid, "commit", { actor: "t" });
    assert.equal(fake.pending.size, 0);

    const mid = await vault.getRecord(seeded.userUid);
    assert.ok(mid);
    await vault.saveRecord(seeded.userUid, withKey(mid.record, "AKIAROT2"), {
      expectedRevision: mid.revision,
      actor: "t",
      transaction: "rotation",
    });
    await vault.completeTransaction(seeded.userUid, "rollback", { actor: "t" });
    const after = await vault.getRecord(seeded.userUid);
    assert.equal(getFieldValue(after!.record, "aws_access_key_id"), "AKIAROT1");
    const actions = (await vault.listAudit()).map((a) => a.action);
    assert.deepEqual(actions, [
      "record.update",
      "record.transaction.commit",
      "record.update",
      "record.transaction.rollback",
    ]);
    const none = await rejection(vault.completeTransaction(seeded.userUid, "commit", { actor: "t" }));
    assert.match(none.message, /no pending transaction/);
  });

  test("a read-only record is an auth error naming the fix", async () => {
    const { vault, fake } = await setup();
    const ro = fake.addRecord(fake.recordData([...fake.records.keys()][1]!), { editable: false });
    const stored = await vault.getRecord(ro.uid);
    assert.ok(stored);
    const err = await rejection(
      vault.saveRecord(ro.uid, stored.record, { expectedRevision: stored.revision, actor: "t" }),
    );
    assert.equal(err.kind, "auth");
    assert.match(err.message, /read-only/);
  });

  test("create in a shared folder and in a sub-folder; delete with a revision check", async () => {
    const { vault, fake, seeded } = await setup();
    const rec = pamUserForSeed("bob (AWS IAM user)", { userName: "bob" });
    const created = await vault.createRecord(rec, { folderUid: seeded.folder.uid, actor: "t" });
    assert.equal(fake.records.get(created.uid)?.folderUid, seeded.folder.uid);
    assert.equal(created.record.title, "bob (AWS IAM user)");

    const sub = await vault.createFolder("team b", { parentUid: seeded.folder.uid, actor: "t" });
    assert.equal(fake.folders.get(sub.uid)?.parentUid, seeded.folder.uid);
    const inSub = await vault.createRecord(pamUserForSeed("carol", { userName: "carol" }), {
      folderUid: sub.uid,
      actor: "t",
    });
    assert.equal(inSub.folderUid, sub.uid);

    const folders = await vault.listFolders();
    assert.deepEqual(
      folders.map((f) => [f.name, f.shared]),
      [
        ["PAM AWS", true],
        ["team b", false],
      ],
    );

    const noFolder = await rejection(vault.createRecord(rec, { actor: "t" }));
    assert.equal(noFolder.kind, "usage");
    const stale = await rejection(
      vault.deleteRecord(created.uid, { expectedRevision: created.revision - 1, actor: "t" }),
    );
    assert.equal(stale.kind, "conflict");
    await vault.deleteRecord(created.uid, { expectedRevision: created.revision, actor: "t" });
    assert.equal(fake.records.has(created.uid), false);
    const shared = await rejection(vault.createFolder("x", { shared: true, actor: "t" }));
    assert.equal(shared.kind, "usage");
  });

  test("throttling is retried by the SDK; past its retries it is a clear error", async () => {
    const { vault, fake, seeded, sleeps } = await setup();
    fake.throttleNext(1, 0.01);
    assert.ok(await vault.getRecord(seeded.userUid));
    assert.equal(sleeps.length, 1);
    fake.throttleNext(10);
    const err = await rejection(vault.getRecord(seeded.userUid));
    assert.equal(err.kind, "internal");
    assert.match(err.message, /throttled/);
  });

  test("commit applies a save, then the journal and audit writes, in order", async () => {
    const { vault, seeded } = await setup();
    const before = await vault.getRecord(seeded.userUid);
    assert.ok(before);
    await vault.putJournal({
      id: "j1",
      recordUid: seeded.userUid,
      kind: "rotation",
      state: { phase: "created" },
    });
    const { saved } = await vault.commit(
      [
        {
          op: "saveRecord",
          uid: seeded.userUid,
          record: withKey(before.record, "AKIAC"),
          expectedRevision: before.revision,
        },
        { op: "deleteJournal", id: "j1" },
        { op: "audit", event: { action: "rotation.complete", recordUid: seeded.userUid, actor: "t" } },
      ],
      { actor: "t" },
    );
    assert.equal(getFieldValue(saved[0]!.record, "aws_access_key_id"), "AKIAC");
    assert.deepEqual(await vault.listJournal(), []);
    assert.deepEqual(
      (await vault.listAudit()).map((a) => a.action),
      ["record.update", "rotation.complete"],
    );
  });

  test("commit creates folders (by ref) and records and deletes records, in order; the first failure stops the rest", async () => {
    const { vault, fake, seeded } = await setup();
    const doomed = await vault.createRecord(pamUserForSeed("dora", { userName: "dora" }), {
      folderUid: seeded.folder.uid,
      actor: "t",
    });
    const res = await vault.commit(
      [
        { op: "createFolder", name: "team c", parentUid: seeded.folder.uid, ref: "c" },
        { op: "createRecord", record: pamUserForSeed("erin", { userName: "erin" }), folderUid: { ref: "c" } },
        { op: "deleteRecord", uid: doomed.uid, expectedRevision: doomed.revision },
      ],
      { actor: "t" },
    );
    const folder = res.folders?.[0];
    assert.equal(fake.folders.get(folder?.uid ?? "")?.parentUid, seeded.folder.uid);
    const erin = res.created?.[0];
    assert.equal(fake.records.get(erin?.uid ?? "")?.innerFolderUid, folder?.uid);
    assert.equal(fake.records.has(doomed.uid), false);

    // Not atomic (capabilities say so): what ran before the failing op stays.
    assert.equal(vault.capabilities.atomicCommit, false);
    const partial = await rejection(
      vault.commit(
        [
          {
            op: "createRecord",
            record: pamUserForSeed("fay", { userName: "fay" }),
            folderUid: seeded.folder.uid,
          },
          { op: "deleteRecord", uid: erin!.uid, expectedRevision: erin!.revision - 1 },
        ],
        { actor: "t" },
      ),
    );
    assert.equal(partial.kind, "conflict");
    assert.ok([...fake.records.values()].some((r) => (r.data as { title?: string }).title === "fay"));
    assert.ok(fake.records.has(erin!.uid));
  });

  test("capabilities: no history, head, key slots, shared folders, root records, chosen UIDs", async () => {
    const { vault } = await setup();
    assert.deepEqual(
      Object.entries(vault.capabilities).filter(([, v]) => v),
      [],
      "a KSM application can do none of these",
    );
    const err = (() => {
      try {
        requireCapability(vault, "localKeySlots", "rekey vault add-key-file");
      } catch (e) {
        return e as RekeyError;
      }
    })();
    assert.equal(err?.kind, "usage");
    assert.match(err?.message ?? "", /rekey vault add-key-file needs key slots .*, which Keeper vault \(/);
  });

  test("the SDK's key cache is shared: concurrent calls are serialized and all succeed", async () => {
    const { vault, seeded } = await setup();
    const before = await vault.getRecord(seeded.userUid);
    assert.ok(before);
    // Unserialized, a getSecrets for another record empties the cache between the save's read and its update.
    const reader = async () => {
      let seen = 0;
      for (let i = 0; i < 8; i++) if (await vault.getRecord(seeded.configUid)) seen++;
      return seen;
    };
    const others = [reader(), reader(), reader()];
    const [saved, ...rest] = await Promise.all([
      vault.saveRecord(seeded.userUid, withKey(before.record, "AKIAPAR"), {
        expectedRevision: before.revision,
        actor: "t",
      }),
      ...others,
    ]);
    assert.equal(getFieldValue(saved.record, "aws_access_key_id"), "AKIAPAR");
    assert.deepEqual(rest, [8, 8, 8]);
  });

  test("over real HTTPS: the SDK's own transport, the fake's server key and signature checks", async (t) => {
    const fake = new FakeKeeper();
    await serveFakeKeeperTrusted(t, fake);
    const { vault, seeded } = await setup({ fake, queryFunction: undefined, http: true });
    const before = await vault.getRecord(seeded.userUid);
    assert.ok(before);
    const saved = await vault.saveRecord(seeded.userUid, withKey(before.record, "AKIAHTTPS"), {
      expectedRevision: before.revision,
      actor: "t",
    });
    assert.equal(getFieldValue(saved.record, "aws_access_key_id"), "AKIAHTTPS");
    assert.deepEqual(
      fake.calls().map((c) => [c.endpoint, c.statusCode]),
      [
        ["get_secret", 200],
        ["update_secret", 200],
        ["get_secret", 200],
      ],
    );
  });

  test("readAttachment: a record's file downloaded and decrypted by the SDK; missing is undefined; altered bytes fail", async (t) => {
    const fake = new FakeKeeper();
    await serveFakeKeeperTrusted(t, fake);
    const { vault, seeded } = await setup({ fake, queryFunction: undefined, http: true });
    const file = fake.addFile(seeded.userUid, { content: "echo ok\n", name: "post.sh", title: "Post" });

    const got = await vault.readAttachment(seeded.userUid, file.uid);
    assert.equal(got?.name, "post.sh");
    assert.equal(got?.content.toString(), "echo ok\n");
    assert.equal(await vault.readAttachment(seeded.userUid, "NoSuchFileUid000000000"), undefined);
    assert.equal(await vault.readAttachment(seeded.configUid, file.uid), undefined, "only the owner's files");
    assert.equal(await vault.readAttachment("NoSuchRecordUid0000000", file.uid), undefined);

    // Flip one byte of the stored ciphertext: AES-GCM under the file key refuses it.
    const last = file.encrypted.length - 1;
    file.encrypted[last] = (file.encrypted[last] ?? 0) ^ 1;
    const err = await rejection(vault.readAttachment(seeded.userUid, file.uid));
    assert.match(
      err.message,
      new RegExp(`downloading file ${file.uid} \\(post\\.sh\\) of record ${seeded.userUid} failed`),
    );
  });
});
