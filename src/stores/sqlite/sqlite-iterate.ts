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
import type { RecordHead } from "../../vault/async-store.js";
import type { CurrentRecordRow } from "../../vault/record-rows.js";
import type { StoredRecord } from "../../vault/store.js";
import type { VaultStore } from "./vault-store.js";

/**
 * One page of current records (parameters: [folderUid,] after, limit): the columns of `listRecords`' rows,
 * but the four blobs (title MAC, row MAC, wrapped data key, sealed body) come back as one blob and their
 * lengths (`pageRow` cuts it into views). better-sqlite3 copies each blob into a Buffer of its own: at
 * 100,000 records one blob a row instead of four saved about a quarter of the time spent fetching rows.
 * CAST keeps the bytes as they are (the vault is UTF-8, so `||` copies them); a NULL (no version row) gives
 * a NULL blob and a row `#toStored` refuses.
 */
export function pageSql(byFolder: boolean): string {
  const where = byFolder ? "WHERE v.folder_uid = ? AND r.rowid > ?" : "WHERE r.rowid > ?";
  return `${PAGE_SELECT} ${where} ORDER BY r.rowid LIMIT ?`;
}

/** The rows of `pageSql` for `count` UIDs (parameters: the UIDs), in no particular order. */
export function byUidsSql(count: number): string {
  return `${PAGE_SELECT} WHERE r.uid IN (${Array.from({ length: count }, () => "?").join(",")})`;
}

const PAGE_SELECT = `SELECT r.rowid AS pos, r.uid, r.revision, r.created_at, v.revision AS v_revision,
    v.folder_uid, v.saved_at, v.actor, v.deleted,
    length(r.title_mac) AS title_len, length(r.row_mac) AS mac_len, length(v.dek) AS dek_len,
    CAST(r.title_mac || r.row_mac || v.dek || v.body AS BLOB) AS blobs
    FROM records r LEFT JOIN record_versions v ON v.uid = r.uid AND v.revision = r.revision`;

/** The current-record row as the store opens it (vault/record-rows.ts), with SQLite's version columns. */
export type PageRecordRow = CurrentRecordRow & { actor: string; deleted: number };

/** A row of `pageSql`: the current-record row's columns, its four blobs as one. */
export interface PageRow extends Omit<PageRecordRow, "title_mac" | "row_mac" | "dek" | "body"> {
  pos: number;
  title_len: number;
  mac_len: number;
  dek_len: number | null;
  blobs: Buffer | null;
}

/** The current-record row of a `pageSql` row: its blobs as views into the one blob (no copies). */
export function pageRow(r: PageRow): PageRecordRow {
  const b = r.blobs ?? Buffer.alloc(0);
  const macAt = r.title_len;
  const dekAt = macAt + r.mac_len;
  const bodyAt = dekAt + (r.dek_len ?? 0);
  return {
    uid: r.uid,
    revision: r.revision,
    created_at: r.created_at,
    // No blob: no version row (or no pointer bytes); #toStored refuses a row without its version.
    v_revision: r.blobs === null ? null : r.v_revision,
    folder_uid: r.folder_uid,
    saved_at: r.saved_at,
    actor: r.actor,
    deleted: r.deleted,
    title_mac: b.subarray(0, macAt),
    row_mac: b.subarray(macAt, dekAt),
    dek: b.subarray(dekAt, bodyAt),
    body: b.subarray(bodyAt),
  };
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

/**
 * One page of record heads (parameters: after, limit): the listing cache's key for each live record, from clear
 * columns only, in `pageSql`'s order. A missing version row gives a null saved_at: the record is then read
 * (and refused) as a listing would.
 *
 * `record_versions` keeps each version's ciphertext in its own b-tree (WITHOUT ROWID), so looking up saved_at
 * there reads a page of ciphertext a record: 0.5 s at 100,000 records. The covering index HEADS_INDEX makes it
 * 0.1 s; SQLite's planner does not pick it by itself (no statistics), hence INDEXED BY when it exists.
 */
export function headsSql(indexed: boolean): string {
  return `SELECT r.rowid AS pos, r.uid, r.revision, v.saved_at AS savedAt
  FROM records r LEFT JOIN record_versions v ${indexed ? `INDEXED BY ${HEADS_INDEX_NAME} ` : ""}ON v.uid = r.uid AND v.revision = r.revision
  WHERE r.rowid > ? ORDER BY r.rowid LIMIT ?`;
}

const HEADS_INDEX_NAME = "record_versions_saved_at";

/** Made at the first listing through the cache (not a schema change: an index changes no row). */
export const HEADS_INDEX = `CREATE INDEX IF NOT EXISTS ${HEADS_INDEX_NAME} ON record_versions (uid, revision, saved_at)`;

export const HEADS_INDEX_EXISTS = `SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = '${HEADS_INDEX_NAME}'`;

/** The pages of `headsPage` until the last. */
export async function* sqliteHeadPages(
  headsPage: (after: number, limit: number) => RecordHead[],
  limit: number,
): AsyncGenerator<RecordHead[]> {
  let after = 0;
  for (;;) {
    const heads = headsPage(after, limit);
    if (heads.length > 0) yield heads;
    if (heads.length < limit) return;
    after = heads[heads.length - 1]!.pos;
  }
}
