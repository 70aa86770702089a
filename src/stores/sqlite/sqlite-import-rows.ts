/**
 * `rekey vault copy` into a local vault: the copied rows (stores/copy-rows.ts) inserted as they are into a new,
 * empty vault file (SqliteVaultStore.importRows runs this inside its write transaction).
 */
import { RekeyError } from "../../errors.js";
import type { VaultRows } from "../copy-rows.js";
import type { SqlDb } from "./sqlite-db.js";
import { HISTORY_TABLE_SQL } from "./sqlite-history.js";

/** The rotation_history table as sqlite-history.ts creates it on first append (left out without history rows). */
const HISTORY_TABLE_STATEMENTS = HISTORY_TABLE_SQL.split(";").filter((s) => s.trim());

/**
 * Insert the copied rows into an empty vault (SqliteVaultStore.importRows, inside its write transaction).
 * The meta entries (vault id, key slots, audit head) were written with the schema.
 */
export function insertSqliteRows(sql: SqlDb, rows: VaultRows): void {
  if (sql.get("SELECT 1 FROM record_versions LIMIT 1") || sql.get("SELECT 1 FROM audit LIMIT 1")) {
    throw new RekeyError(
      "internal",
      `vault copy: ${sql.path} is not empty: rows are imported only into a new vault`,
    );
  }
  for (const f of rows.folders) {
    sql.run(
      "INSERT INTO folders (uid, parent_uid, shared, created_at, name_ct) VALUES (?, ?, ?, ?, ?)",
      f.uid,
      f.parentUid,
      f.shared ? 1 : 0,
      f.createdAt,
      f.nameCt,
    );
  }
  for (const v of rows.versions) {
    sql.run(
      "INSERT INTO record_versions (uid, revision, folder_uid, saved_at, actor, deleted, dek, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      v.uid,
      v.revision,
      v.folderUid,
      v.savedAt,
      v.actor,
      v.deleted ? 1 : 0,
      v.dek,
      v.body,
    );
  }
  for (const r of rows.records) {
    sql.run(
      "INSERT INTO records (uid, revision, title_mac, created_at, row_mac) VALUES (?, ?, ?, ?, ?)",
      r.uid,
      r.revision,
      r.titleMac,
      r.createdAt,
      r.rowMac,
    );
  }
  for (const a of rows.audit) {
    sql.run(
      "INSERT INTO audit (seq, at, action, record_uid, actor, details, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
      a.seq,
      a.at,
      a.action,
      a.recordUid,
      a.actor,
      a.details,
      a.hash,
    );
  }
  for (const j of rows.journal) {
    sql.run(
      "INSERT INTO journal (id, record_uid, kind, created_at, updated_at, dek, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
      j.id,
      j.recordUid,
      j.kind,
      j.createdAt,
      j.updatedAt,
      j.dek,
      j.body,
    );
  }
  if (rows.history.length > 0) for (const statement of HISTORY_TABLE_STATEMENTS) sql.run(statement);
  for (const h of rows.history) {
    sql.run(
      "INSERT INTO rotation_history (seq, id, record_uid, started_at, saved_at, dek, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
      h.seq,
      h.id,
      h.recordUid,
      h.startedAt,
      h.savedAt,
      h.dek,
      h.body,
    );
  }
}
