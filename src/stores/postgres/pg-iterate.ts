/**
 * `iterateRecords` for the PostgreSQL vault: one server-side cursor (DECLARE ... FETCH n) in a read-only
 * REPEATABLE READ transaction, so a listing of 100,000 records is one snapshot and one sort, read a page at a
 * time and never held whole in memory. The transaction (and its pooled connection) lasts as long as the
 * consumer reads; breaking out of the loop ends it (the generator's `finally`).
 *
 * Why a cursor and not keyset pages: the order (`records.pos`) has no index, so each `pos > $1 ... LIMIT n`
 * page would sort the whole table again.
 */
import type { PoolClient } from "pg";
import type { StoredRecord } from "../../vault/store.js";
import { mapPgError, type PgDb } from "./pg-db.js";
import { CURRENT_SQL, type PgRecords } from "./pg-records.js";

type CurrentRow = Parameters<PgRecords["toStored"]>[0];

export async function* pgRecordPages(
  db: PgDb,
  records: PgRecords,
  filter: { type?: string; folderUid?: string },
  limit: number,
): AsyncGenerator<StoredRecord[]> {
  let client: PoolClient;
  try {
    client = await db.pool.connect();
  } catch (err) {
    throw mapPgError(err, db.where);
  }
  let broken = false;
  let done = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const byFolder = filter.folderUid !== undefined;
    await client.query(
      `DECLARE rekey_records NO SCROLL CURSOR FOR ${CURRENT_SQL} ${byFolder ? "WHERE v.folder_uid = $1" : ""} ORDER BY r.pos`,
      byFolder ? [filter.folderUid] : [],
    );
    for (;;) {
      const { rows } = await client.query<CurrentRow>(`FETCH ${Number(limit)} FROM rekey_records`);
      const out = rows.map((r) => records.toStored(r));
      const page = filter.type === undefined ? out : out.filter((s) => s.record.type === filter.type);
      if (page.length > 0) yield page;
      if (rows.length < limit) break;
    }
    await client.query("COMMIT");
    done = true;
  } catch (err) {
    throw mapPgError(err, db.where);
  } finally {
    if (!done) {
      // An error, or the consumer stopped early: end the transaction (its cursor with it).
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true; // the connection is gone: do not give it back to the pool
      }
    }
    client.release(broken);
  }
}
