/**
 * The listing's pages fetch each row's four blobs as one (sqlite-iterate.ts): the same records as
 * `listRecords` (whatever the sizes), and a changed byte in any of the four, or a missing version row, still
 * fails the integrity check. A real vault file, edited with plain SQL.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { RekeyError } from "../../errors.js";
import { tempVault } from "../../testing/vault.js";
import { newRecord, setFieldValue } from "../../vault/record.js";
import { sqliteRecordPages } from "./sqlite-iterate.js";
import type { VaultStore } from "./vault-store.js";

async function pages(store: VaultStore, limit = 3) {
  const out = [];
  for await (const page of sqliteRecordPages(
    store as Required<Pick<VaultStore, "listRecordsPage">>,
    {},
    limit,
  ))
    out.push(...page);
  return out;
}

test("pages give exactly listRecords' records, short and long bodies alike", async (t) => {
  const v = await tempVault({ passphrase: false });
  t.after(() => v.cleanup());
  for (let i = 0; i < 8; i++) {
    const r = newRecord(i % 2 ? "pamUser" : "login", `r${i}`);
    // Bodies from a few bytes to several pages (overflow pages in SQLite).
    setFieldValue(r, "notes", "é✓".repeat(i * i * 300));
    v.store.createRecord(r, { actor: "t" });
  }
  assert.deepEqual(await pages(v.store), v.store.listRecords());
});

test("a changed byte in the title MAC, row MAC, data key or body, or a missing version, fails the page", async (t) => {
  const v = await tempVault({ passphrase: false });
  t.after(() => v.cleanup());
  const uid = v.store.createRecord(newRecord("pamUser", "x"), { actor: "t" }).uid;
  v.store.close();
  const flip = (table: string, column: string) => (db: Database.Database) => {
    const row = db.prepare(`SELECT ${column} AS b FROM ${table} WHERE uid = ?`).get(uid) as { b: Buffer };
    const b = Buffer.from(row.b);
    b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 1;
    db.prepare(`UPDATE ${table} SET ${column} = ? WHERE uid = ?`).run(b, uid);
  };
  const cases: Array<[string, (db: Database.Database) => void]> = [
    ["title MAC", flip("records", "title_mac")],
    ["row MAC", flip("records", "row_mac")],
    ["data key", flip("record_versions", "dek")],
    ["body", flip("record_versions", "body")],
    ["no version row", (db) => db.prepare("DELETE FROM record_versions WHERE uid = ?").run(uid)],
  ];
  const { readFileSync, writeFileSync } = await import("node:fs");
  const pristine = readFileSync(v.path);
  const { openVault } = await import("./sqlite-open.js");
  for (const [name, tamper] of cases) {
    writeFileSync(v.path, pristine);
    const db = new Database(v.path);
    tamper(db);
    db.close();
    // Scoped, so that the open itself lets the edited rows through and the listing meets them.
    const s = await openVault(v.path, { keyFile: v.keyFile }, { check: "scoped" });
    try {
      await assert.rejects(
        pages(s),
        (err: unknown) =>
          err instanceof RekeyError &&
          err.kind === "integrity" &&
          // A missing version is found first by the open check's per-record part, run before any page.
          (name === "no version row" || err.message.includes(uid)),
        name,
      );
    } finally {
      s.close();
    }
  }
});
