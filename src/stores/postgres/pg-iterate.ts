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
import type { RecordHead } from "../../vault/async-store.js";
import type { StoredRecord } from "../../vault/store.js";
import { mapPgError, type PgDb } from "./pg-db.js";
import { CURRENT_SQL, type PgRecords } from "./pg-records.js";

type CurrentRow = Parameters<PgRecords["toStored"]>[0];

export function pgRecordPages(
  db: PgDb,
  records: PgRecords,
  filter: { type?: string; folderUid?: string },
  limit: number,
): AsyncGenerator<StoredRecord[]> {
  const byFolder = filter.folderUid !== undefined;
  return pgCursorPages<CurrentRow, StoredRecord>(
    db,
    `${CURRENT_SQL} ${byFolder ? "WHERE v.folder_uid = $1" : ""} ORDER BY r.pos`,
    byFolder ? [filter.folderUid] : [],
    limit,
    (rows) => {
      const out = rows.map((r) => records.toStored(r));
      return filter.type === undefined ? out : out.filter((s) => s.record.type === filter.type);
    },
  );
}

/** The listing cache's heads (clear columns only), in `pgRecordPages`' order. */
export function pgHeadPages(db: PgDb, limit: number): AsyncGenerator<RecordHead[]> {
  return pgCursorPages<RecordHead & { pos: string | number }, RecordHead>(
    db,
    `SELECT r.pos, r.uid, r.revision, v.saved_at AS "savedAt"
     FROM records r LEFT JOIN record_versions v ON v.uid = r.uid AND v.revision = r.revision ORDER BY r.pos`,
    [],
    limit,
    // pos is a bigint column: node-postgres gives it as a string.
    (rows) => rows.map((r) => ({ pos: Number(r.pos), uid: r.uid, revision: r.revision, savedAt: r.savedAt })),
  );
}

/** The rows of `sql` through a cursor, `limit` at a time, each batch mapped to a page (empty pages skipped). */
async function* pgCursorPages<Row extends object, Out>(
  db: PgDb,
  sql: string,
  params: unknown[],
  limit: number,
  toPage: (rows: Row[]) => Out[],
): AsyncGenerator<Out[]> {
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
    await client.query(`DECLARE rekey_records NO SCROLL CURSOR FOR ${sql}`, params);
    for (;;) {
      const { rows } = await client.query<Row>(`FETCH ${Number(limit)} FROM rekey_records`);
      const page = toPage(rows);
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
