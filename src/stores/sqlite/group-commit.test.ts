/**
 * Group commit on a real vault file: writes asked for together share one transaction, each resolves only
 * once committed, and one failing write neither takes the others down nor is half-applied.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../../errors.js";
import { tempVault } from "../../testing/vault.js";
import { newRecord, setFieldValue } from "../../vault/record.js";
import { asyncVaultStore } from "./async-adapter.js";
import { groupCommits } from "./group-commit.js";
import { openVault } from "./sqlite-open.js";

const journal = (id: string) => ({
  id,
  recordUid: "GroupRecordUid00000000",
  kind: "rotation",
  state: { n: id },
});

test("writes asked for together commit once, and are on disk when they resolve", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const store = asyncVaultStore(v.store, { groupCommits: true });
  const gen = () => v.store.checkIntegrity().generation;
  const before = gen();
  const ids = Array.from({ length: 20 }, (_, i) => `j${i}`);
  await Promise.all(ids.map((id) => store.putJournal(journal(id))));
  assert.equal(gen(), before + 1, "one signed head generation for the whole group");
  // Another connection (as another process would) sees every entry, and the vault checks out.
  const other = await openVault(v.path, { keyFile: v.keyFile });
  t.after(() => other.close());
  assert.deepEqual(
    other
      .listJournal()
      .map((j) => j.id)
      .sort(),
    [...ids].sort(),
  );
  other.checkIntegrity();
  // Alone, a write is its own transaction, as before.
  await store.deleteJournal("j0");
  assert.equal(gen(), before + 2);
});

test("a failing write in a group rejects alone; the others commit, it changes nothing", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const store = asyncVaultStore(v.store, { groupCommits: true });
  const r = newRecord("login", "grouped");
  setFieldValue(r, "login", "a");
  const created = v.store.createRecord(r, { actor: "test" });
  setFieldValue(r, "login", "b");
  const [a, stale, b] = await Promise.allSettled([
    store.putJournal(journal("before")),
    store.saveRecord(created.uid, r, { expectedRevision: created.revision + 5, actor: "test" }),
    store.putJournal(journal("after")),
  ]);
  assert.equal(a.status, "fulfilled");
  assert.equal(b.status, "fulfilled");
  assert.equal(stale.status, "rejected");
  assert.ok((stale as PromiseRejectedResult).reason instanceof RekeyError);
  assert.deepEqual(
    v.store
      .listJournal()
      .map((j) => j.id)
      .sort(),
    ["after", "before"],
  );
  assert.equal(v.store.getRecord(created.uid)?.revision, created.revision, "the stale save changed nothing");
  v.store.checkIntegrity();
});

test("groupCommits: a group with a failing write is rolled back and applied write by write (no file)", async () => {
  const applied: string[] = [];
  // A stand-in transaction: what a group applied is undone when it throws.
  const transaction = <T>(fn: () => T): T => {
    const mark = applied.length;
    try {
      return fn();
    } catch (err) {
      applied.length = mark;
      throw err;
    }
  };
  const run = groupCommits(transaction);
  const results = await Promise.allSettled([
    run(() => applied.push("a")),
    run(() => {
      throw new Error("b is wrong");
    }),
    run(() => applied.push("c")),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "rejected", "fulfilled"],
  );
  assert.deepEqual(applied, ["a", "c"], "each applied once, in order; b not at all");
});
