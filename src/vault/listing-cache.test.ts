/**
 * The listing cache (listing-cache.ts) on real SQLite and PostgreSQL vaults: the same summaries as opening every
 * record, in the same order; hits after the first listing and no rewrite; a record saved, created or deleted
 * since is read from the vault; a damaged, foreign or replayed cache file never shows what the vault does not
 * hold; no secret is ever written to it; a listing stopped early writes nothing.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { asyncVaultStore } from "../stores/sqlite/async-adapter.js";
import { pgTestServer } from "../testing/pg-vault.js";
import { tempVault } from "../testing/vault.js";
import { type AsyncVaultStore, HEADS_PAGE, recordPages, type WriteOp } from "./async-store.js";
import { type Derivation, type ListingStats, listingCacheFile, listingPages } from "./listing-cache.js";
import { CHUNK_LINES } from "./listing-cache-file.js";
import { type ListedRecord, listingSummary, MASKED } from "./listing-summary.js";
import { getFieldValue, newRecord, setFieldValue } from "./record.js";

/** More than one page of heads and more than two chunks. */
const COUNT = HEADS_PAGE + CHUNK_LINES + 37;
const SECRET = (i: number) => `listing-secret-${i}-${"s".repeat(20)}`;

const LOGIN_OF: Derivation = {
  version: "test.v1",
  of: (s) => (s.record.type === "pamUser" ? { login: getFieldValue(s.record, "login") } : null),
};

async function fill(store: AsyncVaultStore): Promise<void> {
  const ops: WriteOp[] = [];
  for (let i = 0; i < COUNT; i++) {
    const r = newRecord(i % 5 === 0 ? "login" : "pamUser", `listing-title-${i}`);
    setFieldValue(r, "login", `listing-login-${i}`);
    setFieldValue(r, "password", SECRET(i));
    r.custom.push({ type: "secret", label: "aws_secret_access_key", value: [SECRET(i)] });
    r.notes = `notes ${SECRET(i)}`;
    ops.push({ op: "createRecord", record: r });
  }
  await store.commit(ops, { actor: "t" });
}

interface Listed {
  rows: ListedRecord[];
  stats: ListingStats;
}

async function list(store: AsyncVaultStore, dir: string | undefined, type?: string): Promise<Listed> {
  let stats: ListingStats | undefined;
  const rows: ListedRecord[] = [];
  for await (const page of listingPages(store, {
    dir,
    type,
    derive: LOGIN_OF,
    onDone: (s) => {
      stats = s;
    },
  })) {
    assert.ok(page.length > 0, "no empty page");
    rows.push(...page);
  }
  assert.ok(stats, "a complete listing reports its figures");
  return { rows, stats };
}

/** What a listing must show: every record opened, masked, with its derived value; as plain JSON. */
async function expected(store: AsyncVaultStore, type?: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const page of recordPages(store, type ? { type } : undefined)) {
    for (const s of page) {
      const m = listingSummary(s);
      out.push(plain({ ...m, derived: LOGIN_OF.of(m) }));
    }
  }
  return out;
}

const plain = (r: ListedRecord | Record<string, unknown>) =>
  JSON.parse(
    JSON.stringify({ ...r, record: (r as ListedRecord).record, derived: (r as ListedRecord).derived }),
  );

async function sameAsOpening(store: AsyncVaultStore, got: Listed, type?: string): Promise<void> {
  assert.deepEqual(got.rows.map(plain), await expected(store, type));
}

/** The cache file's bytes, decrypted chunk by chunk is not possible from outside: the raw file. */
function cacheFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".cache"))
    .map((f) => join(dir, f));
}

async function behaves(store: AsyncVaultStore, dir: string): Promise<void> {
  await fill(store);
  const source = store.listingCache;
  assert.ok(source, "the store offers the listing cache");
  const file = listingCacheFile(dir, source, LOGIN_OF);

  // First listing: every record opened, the file written (0600 in a 0700 directory).
  const first = await list(store, dir);
  assert.deepEqual(first.stats, { cached: 0, opened: COUNT, written: true, problem: "none" });
  await sameAsOpening(store, first);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const masked = first.rows.find((r) => r.record.title === "listing-title-1");
  assert.deepEqual(masked?.record.fields.find((f) => f.type === "password")?.value, [MASKED]);
  assert.equal(masked?.record.notes, "");
  assert.deepEqual(masked?.derived, { login: "listing-login-1" });

  // No secret, title or login in the file (sealed), and none of the secrets inside it either (the cache is
  // opened with the vault's key only here, through the source, to look).
  const bytes = readFileSync(file);
  for (const needle of [SECRET(1), "listing-title-1", "listing-login-1", "notes listing"]) {
    assert.equal(bytes.includes(needle), false, `${needle} is not readable in the file`);
  }

  // Second listing: all from the cache, nothing rewritten, the same answer.
  const before = readFileSync(file);
  const second = await list(store, dir);
  assert.deepEqual(second.stats, { cached: COUNT, opened: 0, written: false, problem: undefined });
  await sameAsOpening(store, second);
  assert.ok(readFileSync(file).equals(before), "an unchanged listing leaves the file as it was");
  const logins = await list(store, dir, "login");
  await sameAsOpening(store, logins, "login");

  // A record saved, one created, one deleted: each read from the vault, the rest from the cache.
  const [a, , c] = (await store.listRecords()).slice(-3);
  const edited = newRecord("pamUser", "renamed");
  setFieldValue(edited, "login", "u-renamed");
  await store.commit([{ op: "saveRecord", uid: a!.uid, record: edited, expectedRevision: a!.revision }], {
    actor: "t",
  });
  await store.commit([{ op: "deleteRecord", uid: c!.uid, expectedRevision: c!.revision }], { actor: "t" });
  await store.commit([{ op: "createRecord", record: newRecord("login", "new one") }], { actor: "t" });
  const third = await list(store, dir);
  assert.equal(third.stats.opened, 2);
  assert.equal(third.stats.cached, COUNT - 2);
  assert.equal(third.stats.written, true);
  await sameAsOpening(store, third);
  assert.deepEqual(third.rows.find((r) => r.uid === a!.uid)?.derived, { login: "u-renamed" });
  // The change was near the end: the file kept its first chunk as it was.
  const kept = readFileSync(file);
  assert.ok(kept.subarray(0, 1000).equals(before.subarray(0, 1000)), "the unchanged prefix is copied");
  assert.deepEqual((await list(store, dir)).stats, {
    cached: COUNT,
    opened: 0,
    written: false,
    problem: undefined,
  });

  // The old file put back (a replay): its entries for the changed records miss; the answer is the vault's.
  writeFileSync(file, before);
  const replayed = await list(store, dir);
  assert.equal(replayed.stats.opened, 2);
  await sameAsOpening(store, replayed);

  // A damaged chunk: the reader stops there, the rest is read from the vault, the file is written anew.
  const damaged = Buffer.from(readFileSync(file));
  damaged[damaged.length - 100]! ^= 0xff;
  writeFileSync(file, damaged);
  const repaired = await list(store, dir);
  assert.match(repaired.stats.problem ?? "", /chunk \d+ does not open/);
  assert.ok(repaired.stats.opened > 0 && repaired.stats.written);
  await sameAsOpening(store, repaired);

  // Another derivation's version is another file: never the values of another computation.
  const other = { ...LOGIN_OF, version: "test.v2" };
  assert.notEqual(listingCacheFile(dir, source, other), file);

  // Stopped early: nothing written.
  writeFileSync(file, "not a cache");
  for await (const _ of listingPages(store, { dir, derive: LOGIN_OF })) break;
  assert.equal(readFileSync(file, "utf8"), "not a cache");
  assert.deepEqual(
    cacheFiles(dir).filter((f) => f !== file),
    [],
    "no temporary file left",
  );
  const fresh = await list(store, dir);
  assert.equal(fresh.stats.problem, "none");
  await sameAsOpening(store, fresh);

  // Without a directory: every record opened, the same answer.
  const off = await list(store, undefined);
  assert.deepEqual(off.stats, { cached: 0, opened: COUNT, written: false, problem: undefined });
  await sameAsOpening(store, off);
}

describe("the listing cache on SQLite", () => {
  test("hits, misses, replays, damage, no secrets, nothing written when stopped", async () => {
    const v = await tempVault({ passphrase: false });
    try {
      await behaves(asyncVaultStore(v.store), join(v.dir, "cache"));
    } finally {
      v.cleanup();
    }
  });

  test("a version row changed by hand misses and fails its integrity check; another vault's file is not used", async () => {
    const v = await tempVault({ passphrase: false });
    const w = await tempVault({ passphrase: false });
    try {
      const store = asyncVaultStore(v.store);
      const dir = join(v.dir, "cache");
      const r = await store.createRecord(newRecord("pamUser", "x"), { actor: "t" });
      await list(store, dir);
      // Another vault's cache under this vault's name: its chunks do not open under this vault's key.
      const otherStore = asyncVaultStore(w.store);
      await otherStore.createRecord(newRecord("pamUser", "y"), { actor: "t" });
      const otherDir = join(w.dir, "cache");
      await list(otherStore, otherDir);
      const mine = listingCacheFile(dir, store.listingCache!, LOGIN_OF);
      writeFileSync(mine, readFileSync(cacheFiles(otherDir)[0]!));
      const foreign = await list(store, dir);
      assert.match(foreign.stats.problem ?? "", /does not open/);
      assert.deepEqual(
        foreign.rows.map((x) => x.record.title),
        ["x"],
      );
      const Database = (await import("better-sqlite3")).default;
      const db = new Database(v.path);
      db.prepare("UPDATE record_versions SET saved_at = '2020-01-01T00:00:00.000Z' WHERE uid = ?").run(r.uid);
      db.close();
      await assert.rejects(list(store, dir), /integrity check/);
    } finally {
      v.cleanup();
      w.cleanup();
    }
  });

  test("writing the cache removes what killed listings and vaults gone long ago left, and nothing else", async () => {
    const v = await tempVault({ passphrase: false });
    try {
      const store = asyncVaultStore(v.store);
      await store.createRecord(newRecord("pamUser", "x"), { actor: "t" });
      const dir = join(v.dir, "cache");
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const files = {
        oldTmp: [".tmp-1-aaaaaa", 2 * 3600],
        newTmp: [".tmp-2-bbbbbb", 60],
        oldCache: ["gone-vault.cache", 40 * 86_400],
        newCache: ["other-vault.cache", 86_400],
        notOurs: ["notes.txt", 400 * 86_400],
      } as const;
      for (const [name, ageS] of Object.values(files)) {
        writeFileSync(join(dir, name), "x");
        const t = Date.now() / 1000 - ageS;
        utimesSync(join(dir, name), t, t);
      }
      assert.equal((await list(store, dir)).stats.written, true);
      const left = new Set(readdirSync(dir));
      assert.equal(left.has(files.oldTmp[0]), false);
      assert.equal(left.has(files.oldCache[0]), false);
      assert.ok(left.has(files.newTmp[0]) && left.has(files.newCache[0]) && left.has(files.notOurs[0]));
    } finally {
      v.cleanup();
    }
  });

  test("a directory that cannot be written: listed all the same, nothing cached", async () => {
    const v = await tempVault({ passphrase: false });
    try {
      const store = asyncVaultStore(v.store);
      await store.createRecord(newRecord("pamUser", "x"), { actor: "t" });
      const dir = join(v.dir, "cache");
      writeFileSync(dir, "a file, not a directory");
      const got = await list(store, dir);
      assert.deepEqual(got.stats, { cached: 0, opened: 1, written: false, problem: "none" });
    } finally {
      v.cleanup();
    }
  });
});

describe("the listing cache on PostgreSQL", () => {
  const pg = pgTestServer();

  test("hits, misses, replays, damage, no secrets, nothing written when stopped", async () => {
    const { store, dir } = await pg.vault();
    try {
      await behaves(store, join(dir, "cache"));
    } finally {
      await store.close();
    }
  });
});
