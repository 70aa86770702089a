/** Two real processes editing one record: the revision check holds across process boundaries. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnVaultChild as child, tempVault } from "../../testing/vault.js";
import { getFieldValue, newRecord } from "../../vault/record.js";
import { openVault } from "./sqlite-open.js";

test("two processes save the same record from the same revision: exactly one wins, no update is lost", async (t) => {
  const v = await tempVault();
  t.after(() => v.cleanup());
  const uid = v.store.createRecord(newRecord("pamUser", "shared"), { actor: "t" }).uid;
  v.store.close();

  const a = child(["edit", v.path, v.keyFile, uid, "note_a", "from A"]);
  const b = child(["edit", v.path, v.keyFile, uid, "note_b", "from B"]);
  t.after(() => {
    a.proc.kill();
    b.proc.kill();
  });
  assert.deepEqual(await a.next(), { ready: 1 });
  assert.deepEqual(await b.next(), { ready: 1 });
  a.send("go");
  b.send("go");
  const [ra, rb] = await Promise.all([a.next(), b.next()]);
  const results = [ra, rb];
  const winners = results.filter((r) => r.saved === 2);
  const losers = results.filter((r) => r.error === "conflict");
  assert.equal(winners.length, 1, JSON.stringify(results));
  assert.equal(losers.length, 1, JSON.stringify(results));
  assert.match(String(losers[0]!.message), new RegExp(`${uid}.*revision 1.*revision 2`));
  assert.equal(losers[0]!.hint, "re-read the record and apply your change again");

  const loser = ra.error ? a : b;
  loser.send("retry");
  assert.deepEqual(await loser.next(), { saved: 3 });
  assert.equal(await a.exited, 0);
  assert.equal(await b.exited, 0);

  const s = await openVault(v.path, { keyFile: v.keyFile });
  t.after(() => s.close());
  const final = s.getRecord(uid)!;
  assert.equal(final.revision, 3);
  assert.equal(getFieldValue(final.record, "note_a"), "from A");
  assert.equal(getFieldValue(final.record, "note_b"), "from B");
  assert.deepEqual(
    s.history(uid).map((h) => h.revision),
    [1, 2, 3],
  );
  assert.deepEqual(s.verifyAudit(), { ok: true, entries: 4 });
});
