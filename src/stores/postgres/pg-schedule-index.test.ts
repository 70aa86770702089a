/**
 * The PostgreSQL vault's schedule index (migration 2) on a real server: rows written in chunks and read
 * back, deleted by UID, and a change mark that moves with record writes and index writes only.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pgTestServer } from "../../testing/pg-vault.js";
import { scheduleIndexRow } from "../../testing/vault.js";
import { newRecord } from "../../vault/record.js";
import { openPostgresVault } from "./pg-open.js";

const pg = pgTestServer();

const row = scheduleIndexRow;

test("rows written in chunks, read back, deleted; the change mark moves with writes only; shared by two openers", async () => {
  const { url, keyFile, store } = await pg.vault();
  const other = await openPostgresVault(url, { keyFile });
  try {
    const index = store.scheduleIndex;
    assert.deepEqual(await index.listRows(), []);
    const m0 = await index.changeMark();
    assert.deepEqual(await index.changeMark(), m0);
    const created = await store.createRecord(newRecord("pamUser", "alice"), { actor: "test" });
    const m1 = await index.changeMark();
    assert.notEqual(m1.records, m0.records, "a record write left the mark");
    assert.deepEqual(await index.listRecordRevisions(), [{ uid: created.uid, revision: 1 }]);

    const many = Array.from({ length: 1500 }, (_, i) =>
      row(`u${i}`, i % 2 ? { nextDueAt: null, lastOutcome: "succeeded", identities: [] } : {}),
    );
    await index.putRows(many);
    const m2 = await index.changeMark();
    assert.ok(m2.rows > m1.rows, "an index write left the mark");
    assert.equal(m2.records, m1.records);
    const read = new Map((await other.scheduleIndex.listRows()).map((r) => [r.uid, r]));
    assert.equal(read.size, 1500);
    assert.deepEqual(read.get("u0"), many[0]);
    assert.deepEqual(read.get("u1"), many[1]);

    await other.scheduleIndex.putRows([row("u0", { revision: 2, configurationUid: "c1" })]);
    const m3 = await index.changeMark();
    assert.ok(m3.rows > m2.rows, "another opener's index write left the mark");
    assert.ok((await index.listRows({ since: m2.rows })).some((r) => r.uid === "u0" && r.revision === 2));
    await index.deleteRows(["u1", "u3"]);
    const after = new Map((await index.listRows()).map((r) => [r.uid, r]));
    assert.equal(after.size, 1498);
    assert.deepEqual(after.get("u0"), row("u0", { revision: 2, configurationUid: "c1" }));
    assert.equal(
      other.scheduleIndex.digest("login\u0000default\u0000alice"),
      index.digest("login\u0000default\u0000alice"),
      "two openers of one vault digest alike",
    );
  } finally {
    await other.close();
    await store.close();
  }
});
