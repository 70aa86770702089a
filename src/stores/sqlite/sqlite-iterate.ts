/**
 * `iterateRecords` for the SQLite vault: keyset pages over the `records` rowid (the order `listRecords` gives),
 * each page one short read transaction, so a listing of 100,000 records never holds them all and never keeps
 * a read snapshot open while its output is written (a writer's checkpoint is not held back).
 *
 * Why keyset pages and not one `stmt.iterate()`: better-sqlite3 keeps the connection busy while an iterator is
 * open (no other statement may run on it until the iterator ends), and a consumer that writes to a slow pipe
 * would hold the snapshot for as long. A saved record keeps its rowid (the pointer row is upserted), so a
 * record changed between pages is seen once, as its page read it.
 */
import type { StoredRecord } from "../../vault/store.js";
import type { VaultStore } from "./vault-store.js";

/** The WHERE/ORDER/LIMIT of one page after the current-record SELECT (parameters: [folderUid,] after, limit). */
export function pageSql(currentSql: string, byFolder: boolean): string {
  const where = byFolder ? "WHERE v.folder_uid = ? AND r.rowid > ?" : "WHERE r.rowid > ?";
  return `${currentSql.replace("SELECT ", "SELECT r.rowid AS pos, ")} ${where} ORDER BY r.rowid LIMIT ?`;
}

/** The pages of `store.listRecordsPage` until the last (pages emptied by the type filter are skipped). */
export async function* sqliteRecordPages(
  store: Required<Pick<VaultStore, "listRecordsPage">>,
  filter: { type?: string; folderUid?: string },
  limit: number,
): AsyncGenerator<StoredRecord[]> {
  let after = 0;
  for (;;) {
    const page = store.listRecordsPage(filter, after, limit);
    if (page.records.length > 0) yield page.records;
    if (page.next === undefined) return;
    after = page.next;
  }
}
