/**
 * The PostgreSQL vault's rotation history, sealed exactly as the SQLite vault's (sqlite-history.ts): each
 * entry under its own random data key wrapped under a VMK-derived key for this purpose only, the AAD binding
 * the body to its row (seq, id, record, times). Append-only; an entry and its audit copy commit together.
 */
import { conflict } from "../../errors.js";
import { aad, deriveKey, open, randomKey, seal, unwrapKey, wrapKey, zeroize } from "../../vault/crypto.js";
import { checkHistoryAudit, checkHistoryEntry, checkHistoryLimit } from "../../vault/history-entry.js";
import type { RotationHistoryEntry } from "../../vault/store.js";
import { toJsonBytes } from "../../vault/vault-cipher.js";
import type { Queryable } from "./pg-db.js";

interface HistoryRow {
  seq: number;
  id: string;
  record_uid: string;
  started_at: string;
  saved_at: string;
  dek: Buffer;
  body: Buffer;
}

type RowMeta = Omit<HistoryRow, "dek" | "body">;

const bodyAad = (m: RowMeta) => aad("rekey.history.v1", m.seq, m.id, m.record_uid, m.started_at, m.saved_at);
const dekAad = (m: RowMeta) => aad("rekey.dek.v1", "history", m.id, m.seq);

export class PgHistory {
  readonly #kek: Buffer;

  /** `vmk` is only read: a purpose key is derived from it. */
  constructor(vmk: Buffer) {
    this.#kek = deriveKey(vmk, "rekey.history-wrap.v1");
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
      const m: RowMeta = {
        seq: (rows[0]?.seq ?? 0) + 1,
        id: entry.id,
        record_uid: entry.recordUid,
        started_at: entry.startedAt,
        saved_at: new Date().toISOString(),
      };
      const dek = randomKey();
      try {
        const body = seal(dek, plain, bodyAad(m));
        const wrapped = wrapKey(this.#kek, dek, dekAad(m));
        await tx.query(
          "INSERT INTO rotation_history (seq, id, record_uid, started_at, saved_at, dek, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          [m.seq, m.id, m.record_uid, m.started_at, m.saved_at, wrapped, body],
        );
      } finally {
        zeroize(dek);
      }
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
    return rows.reverse().map((r) => this.#open(r));
  }

  destroy(): void {
    zeroize(this.#kek);
  }

  #open(r: HistoryRow): RotationHistoryEntry {
    const what = `history entry ${r.id} (record ${r.record_uid})`;
    const dek = unwrapKey(this.#kek, r.dek, dekAad(r), what);
    try {
      const plain = open(dek, r.body, bodyAad(r), what);
      try {
        return JSON.parse(plain.toString("utf8")) as RotationHistoryEntry;
      } finally {
        zeroize(plain);
      }
    } finally {
      zeroize(dek);
    }
  }
}
