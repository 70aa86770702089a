import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  completeTransaction,
  createFolder,
  createSecret,
  createSecret2,
  deleteSecret,
  downloadFile,
  getFolders,
  getSecrets,
  initializeStorage,
  inMemoryStorage,
  type SecretManagerOptions,
  UpdateTransactionType,
  updateSecret,
} from "@keeper-security/secrets-manager-core";
import { FakeKeeper, serveFakeKeeperTrusted } from "./index.js";

const pamUser = (title: string, login: string) => ({
  type: "pamUser",
  title,
  notes: "",
  fields: [
    { type: "login", value: [login] },
    { type: "password", value: ["dummy"] },
  ],
  custom: [{ type: "text", label: "aws_access_key_id", value: ["AKIAOLD"] }],
});

function setup() {
  const fake = new FakeKeeper();
  const sf = fake.addSharedFolder("AWS users");
  const sub = fake.addSubFolder(sf.uid, "team a");
  const alice = fake.addRecord(pamUser("alice (AWS)", "alice"), { folderUid: sf.uid });
  const bob = fake.addRecord(pamUser("bob (AWS)", "bob"), { folderUid: sub.uid });
  const solo = fake.addRecord(pamUser("solo", "solo"));
  const options: SecretManagerOptions = {
    storage: inMemoryStorage(fake.createClientConfig()),
    queryFunction: fake.queryFunction,
  };
  return { fake, sf, sub, alice, bob, solo, options };
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected a rejection");
}

describe("fake Keeper server, in-process through the real SDK", () => {
  test("get_secret: records shared directly and through folders decrypt as the SDK expects", async () => {
    const { options, alice, bob, solo, sf, sub } = setup();
    const { records, appData } = await getSecrets(options);
    assert.equal(appData.title, "rekey test app");
    const byUid = new Map(records.map((r) => [r.recordUid, r]));
    assert.equal(records.length, 3);
    assert.equal(byUid.get(alice.uid)?.data.title, "alice (AWS)");
    assert.equal(byUid.get(alice.uid)?.folderUid, sf.uid);
    assert.equal(byUid.get(bob.uid)?.folderUid, sf.uid);
    assert.equal(byUid.get(bob.uid)?.innerFolderUid, sub.uid);
    assert.equal(byUid.get(solo.uid)?.folderUid, undefined);
    assert.equal(byUid.get(alice.uid)?.revision, alice.revision);
  });

  test("get_secret with UIDs returns only those records", async () => {
    const { options, bob, fake } = setup();
    const { records } = await getSecrets(options, [bob.uid]);
    assert.deepEqual(
      records.map((r) => r.recordUid),
      [bob.uid],
    );
    assert.deepEqual(fake.calls("get_secret").at(-1)?.payload?.requestedRecords, [bob.uid]);
  });

  test("a one-time token binds on the first get_secret and cannot be used twice", async () => {
    const { fake, alice } = setup();
    const token = fake.createOneTimeToken();
    const storage = inMemoryStorage({});
    await initializeStorage(storage, token, fake.hostname);
    const { records } = await getSecrets({ storage, queryFunction: fake.queryFunction }, [alice.uid]);
    assert.equal(records[0]?.data.title, "alice (AWS)");
    assert.ok(await storage.getString("appKey"));
    assert.equal(await storage.getString("clientKey"), undefined);
    assert.ok(await storage.getString("appOwnerPublicKey"));
    const binds = fake.calls("get_secret").filter((c) => c.payload?.publicKey !== undefined);
    assert.equal(binds.length, 1, "publicKey is sent only while binding");

    const again = inMemoryStorage({});
    await initializeStorage(again, token, fake.hostname);
    const err = await errorOf(getSecrets({ storage: again, queryFunction: fake.queryFunction }));
    assert.match(err.message, /access_denied/);
    assert.match(err.message, /cannot be reused/);
  });

  test("a request signed with another key is refused", async () => {
    const { fake } = setup();
    const config = fake.createClientConfig();
    config.privateKey = fake.createClientConfig().privateKey;
    const err = await errorOf(
      getSecrets({ storage: inMemoryStorage(config), queryFunction: fake.queryFunction }),
    );
    assert.match(err.message, /Signature is invalid/);
  });

  test("update_secret checks the revision, and the stale-revision error has Keeper's envelope", async () => {
    const { options, fake, alice } = setup();
    const [rec] = (await getSecrets(options, [alice.uid])).records;
    assert.ok(rec);
    rec.data.custom[0].value = ["AKIANEW"];
    await updateSecret(options, rec);
    const after = fake.records.get(alice.uid);
    assert.ok(after && after.revision > rec.revision);
    assert.deepEqual(fake.recordData(alice.uid).custom, [
      { type: "text", label: "aws_access_key_id", value: ["AKIANEW"] },
    ]);
    assert.equal(after.history.length, 2);

    // rec.revision is now stale
    const err = await errorOf(updateSecret(options, rec));
    const body = JSON.parse(err.message);
    assert.equal(body.result_code, "invalid_revision");
    assert.equal(body.error, "invalid_revision");
    assert.match(body.path, /update_secret/);
    assert.match(body.message, /out of date/);

    fake.knobs.revisionError = "out_of_sync";
    const err2 = await errorOf(updateSecret(options, rec));
    assert.equal(JSON.parse(err2.message).error, "out_of_sync");
  });

  test("a rotation transaction: update, refuse a second update, finalize keeps the new data", async () => {
    const { options, fake, alice } = setup();
    const [rec] = (await getSecrets(options, [alice.uid])).records;
    assert.ok(rec);
    rec.data.custom[0].value = ["AKIAROT"];
    await updateSecret(options, rec, UpdateTransactionType.Rotation);
    assert.equal(fake.pending.get(alice.uid)?.type, "rotation");
    assert.equal(fake.calls("update_secret").at(-1)?.payload?.transactionType, "rotation");

    const [fresh] = (await getSecrets(options, [alice.uid])).records;
    assert.ok(fresh);
    assert.equal(fresh.data.custom[0].value[0], "AKIAROT", "the new data is visible while pending (default)");
    const blocked = await errorOf(updateSecret(options, fresh));
    assert.match(blocked.message, /transaction_in_progress/);

    await completeTransaction(options, alice.uid, false);
    assert.equal(fake.pending.size, 0);
    assert.deepEqual((fake.recordData(alice.uid).custom as Array<{ value: string[] }>)[0]?.value, [
      "AKIAROT",
    ]);
    const none = await errorOf(completeTransaction(options, alice.uid, false));
    assert.match(none.message, /no pending transaction/);
  });

  test("rolling a rotation transaction back restores the old data as a new revision", async () => {
    const { options, fake, alice } = setup();
    const [rec] = (await getSecrets(options, [alice.uid])).records;
    assert.ok(rec);
    rec.data.custom[0].value = ["AKIAROT"];
    await updateSecret(options, rec, UpdateTransactionType.Rotation);
    const pendingRevision = fake.records.get(alice.uid)?.revision ?? 0;
    await completeTransaction(options, alice.uid, true);
    const r = fake.records.get(alice.uid);
    assert.ok(r && r.revision > pendingRevision);
    assert.deepEqual((r.data.custom as Array<{ value: string[] }>)[0]?.value, ["AKIAOLD"]);
    assert.equal(r.history.length, 3);
  });

  test("pendingView 'old' shows the pre-transaction version until it is finalized", async () => {
    const { options, fake, alice } = setup();
    fake.knobs.pendingView = "old";
    const [rec] = (await getSecrets(options, [alice.uid])).records;
    assert.ok(rec);
    rec.data.custom[0].value = ["AKIAROT"];
    await updateSecret(options, rec, UpdateTransactionType.Rotation);
    const [seen] = (await getSecrets(options, [alice.uid])).records;
    assert.equal(seen?.data.custom[0].value[0], "AKIAOLD");
    await completeTransaction(options, alice.uid, false);
    const [done] = (await getSecrets(options, [alice.uid])).records;
    assert.equal(done?.data.custom[0].value[0], "AKIAROT");
  });

  test("a read-only record cannot be updated", async () => {
    const { options, fake } = setup();
    const ro = fake.addRecord(pamUser("ro", "ro"), { editable: false });
    const [rec] = (await getSecrets(options, [ro.uid])).records;
    assert.ok(rec);
    const err = await errorOf(updateSecret(options, rec));
    assert.match(err.message, /access_denied/);
    assert.match(err.message, /read-only/);
  });

  test("create_secret in a shared folder and in a sub-folder; delete_secret", async () => {
    const { options, fake, sf, sub } = setup();
    // The SDK warms its (process-wide) key cache only when it is empty: make sure the folder key is in it.
    await getSecrets(options);
    const uid = await createSecret(options, sf.uid, pamUser("carol", "carol"));
    assert.equal(fake.records.get(uid)?.data.title, "carol");
    assert.equal(fake.records.get(uid)?.folderUid, sf.uid);

    await getFolders(options);
    const uid2 = await createSecret2(
      options,
      { folderUid: sf.uid, subFolderUid: sub.uid },
      pamUser("dave", "dave"),
    );
    assert.equal(fake.records.get(uid2)?.innerFolderUid, sub.uid);
    const { records } = await getSecrets(options, [uid, uid2]);
    assert.deepEqual(records.map((r) => r.data.title).sort(), ["carol", "dave"]);

    const res = await deleteSecret(options, [uid, "AAAAAAAAAAAAAAAAAAAAAA"]);
    assert.deepEqual(
      res.records.map((r) => [r.recordUid, r.responseCode]),
      [
        [uid, "ok"],
        ["AAAAAAAAAAAAAAAAAAAAAA", "not_found"],
      ],
    );
    assert.equal(fake.records.has(uid), false);
  });

  test("get_folders gives names and parents; create_folder adds a sub-folder", async () => {
    const { options, sf, sub, fake } = setup();
    const folders = await getFolders(options);
    assert.deepEqual(
      folders.map((f) => [f.folderUid, f.name, f.parentUid]),
      [
        [sf.uid, "AWS users", undefined],
        [sub.uid, "team a", sf.uid],
      ],
    );
    const created = await createFolder(options, { folderUid: sf.uid, subFolderUid: sub.uid }, "nested");
    assert.equal(fake.folders.get(created)?.parentUid, sub.uid);
    const again = await getFolders(options);
    assert.equal(again.find((f) => f.folderUid === created)?.name, "nested");
  });

  test("403 throttled makes the SDK back off and retry", async () => {
    const { options, fake } = setup();
    const sleeps: number[] = [];
    fake.throttleNext(2, 0.01);
    const { records } = await getSecrets({
      ...options,
      throttleSleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    assert.equal(records.length, 3);
    assert.equal(sleeps.length, 2);
    assert.deepEqual(
      fake.calls("get_secret").map((c) => c.statusCode),
      [403, 403, 200],
    );
  });

  test("an injected failure answers once with the given status and body", async () => {
    const { options, fake, alice } = setup();
    fake.failNext("update_secret", { statusCode: 500, body: { error: "boom", message: "injected" } });
    const [rec] = (await getSecrets(options, [alice.uid])).records;
    assert.ok(rec);
    const err = await errorOf(updateSecret(options, rec));
    assert.match(err.message, /boom/);
    await updateSecret(options, rec);
  });

  test("file attachments: listed in get_secret, and the SDK's own downloadFile gets the seeded bytes back", async (t) => {
    const { fake, options, alice, solo } = setup();
    // downloadFile is a plain HTTPS GET of the file's url even with a queryFunction: serve the fake over
    // HTTPS and trust its test CA in-process through the agent the SDK uses for its requests.
    const served = await serveFakeKeeperTrusted(t, fake);
    const script = Buffer.from("console.log('rotated');\n\u00e9\u0000\r\n");
    const att = fake.addFile(alice.uid, {
      content: script,
      name: "post-rotate.mjs",
      type: "text/javascript",
    });
    const other = fake.addFile(solo.uid, {
      content: "second",
      name: "b.txt",
      title: "B",
      uid: "RekeyScriptFileRef0000",
    });

    const { records } = await getSecrets(options);
    const a = records.find((r) => r.recordUid === alice.uid);
    assert.equal(a?.files?.length, 1);
    const [file] = a?.files ?? [];
    assert.equal(file?.fileUid, att.uid);
    assert.equal(file?.url, `${served.url}/files/${att.uid}`);
    assert.deepEqual(
      { name: file?.data.name, title: file?.data.title, size: file?.data.size, type: file?.data.type },
      { name: "post-rotate.mjs", title: "post-rotate.mjs", size: script.length, type: "text/javascript" },
    );
    assert.deepEqual(
      a?.data.fields.find((f: { type: string }) => f.type === "fileRef")?.value,
      [att.uid],
      "the record's fileRef field lists it, as an upload leaves it",
    );
    assert.deepEqual(Buffer.from(await downloadFile(file!)), script);
    assert.ok(!att.encrypted.includes(Buffer.from("rotated")), "stored encrypted");

    const s = records.find((r) => r.recordUid === solo.uid)?.files?.[0];
    assert.equal(s?.fileUid, other.uid);
    assert.equal(s?.data.title, "B");
    assert.equal(Buffer.from(await downloadFile(s!)).toString(), "second");
    assert.deepEqual(fake.downloads, [att.uid, other.uid]);
    assert.equal(
      records.find((r) => r.recordUid === alice.uid)?.revision,
      fake.records.get(alice.uid)?.revision,
    );
  });
});
