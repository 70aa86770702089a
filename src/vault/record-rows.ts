/**
 * A live record's current row, opened the same way by every backend that keeps records itself
 * (stores/sqlite/sqlite-store.ts, stores/postgres/pg-records.ts): its `records` pointer row is checked
 * against its MAC (so it cannot be pointed at another revision, or another title, by hand) before the
 * version it points at is decrypted.
 */
import { integrityError } from "../errors.js";
import { sameBytes } from "./crypto.js";
import type { StoredRecord } from "./store.js";
import type { VaultCipher, VersionMeta } from "./vault-cipher.js";

/** The pointer row's columns joined with its version's (`v_revision` null: the version row is missing). */
export interface CurrentRecordRow {
  uid: string;
  revision: number;
  title_mac: Buffer;
  created_at: string;
  row_mac: Buffer;
  v_revision: number | null;
  folder_uid: string | null;
  saved_at: string;
  dek: Buffer;
  body: Buffer;
}

/**
 * Decrypt a current-record row, checking its pointer row was not edited outside rekey. `meta`: the version's
 * clear columns as the backend stores them; `restore`: what to restore from a backup ("the vault file").
 */
export function openCurrentRecord(
  cipher: VaultCipher,
  row: CurrentRecordRow,
  meta: VersionMeta,
  restore: string,
): StoredRecord {
  const expected = cipher.rowMac(row.uid, row.revision, row.title_mac, row.created_at);
  if (!sameBytes(expected, row.row_mac) || row.v_revision === null) {
    throw integrityError(
      `record ${row.uid} failed its integrity check: its index row was modified outside rekey`,
      `restore ${restore} from a backup, and run \`rekey audit verify\` to see what else changed`,
    );
  }
  return {
    uid: row.uid,
    folderUid: row.folder_uid,
    revision: row.revision,
    record: cipher.openRecord(meta, row),
    createdAt: row.created_at,
    updatedAt: row.saved_at,
  };
}
