/**
 * The gateway's schedule index in the SQLite vault (vault/async-store.ts ScheduleIndexRow): a table beside
 * the records, read from clear columns, never decrypting.
 *
 * Created when first written (`CREATE TABLE IF NOT EXISTS`), not by a schema bump: the index is advisory and
 * rebuilt from the records when missing, so an older rekey may open the file and ignore it. For the same
 * reason it is outside the signed head (sqlite-head.ts) and the row MACs, and `vault copy` and backups do
 * not need it: the gateway rebuilds it. Writing it never changes the head's generation.
 */
import type { ScheduleIndexMark, ScheduleIndexRow } from "../../vault/async-store.js";
import type { SqlDb } from "./sqlite-db.js";
import { META } from "./sqlite-schema.js";

const TABLE = [
  `CREATE TABLE IF NOT EXISTS schedule_index (
  uid               TEXT PRIMARY KEY,
  revision          INTEGER NOT NULL,
  type              TEXT NOT NULL,
  next_due_at       INTEGER,          -- epoch ms, NULL when nothing is planned
  last_outcome      TEXT,
  configuration_uid TEXT,
  identities        TEXT NOT NULL,    -- space-separated keyed digests (no names)
  computed_at       INTEGER NOT NULL,
  seq               INTEGER NOT NULL  -- raised on every write: the change mark sees other writers
) WITHOUT ROWID`,
  "CREATE INDEX IF NOT EXISTS schedule_index_by_seq ON schedule_index (seq)",
];

interface Row {
  uid: string;
  revision: number;
  type: string;
  next_due_at: number | null;
  last_outcome: string | null;
  configuration_uid: string | null;
  identities: string;
  computed_at: number;
}

/** Synchronous; the async adapter (async-adapter.ts) wraps it. */
export class SqliteScheduleIndex {
  readonly #sql: SqlDb;
  readonly #digest: (value: string) => string;

  constructor(sql: SqlDb, digest: (value: string) => string) {
    this.#sql = sql;
    this.#digest = digest;
  }

  /** Looked up each time (one small read): another process may have created or dropped it. */
  #exists(): boolean {
    return Boolean(
      this.#sql.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schedule_index'"),
    );
  }

  /**
   * The signed head line changes with every write to records, journal or history (its generation), and
   * MAX(seq) with every index write: two small reads.
   */
  changeMark(): ScheduleIndexMark {
    return this.#sql.read(() => ({
      // A vault not yet migrated to the signed head: versions are only ever added, so their count moves.
      records:
        this.#sql.meta(META.vaultHead) ??
        `versions:${this.#sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM record_versions")?.n ?? 0}`,
      rows: this.#exists() ? this.#maxSeq() : 0,
    }));
  }

  #maxSeq(): number {
    return this.#sql.get<{ s: number | null }>("SELECT MAX(seq) AS s FROM schedule_index")?.s ?? 0;
  }

  listRecordRevisions(): Array<{ uid: string; revision: number }> {
    return this.#sql.read(() =>
      this.#sql.all<{ uid: string; revision: number }>("SELECT uid, revision FROM records ORDER BY rowid"),
    );
  }

  /** Writes are serialized (one write transaction each), so `since` is exact here. */
  listRows(opts: { since?: number } = {}): ScheduleIndexRow[] {
    return this.#sql.read(() => {
      if (!this.#exists()) return [];
      return this.#sql
        .all<Row>(
          "SELECT uid, revision, type, next_due_at, last_outcome, configuration_uid, identities, computed_at FROM schedule_index WHERE seq > ?",
          opts.since ?? -1,
        )
        .map((r) => ({
          uid: r.uid,
          revision: r.revision,
          type: r.type,
          nextDueAt: r.next_due_at,
          lastOutcome: r.last_outcome,
          configurationUid: r.configuration_uid,
          identities: r.identities ? r.identities.split(" ") : [],
          computedAt: r.computed_at,
        }));
    });
  }

  putRows(rows: readonly ScheduleIndexRow[]): void {
    if (rows.length === 0) return;
    this.#sql.write(() => {
      if (!this.#exists()) {
        for (const stmt of TABLE) this.#sql.run(stmt);
      }
      const seq =
        (this.#sql.get<{ s: number | null }>("SELECT MAX(seq) AS s FROM schedule_index")?.s ?? 0) + 1;
      for (const r of rows) {
        this.#sql.run(
          `INSERT INTO schedule_index (uid, revision, type, next_due_at, last_outcome, configuration_uid, identities, computed_at, seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (uid) DO UPDATE SET revision = excluded.revision, type = excluded.type,
             next_due_at = excluded.next_due_at, last_outcome = excluded.last_outcome,
             configuration_uid = excluded.configuration_uid, identities = excluded.identities,
             computed_at = excluded.computed_at, seq = excluded.seq`,
          r.uid,
          r.revision,
          r.type,
          r.nextDueAt,
          r.lastOutcome,
          r.configurationUid,
          r.identities.join(" "),
          r.computedAt,
          seq,
        );
      }
    });
  }

  deleteRows(uids: readonly string[]): void {
    if (uids.length === 0 || !this.#exists()) return;
    this.#sql.write(() => {
      for (const uid of uids) this.#sql.run("DELETE FROM schedule_index WHERE uid = ?", uid);
    });
  }

  digest(value: string): string {
    return this.#digest(value);
  }
}
