/**
 * The PostgreSQL vault's rotation history, sealed exactly as the SQLite vault's (sqlite-history.ts): each
 * entry under its own random data key wrapped under a VMK-derived key for this purpose only, the AAD binding
 * the body to its row (seq, id, record, times). Append-only; an entry and its audit copy commit together.
 */
import { conflict } from "../../errors.js";
import { zeroize } from "../../vault/crypto.js";
import { checkHistoryAudit, checkHistoryEntry, checkHistoryLimit } from "../../vault/history-entry.js";
import { type HistoryRow, HistorySealer } from "../../vault/history-rows.js";
import type { RotationHistoryEntry } from "../../vault/store.js";
import { toJsonBytes } from "../../vault/vault-cipher.js";
import type { Queryable } from "./pg-db.js";

export class PgHistory {
  readonly #rows: HistorySealer;

  /** `vmk` is only read: a purpose key is derived from it. */
  constructor(vmk: Buffer) {
    this.#rows = new HistorySealer(vmk);
  }

  /** Checks the entry and its audit event, and returns what will be stored (before any I/O). */
  prepare(entry: RotationHistoryEntry, audit: { recordUid?: string | null }): Buffer {
    checkHistoryEntry(entry);
    checkHistoryAudit(entry, audit);
    return toJsonBytes(entry, `history entry ${entry.id}`);
  }

  /** Insert inside the caller's write transaction (the caller appends the audit copy). Consumes `plain`. */
  async insert(tx: Queryable, entry: RotationHistoryEntry, plain: Buffer): Promise<RotationHistoryEntry> {
    const stored = JSON.parse(plain.toString("utf8")) as RotationHistoryEntry;
    try {
      const dup = await tx.query("SELECT 1 FROM rotation_history WHERE id = $1", [entry.id]);
      if (dup.rows.length > 0)
        throw conflict(`history entry ${entry.id} already exists`, "give each entry a new id");
      const { rows } = await tx.query<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM rotation_history");
      const r = this.#rows.seal(entry, rows[0]?.seq ?? 0, plain);
      await tx.query(
        "INSERT INTO rotation_history (seq, id, record_uid, started_at, saved_at, dek, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [r.seq, r.id, r.record_uid, r.started_at, r.saved_at, r.dek, r.body],
      );
      return stored;
    } finally {
      zeroize(plain);
    }
  }

  async list(
    q: Queryable,
    filter: { recordUid?: string; limit?: number } = {},
  ): Promise<RotationHistoryEntry[]> {
    checkHistoryLimit(filter.limit);
    const { rows } = await q.query<HistoryRow>(
      "SELECT seq, id, record_uid, started_at, saved_at, dek, body FROM rotation_history " +
        "WHERE ($1::text IS NULL OR record_uid = $1) ORDER BY seq DESC LIMIT $2",
      [filter.recordUid ?? null, filter.limit ?? null],
    );
    return rows.reverse().map((r) => this.#rows.open(r));
  }

  destroy(): void {
    this.#rows.destroy();
  }
}
