/** CSV import, one record per IAM user: refusals, --update in place, $record_uid. Real SQLite vault. */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { RekeyError } from "../errors.js";
import { commitSync } from "../stores/sqlite/async-adapter.js";
import type { VaultStore } from "../stores/sqlite/vault-store.js";
import { type TempVault, tempVault } from "../testing/vault.js";
import { getFieldValue, setFieldValue } from "../vault/record.js";
import type { CsvRecord } from "./commander-csv.js";
import { parseCommanderCsv } from "./commander-csv.js";
import { type ImportOptions, importedRecords, planCsvImport } from "./import-records.js";

/** The import's plan committed in one SQLite transaction (what importCsvRecords does through the port). */
function importCsvRecords(store: VaultStore, rows: CsvRecord[], actor: string, opts: ImportOptions = {}) {
  const plan = planCsvImport(store.listRecords(), store.listFolders(), rows, opts);
  return importedRecords(plan, commitSync(store, plan.ops, actor));
}

let vault: TempVault;
afterEach(() => vault?.cleanup());

const row = (title: string, login: string, key = "", extra = "") =>
  `,${title},${login},pw,,,,$type,pamUser,aws_access_key_id,${key},$secret:aws_secret_access_key,${key ? "s3cret" : ""},rotation_credentials,admin${extra}`;

test("a row whose IAM user is already managed is refused (exit 4, nothing imported), naming the record", async () => {
  vault = await tempVault();
  const store = vault.store;
  const [first] = importCsvRecords(store, parseCommanderCsv(`${row("alice (AWS)", "alice")}\n`), "test");
  const before = store.listRecords().length;
  assert.throws(
    () =>
      importCsvRecords(
        store,
        parseCommanderCsv(`${row("bob (AWS)", "bob")}\n${row("alice again", "ALICE")}\n`),
        "test",
      ),
    (err: unknown) =>
      err instanceof RekeyError &&
      err.exitCode === 4 &&
      err.message.includes(
        `line 2: IAM user "ALICE" is already managed by record "alice (AWS)" (${first!.stored.uid})`,
      ),
  );
  assert.equal(store.listRecords().length, before, "bob was not imported either");
});

test("two rows for one IAM user are refused, even with --update", async () => {
  vault = await tempVault();
  const csv = `${row("a", "carol")}\n${row("b", "carol")}\n`;
  for (const update of [false, true]) {
    assert.throws(
      () => importCsvRecords(vault.store, parseCommanderCsv(csv), "test", { update }),
      /lines 1 and 2 both manage IAM user "carol"/,
    );
  }
  assert.equal(vault.store.listRecords().length, 0);
});

test("--update changes the existing record in place: UID, history and scripts kept, the vault's key never replaced", async () => {
  vault = await tempVault();
  const store = vault.store;
  const [imported] = importCsvRecords(
    store,
    parseCommanderCsv(`${row("dave (AWS)", "dave", "AKIAOLDOLDOLDOLD0001")}\n`),
    "test",
  );
  const uid = imported!.stored.uid;
  // A rotation since: a new key, and a script attached.
  const s = store.getRecord(uid)!;
  const r = structuredClone(s.record);
  setFieldValue(r, "aws_access_key_id", "AKIANEWNEWNEWNEW0002");
  setFieldValue(r, "aws_secret_access_key", "new-secret", { type: "secret" });
  r.custom.push({ type: "script", label: "rotationScripts", value: [{ fileRef: "F1", command: "node" }] });
  store.saveRecord(uid, r, { expectedRevision: s.revision, actor: "rotate" });

  const out = importCsvRecords(
    store,
    parseCommanderCsv(`${row("dave (AWS)", "dave", "AKIAOLDOLDOLDOLD0001", ",aws_region,eu-west-1")}\n`),
    "test",
    { update: true },
  );
  assert.equal(out[0]?.action, "updated");
  assert.equal(out[0]?.stored.uid, uid);
  assert.match(out[0]?.notices[0] ?? "", /kept the vault's current key AKIANEWNEWNEWNEW0002/);
  const after = store.getRecord(uid)!.record;
  assert.equal(getFieldValue(after, "aws_access_key_id"), "AKIANEWNEWNEWNEW0002");
  assert.equal(getFieldValue(after, "aws_secret_access_key"), "new-secret");
  assert.equal(getFieldValue(after, "aws_region"), "eu-west-1", "the row's new setting taken");
  assert.ok(
    after.custom.some((f) => f.label === "rotationScripts"),
    "scripts kept",
  );
  assert.equal(store.history(uid).length, 3, "every version kept");
  assert.equal(store.listRecords().length, 1);
});

test("a row with $record_uid updates that record with --update, and is refused without", async () => {
  vault = await tempVault();
  const store = vault.store;
  const [imported] = importCsvRecords(store, parseCommanderCsv(`${row("erin (AWS)", "erin")}\n`), "test");
  const uid = imported!.stored.uid;
  const csv = `${row("erin renamed", "erin", "", `,$record_uid,${uid}`)}\n`;
  assert.throws(
    () => importCsvRecords(store, parseCommanderCsv(csv), "test"),
    /already exists.*--update|UID/s,
  );
  const [u] = importCsvRecords(store, parseCommanderCsv(csv), "test", { update: true });
  assert.equal(u?.action, "updated");
  assert.equal(store.getRecord(uid)?.record.title, "erin renamed");
});
