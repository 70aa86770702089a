/**
 * The gateway's schedule index in the PostgreSQL vault (migration 2; vault/async-store.ts ScheduleIndexRow):
 * clear scheduling facts beside the records, read without decrypting, shared by every gateway on the
 * database.
 *
 * Advisory, so it is written outside the vault's write lock and audit log (single autocommit statements):
 * a lost or stale row only makes a gateway re-plan a record from the record itself.
 */
import type { ScheduleIndexMark, ScheduleIndexRow } from "../../vault/async-store.js";
import type { PgDb } from "./pg-db.js";
import { META } from "./pg-schema.js";

/** How far back `listRows({ since })` reads (a few concurrent writers' batches). */
const SEQ_MARGIN = 5000;

interface Row {
  uid: string;
  revision: number;
  type: string;
  next_due_at: string | null;
  last_outcome: string | null;
  configuration_uid: string | null;
  identities: string;
  computed_at: string;
}

export class PgScheduleIndex {
  readonly #db: PgDb;
  readonly #digest: (value: string) => string;

  constructor(db: PgDb, digest: (value: string) => string) {
    this.#db = db;
    this.#digest = digest;
  }

  /**
   * Every vault write appends to the audit log and moves its head (one row), and every index write takes
   * new `seq` numbers: one small query.
   */
  async changeMark(): Promise<ScheduleIndexMark> {
    const [row] = await this.#db.query<{ head: string | null; seq: string | null }>(
      "SELECT (SELECT value FROM vault_meta WHERE key = $1) AS head, (SELECT MAX(seq) FROM schedule_index)::text AS seq",
      [META.auditHead],
    );
    return { records: row?.head ?? "", rows: Number(row?.seq ?? 0) };
  }

  async listRecordRevisions(): Promise<Array<{ uid: string; revision: number }>> {
    return this.#db.query<{ uid: string; revision: number }>(
      "SELECT uid, revision FROM records ORDER BY pos",
    );
  }

  /**
   * Sequence numbers are taken when a statement runs, not when it commits, so a write of another gateway
   * may become visible after a later one: `since` reads back a margin of earlier numbers too.
   */
  async listRows(opts: { since?: number } = {}): Promise<ScheduleIndexRow[]> {
    const since = opts.since === undefined ? -1 : opts.since - SEQ_MARGIN;
    const rows = await this.#db.query<Row>(
      "SELECT uid, revision, type, next_due_at, last_outcome, configuration_uid, identities, computed_at FROM schedule_index WHERE seq > $1",
      [since],
    );
    return rows.map((r) => ({
      uid: r.uid,
      revision: r.revision,
      type: r.type,
      nextDueAt: r.next_due_at === null ? null : Number(r.next_due_at),
      lastOutcome: r.last_outcome,
      configurationUid: r.configuration_uid,
      identities: r.identities ? r.identities.split(" ") : [],
      computedAt: Number(r.computed_at),
    }));
  }

  /** One statement per 1,000 rows (arrays unnested), each row given a new seq. */
  async putRows(rows: readonly ScheduleIndexRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      await this.#db.query(
        `INSERT INTO schedule_index (uid, revision, type, next_due_at, last_outcome, configuration_uid, identities, computed_at)
         SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[])
         ON CONFLICT (uid) DO UPDATE SET revision = excluded.revision, type = excluded.type,
           next_due_at = excluded.next_due_at, last_outcome = excluded.last_outcome,
           configuration_uid = excluded.configuration_uid, identities = excluded.identities,
           computed_at = excluded.computed_at, seq = nextval('schedule_index_seq')`,
        [
          chunk.map((r) => r.uid),
          chunk.map((r) => r.revision),
          chunk.map((r) => r.type),
          chunk.map((r) => r.nextDueAt),
          chunk.map((r) => r.lastOutcome),
          chunk.map((r) => r.configurationUid),
          chunk.map((r) => r.identities.join(" ")),
          chunk.map((r) => r.computedAt),
        ],
      );
    }
  }

  async deleteRows(uids: readonly string[]): Promise<void> {
    if (uids.length === 0) return;
    await this.#db.query("DELETE FROM schedule_index WHERE uid = ANY($1::text[])", [uids]);
  }

  digest(value: string): string {
    return this.#digest(value);
  }
}
