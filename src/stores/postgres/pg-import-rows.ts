/**
 * `rekey vault copy` into a PostgreSQL vault: the copied rows (stores/copy-rows.ts) written in ONE
 * transaction: the target is checked, emptied (an earlier copy of the same vault, with --force) and filled,
 * the copied audit chain verified and the `vault.copy` entry appended, or nothing at all.
 *
 * Locking: `vault_meta` and `locks` are locked EXCLUSIVE for the whole transaction. Every vault write first
 * takes the audit head row FOR UPDATE (pg-db.ts) and every lease is an INSERT/UPDATE on `locks`, so writers,
 * lease takers and a concurrent `rekey init` wait for the copy, then see the copied vault. Plain reads go on.
 */
import type { PoolClient } from "pg";
import { integrityError } from "../../errors.js";
import type { AuditEvent } from "../../vault/store.js";
import type { TargetState } from "../copy-plan.js";
import type { VaultRows } from "../copy-rows.js";
import { appendAuditEntry, verifyAuditLog } from "./pg-audit.js";
import { metaValue, type PgDb } from "./pg-db.js";
import { heldPgLeases } from "./pg-import-export.js";
import { FORMAT, META } from "./pg-schema.js";

/** rekey's tables holding vault content, emptied before the copy is written (children first). */
const CONTENT_TABLES = [
  "rotation_history",
  "journal",
  "audit",
  "records",
  "record_versions",
  "folders",
  "locks",
  "vault_meta",
];

/** The PostgreSQL limit is 65535 parameters per statement; stay well below it. */
const MAX_PARAMS = 30_000;

/** `INSERT INTO table (columns) VALUES (...), (...)`, in as few statements as the parameter limit allows. */
async function insertMany(tx: PoolClient, table: string, columns: string[], values: unknown[][]) {
  const per = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  for (let start = 0; start < values.length; start += per) {
    const chunk = values.slice(start, start + per);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => {
      const marks = row.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `(${marks.join(", ")})`;
    });
    await tx.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")}`, params);
  }
}

/** What the database holds now (inside the transaction, after the locks). */
async function targetState(tx: PoolClient): Promise<TargetState> {
  if ((await metaValue(tx, META.format)) !== FORMAT) return { kind: "empty" };
  const vaultId = await metaValue(tx, META.vaultId);
  if (!vaultId) return { kind: "not-a-vault", why: "it has a vault marker but no vault id" };
  const { rows } = await tx.query<{ n: string }>("SELECT COUNT(*) AS n FROM records");
  return { kind: "vault", vaultId, records: Number(rows[0]?.n ?? 0), leases: await heldPgLeases(tx) };
}

/**
 * Write `rows` into the database of `db` (see the file comment). `check` decides on what is there now
 * (copy-plan.ts checkTarget) and throws to refuse. `keys.auditKey` continues the copied chain.
 */
export async function importPgRows(
  db: PgDb,
  keys: { auditKey: Buffer; vaultId: string; description: string },
  rows: VaultRows,
  event: AuditEvent,
  check: (state: TargetState) => void,
): Promise<void> {
  await db.transaction("BEGIN", async (client) => {
    await client.query("LOCK TABLE vault_meta, locks IN EXCLUSIVE MODE");
    check(await targetState(client));
    for (const table of CONTENT_TABLES) await client.query(`DELETE FROM ${table}`);
    const m = rows.meta;
    await insertMany(
      client,
      "vault_meta",
      ["key", "value"],
      [
        [META.format, FORMAT],
        [META.vaultId, m.vaultId],
        [META.createdAt, m.createdAt],
        [META.keySlots, m.keySlots],
        [META.auditHead, m.auditHead],
      ],
    );
    await insertMany(
      client,
      "folders",
      ["uid", "parent_uid", "shared", "created_at", "name_ct"],
      rows.folders.map((f) => [f.uid, f.parentUid, f.shared, f.createdAt, f.nameCt]),
    );
    await insertMany(
      client,
      "record_versions",
      ["uid", "revision", "folder_uid", "saved_at", "actor", "deleted", "dek", "body"],
      rows.versions.map((v) => [
        v.uid,
        v.revision,
        v.folderUid,
        v.savedAt,
        v.actor,
        v.deleted,
        v.dek,
        v.body,
      ]),
    );
    await insertMany(
      client,
      "records",
      ["uid", "revision", "title_mac", "created_at", "row_mac"],
      rows.records.map((r) => [r.uid, r.revision, r.titleMac, r.createdAt, r.rowMac]),
    );
    await insertMany(
      client,
      "audit",
      ["seq", "at", "action", "record_uid", "actor", "details", "hash"],
      rows.audit.map((a) => [a.seq, a.at, a.action, a.recordUid, a.actor, a.details, a.hash]),
    );
    await insertMany(
      client,
      "journal",
      ["id", "record_uid", "kind", "created_at", "updated_at", "dek", "body"],
      rows.journal.map((j) => [j.id, j.recordUid, j.kind, j.createdAt, j.updatedAt, j.dek, j.body]),
    );
    await insertMany(
      client,
      "rotation_history",
      ["seq", "id", "record_uid", "started_at", "saved_at", "dek", "body"],
      rows.history.map((h) => [h.seq, h.id, h.recordUid, h.startedAt, h.savedAt, h.dek, h.body]),
    );
    const chain = await verifyAuditLog(client, keys.auditKey, keys.vaultId);
    if (!chain.ok) {
      throw integrityError(
        `the copied audit log does not verify at entry ${chain.problem?.seq}: ${chain.problem?.reason}`,
        "run rekey audit verify on the source vault; copy it once its log verifies",
      );
    }
    await appendAuditEntry(client, keys.auditKey, event, keys.description);
  });
}
