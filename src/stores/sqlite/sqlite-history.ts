/**
 * The local vault's rotation history: one encrypted row per entry (the gateway writes one per rotation
 * attempt), appended together with its audit-log copy.
 *
 * Invariants:
 * - The entry (which may hold script output) is AES-256-GCM ciphertext under its own random data key,
 *   wrapped under a key derived from the VMK for this purpose only. The AAD binds the body to its row
 *   (seq, id, record, times), so a row cannot be edited, moved or swapped without an integrity error.
 * - Append-only: rows are never updated. An entry and its audit entry commit together or not at all, so
 *   a deleted history row still shows as a gap against the audit log.
 * - The table is additive (created on first append, `IF NOT EXISTS`): a vault without it reads as an
 *   empty history, and a rekey that does not know the table ignores it, so the schema version stays 1.
 */
import { conflict } from "../../errors.js";
import { zeroize } from "../../vault/crypto.js";
import { checkHistoryAudit, checkHistoryEntry, checkHistoryLimit } from "../../vault/history-entry.js";
import { type HistoryRow, HistorySealer } from "../../vault/history-rows.js";
import type { AuditEntry, AuditEvent, RotationHistoryEntry } from "../../vault/store.js";
import { toJsonBytes } from "../../vault/vault-cipher.js";
import type { VaultState } from "../../vault/vault-head.js";
import type { SqlDb } from "./sqlite-db.js";

export const HISTORY_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS rotation_history (
  seq        INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  record_uid TEXT NOT NULL,
  started_at TEXT NOT NULL,
  saved_at   TEXT NOT NULL,
  dek        BLOB NOT NULL,    -- the entry's random data key, wrapped under the history KEK
  body       BLOB NOT NULL     -- the entry JSON sealed under dek, AAD = all the columns above
);
CREATE INDEX IF NOT EXISTS rotation_history_by_record ON rotation_history (record_uid, seq);
`;

export class SqliteHistory {
  readonly #sql: SqlDb;
  readonly #rows: HistorySealer;
  readonly #audit: (event: AuditEvent) => AuditEntry;
  readonly #change: <T>(fn: (state: VaultState) => T) => T;
  /** Only a positive answer is cached: another process may create the table at any time. */
  #exists = false;

  /**
   * `vmk` is only read (a purpose key is derived from it); `audit` appends inside the caller's transaction;
   * `change` is the store's write transaction that also advances the signed vault head (count, last seq).
   */
  constructor(
    sql: SqlDb,
    vmk: Buffer,
    audit: (event: AuditEvent) => AuditEntry,
    change: <T>(fn: (state: VaultState) => T) => T,
  ) {
    this.#sql = sql;
    this.#rows = new HistorySealer(vmk);
    this.#audit = audit;
    this.#change = change;
  }

  append(entry: RotationHistoryEntry, audit: AuditEvent): RotationHistoryEntry {
    checkHistoryEntry(entry);
    const plain = toJsonBytes(entry, `history entry ${entry.id}`);
    const stored = JSON.parse(plain.toString("utf8")) as RotationHistoryEntry;
    checkHistoryAudit(entry, audit);
    const result = this.#change((state) => {
      // Idempotent; only remembered once committed (a rolled-back append also rolls back the table).
      if (!this.#exists) {
        for (const statement of HISTORY_TABLE_SQL.split(";").filter((s) => s.trim()))
          this.#sql.run(statement);
      }
      if (this.#sql.get("SELECT 1 FROM rotation_history WHERE id = ?", entry.id)) {
        throw conflict(`history entry ${entry.id} already exists`, "give each entry a new id");
      }
      const last = this.#sql.get<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM rotation_history");
      let r: HistoryRow;
      try {
        r = this.#rows.seal(entry, last?.seq ?? 0, plain);
      } finally {
        zeroize(plain);
      }
      this.#sql.run(
        "INSERT INTO rotation_history (seq, id, record_uid, started_at, saved_at, dek, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        r.seq,
        r.id,
        r.record_uid,
        r.started_at,
        r.saved_at,
        r.dek,
        r.body,
      );
      state.history.n++;
      state.history.last = r.seq;
      this.#audit({ ...audit, recordUid: entry.recordUid });
      return stored;
    });
    // Inside an enclosing transaction (a commit, a group of writes) it may still be rolled back.
    if (!this.#sql.inTransaction) this.#exists = true;
    return result;
  }

  list(filter: { recordUid?: string; limit?: number } = {}): RotationHistoryEntry[] {
    checkHistoryLimit(filter.limit);
    return this.#sql.read(() => {
      if (!this.#tableExists()) return [];
      // One record's entries through the (record_uid, seq) index: a single statement with "@rec IS NULL OR"
      // cannot use it, and scanned the whole table (every record's entries) for each record's history.
      const limit = filter.limit ?? -1;
      const rows =
        filter.recordUid === undefined
          ? this.#sql.all<HistoryRow>("SELECT * FROM rotation_history ORDER BY seq DESC LIMIT ?", limit)
          : this.#sql.all<HistoryRow>(
              "SELECT * FROM rotation_history WHERE record_uid = ? ORDER BY seq DESC LIMIT ?",
              filter.recordUid,
              limit,
            );
      return rows.reverse().map((r) => this.#rows.open(r));
    });
  }

  destroy(): void {
    this.#rows.destroy();
  }

  #tableExists(): boolean {
    if (!this.#exists) {
      this.#exists = Boolean(
        this.#sql.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rotation_history'"),
      );
    }
    return this.#exists;
  }
}
