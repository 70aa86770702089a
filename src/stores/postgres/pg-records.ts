/**
 * The record and folder rows of the PostgreSQL vault, sealed exactly as the SQLite vault's (vault-cipher.ts):
 * each version under its own data key, AAD = its clear columns; the `records` pointer row MACed so it cannot
 * be pointed at another revision by hand. Every function here runs inside the caller's transaction.
 */
import { conflict, integrityError, notFound } from "../../errors.js";
import type { KeeperRecord } from "../../vault/record.js";
import { openCurrentRecord } from "../../vault/record-rows.js";
import type { Folder, StoredRecord } from "../../vault/store.js";
import type { VaultCipher, VersionMeta } from "../../vault/vault-cipher.js";
import type { Queryable } from "./pg-db.js";

export interface VersionRow {
  uid: string;
  revision: number;
  folder_uid: string | null;
  saved_at: string;
  actor: string;
  deleted: boolean;
  dek: Buffer;
  body: Buffer;
}

interface CurrentRow extends VersionRow {
  title_mac: Buffer;
  created_at: string;
  row_mac: Buffer;
  v_revision: number | null;
}

interface FolderRow {
  uid: string;
  parent_uid: string | null;
  shared: boolean;
  created_at: string;
  name_ct: Buffer;
}

export const CURRENT_SQL = `SELECT r.uid, r.revision, r.title_mac, r.created_at, r.row_mac, v.revision AS v_revision,
  v.folder_uid, v.saved_at, v.actor, v.deleted, v.dek, v.body
  FROM records r LEFT JOIN record_versions v ON v.uid = r.uid AND v.revision = r.revision`;

export const versionMeta = (v: VersionRow): VersionMeta => ({
  uid: v.uid,
  revision: v.revision,
  folderUid: v.folder_uid,
  savedAt: v.saved_at,
  actor: v.actor,
  deleted: v.deleted,
});

export class PgRecords {
  readonly #cipher: VaultCipher;
  readonly #where: string;

  constructor(cipher: VaultCipher, where: string) {
    this.#cipher = cipher;
    this.#where = where;
  }

  /** Decrypt a current-record row, checking its pointer row was not edited outside rekey. */
  toStored(row: CurrentRow): StoredRecord {
    return openCurrentRecord(this.#cipher, row, versionMeta(row), "the database");
  }

  async current(q: Queryable, uid: string): Promise<StoredRecord | undefined> {
    const { rows } = await q.query<CurrentRow>(`${CURRENT_SQL} WHERE r.uid = $1`, [uid]);
    return rows[0] ? this.toStored(rows[0]) : undefined;
  }

  async list(q: Queryable, where = "", params: unknown[] = []): Promise<StoredRecord[]> {
    const { rows } = await q.query<CurrentRow>(`${CURRENT_SQL} ${where} ORDER BY r.pos`, params);
    return rows.map((r) => this.toStored(r));
  }

  async uidWasUsed(q: Queryable, uid: string): Promise<boolean> {
    const { rows } = await q.query("SELECT 1 FROM record_versions WHERE uid = $1 LIMIT 1", [uid]);
    return rows.length > 0;
  }

  /** The current record for a save/delete, or the right error: unknown, deleted, rolled back, stale. */
  async forChange(
    q: Queryable,
    uid: string,
    expectedRevision: number,
    title?: string,
  ): Promise<StoredRecord> {
    const row = await this.current(q, uid);
    if (!row) {
      if (await this.uidWasUsed(q, uid)) {
        throw notFound(`record ${uid} was deleted`, `its history is kept: rekey record history ${uid}`);
      }
      throw notFound(`no record with UID ${uid} in ${this.#where}`, "list them with: rekey record list");
    }
    const { rows } = await q.query<{ r: number }>(
      "SELECT MAX(revision) AS r FROM record_versions WHERE uid = $1",
      [uid],
    );
    if (rows[0]?.r !== row.revision) {
      throw integrityError(
        `record ${uid} is at revision ${row.revision} but its newest saved version is ${rows[0]?.r}: it was rolled back outside rekey`,
        "restore the database from a backup, and run `rekey audit verify` to see what else changed",
      );
    }
    if (row.revision !== expectedRevision) throw staleRevision(uid, expectedRevision, row.revision, title);
    return row;
  }

  async insertVersion(q: Queryable, m: VersionMeta, record: KeeperRecord): Promise<void> {
    const { dek, body } = this.#cipher.sealRecord(m, record);
    await q.query(
      "INSERT INTO record_versions (uid, revision, folder_uid, saved_at, actor, deleted, dek, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      [m.uid, m.revision, m.folderUid, m.savedAt, m.actor, m.deleted, dek, body],
    );
  }

  async insertCurrent(q: Queryable, uid: string, title: string, createdAt: string): Promise<void> {
    const titleMac = this.#cipher.titleMac(title);
    await q.query(
      "INSERT INTO records (uid, revision, title_mac, created_at, row_mac) VALUES ($1, 1, $2, $3, $4)",
      [uid, titleMac, createdAt, this.#cipher.rowMac(uid, 1, titleMac, createdAt)],
    );
  }

  /** Move the pointer from `previous` to `previous + 1`; a conflict when another writer moved it first. */
  async advanceCurrent(
    q: Queryable,
    uid: string,
    title: string,
    createdAt: string,
    previous: number,
  ): Promise<void> {
    const titleMac = this.#cipher.titleMac(title);
    const revision = previous + 1;
    const { rowCount } = await q.query(
      "UPDATE records SET revision = $2, title_mac = $3, row_mac = $4 WHERE uid = $1 AND revision = $5",
      [uid, revision, titleMac, this.#cipher.rowMac(uid, revision, titleMac, createdAt), previous],
    );
    if (rowCount !== 1) throw staleRevision(uid, previous, undefined, title);
  }

  async deleteCurrent(q: Queryable, uid: string, revision: number): Promise<void> {
    const { rowCount } = await q.query("DELETE FROM records WHERE uid = $1 AND revision = $2", [
      uid,
      revision,
    ]);
    if (rowCount !== 1) throw staleRevision(uid, revision);
  }

  async history(q: Queryable, uid: string) {
    const { rows } = await q.query<VersionRow>(
      "SELECT uid, revision, folder_uid, saved_at, actor, deleted, dek, body FROM record_versions WHERE uid = $1 ORDER BY revision",
      [uid],
    );
    return rows.map((v) => ({
      revision: v.revision,
      savedAt: v.saved_at,
      actor: v.actor,
      record: this.#cipher.openRecord(versionMeta(v), v),
      deleted: v.deleted,
    }));
  }

  // ---- folders ----------------------------------------------------------------------------------------

  async requireFolder(q: Queryable, uid: string): Promise<void> {
    const { rows } = await q.query("SELECT 1 FROM folders WHERE uid = $1", [uid]);
    if (rows.length === 0) {
      throw notFound(`no folder with UID ${uid} in ${this.#where}`, "list them with: rekey folder list");
    }
  }

  async folders(q: Queryable): Promise<Folder[]> {
    const { rows } = await q.query<FolderRow>(
      "SELECT uid, parent_uid, shared, created_at, name_ct FROM folders ORDER BY pos",
    );
    return rows.map((f) => {
      const m = { uid: f.uid, parentUid: f.parent_uid, shared: f.shared, createdAt: f.created_at };
      return {
        uid: m.uid,
        name: this.#cipher.openFolderName(m, f.name_ct),
        parentUid: m.parentUid,
        shared: m.shared,
      };
    });
  }

  async insertFolder(
    q: Queryable,
    m: { uid: string; parentUid: string | null; shared: boolean; createdAt: string },
    name: string,
  ): Promise<void> {
    await q.query(
      "INSERT INTO folders (uid, parent_uid, shared, created_at, name_ct) VALUES ($1, $2, $3, $4, $5)",
      [m.uid, m.parentUid, m.shared, m.createdAt, this.#cipher.sealFolderName(m, name)],
    );
  }
}

function staleRevision(uid: string, expected: number, actual?: number, title?: string) {
  const name = title === undefined ? uid : `"${title}" (${uid})`;
  const has = actual === undefined ? "the vault has a newer one" : `the vault has revision ${actual}`;
  return conflict(
    `record ${name} was changed by someone else: your change is based on revision ${expected}, ${has}`,
    "re-read the record and apply your change again",
  );
}
