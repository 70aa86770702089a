/**
 * `iterateRecords` (recordPages) on both database backends, against `listRecords`: the same records in the same
 * order, filters applied, more than one page, a consumer that stops early leaves the store usable, and a record
 * whose pointer row was edited outside rekey still fails its integrity check.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pgTestServer } from "../testing/pg-vault.js";
import { tempVault } from "../testing/vault.js";
import { type AsyncVaultStore, RECORD_PAGE, recordPages, type WriteOp } from "../vault/async-store.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { asyncVaultStore } from "./sqlite/async-adapter.js";
import { sqliteRecordPages } from "./sqlite/sqlite-iterate.js";

/** More than two pages: pamUser and login records interleaved, a third of them in a folder. */
const COUNT = 2 * RECORD_PAGE + 37;

async function fill(store: AsyncVaultStore): Promise<string> {
  const folder = (await store.commit([{ op: "createFolder", name: "F", ref: "f" }], { actor: "t" }))
    .folders?.[0]?.uid;
  assert.ok(folder);
  const ops: WriteOp[] = [];
  for (let i = 0; i < COUNT; i++) {
    const r = newRecord(i % 3 === 0 ? "login" : "pamUser", `r-${i}`);
    setFieldValue(r, "login", `u-${i}`);
    ops.push({ op: "createRecord", record: r, folderUid: i % 3 === 1 ? folder : null });
  }
  await store.commit(ops, { actor: "t" });
  return folder;
}

async function collect(pages: AsyncIterable<StoredRecord[]>): Promise<{ uids: string[]; pages: number }> {
  const uids: string[] = [];
  let n = 0;
  for await (const page of pages) {
    assert.ok(page.length > 0, "no empty page");
    n++;
    uids.push(...page.map((r) => r.uid));
  }
  return { uids, pages: n };
}

async function sameAsListing(store: AsyncVaultStore, folder: string): Promise<void> {
  assert.ok(store.iterateRecords, "the store pages its records");
  for (const filter of [
    undefined,
    { type: "pamUser" },
    { folderUid: folder },
    { type: "login", folderUid: folder },
  ]) {
    const listed = (await store.listRecords(filter)).map((r) => r.uid);
    const paged = await collect(recordPages(store, filter));
    assert.deepEqual(paged.uids, listed, `filter ${JSON.stringify(filter)}`);
    if (filter === undefined) assert.equal(paged.pages, 3);
  }
  const [first] = await collect(recordPages(store)).then((c) => c.uids);
  const again = await store.getRecord(first!);
  assert.equal(again?.record.title, "r-0");
}

/** Stop after the first page, many times over (more than a connection pool holds): nothing is left held. */
async function stopsEarly(store: AsyncVaultStore): Promise<void> {
  for (let i = 0; i < 15; i++) {
    for await (const page of recordPages(store)) {
      assert.equal(page.length, RECORD_PAGE);
      break;
    }
  }
  assert.equal((await store.listRecords({ type: "login" })).length, Math.ceil(COUNT / 3));
  await store.commit([{ op: "audit", event: { action: "t", recordUid: null, actor: "t", details: {} } }], {
    actor: "t",
  });
}

describe("recordPages on SQLite", () => {
  test("the listing's records and order, page by page, with filters", async () => {
    const v = await tempVault({ passphrase: false });
    try {
      const store = asyncVaultStore(v.store);
      await sameAsListing(store, await fill(store));
      await stopsEarly(store);
      // Small pages: the keyset continues exactly after the last row of each page.
      const small = await collect(sqliteRecordPages(v.store as never, {}, 7));
      assert.deepEqual(
        small.uids,
        (await store.listRecords()).map((r) => r.uid),
      );
      assert.equal(small.pages, Math.ceil(COUNT / 7));
    } finally {
      v.cleanup();
    }
  });

  test("a pointer row edited outside rekey fails the listing's integrity check", async () => {
    const v = await tempVault({ passphrase: false });
    try {
      const store = asyncVaultStore(v.store);
      const r = await store.createRecord(newRecord("pamUser", "x"), { actor: "t" });
      const Database = (await import("better-sqlite3")).default;
      const db = new Database(v.path);
      db.prepare("UPDATE records SET created_at = 'forged' WHERE uid = ?").run(r.uid);
      db.close();
      await assert.rejects(collect(recordPages(store)), /integrity check/);
    } finally {
      v.cleanup();
    }
  });
});

describe("recordPages on PostgreSQL", () => {
  const pg = pgTestServer();

  test("the listing's records and order, through one cursor, with filters; early stops release it", async () => {
    const { store } = await pg.vault();
    try {
      await sameAsListing(store, await fill(store));
      await stopsEarly(store);
    } finally {
      await store.close();
    }
  });

  test("a pointer row edited outside rekey fails the listing's integrity check", async () => {
    const { store, url } = await pg.vault();
    try {
      const r = await store.createRecord(newRecord("pamUser", "x"), { actor: "t" });
      const db = url.slice(url.lastIndexOf("/") + 1);
      await pg.server().sql(db, "UPDATE records SET created_at = 'forged' WHERE uid = $1", [r.uid]);
      await assert.rejects(collect(recordPages(store)), /integrity check/);
      assert.equal((await store.listFolders()).length, 0, "the store is still usable");
    } finally {
      await store.close();
    }
  });
});
