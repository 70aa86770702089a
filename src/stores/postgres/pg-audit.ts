/**
 * The audit log table of the PostgreSQL vault: append (inside the caller's write transaction, which holds
 * the vault's write lock), list, verify. The chain is audit-chain.ts, exactly as for the SQLite vault.
 */
import { parseHead, verifyChain } from "../../vault/audit-chain.js";
import { type AuditDbRow, auditEntryOf, nextAuditEntry } from "../../vault/audit-rows.js";
import type { AuditEntry, AuditEvent, AuditVerification } from "../../vault/store.js";
import { metaValue, type Queryable, setMeta } from "./pg-db.js";
import { META } from "./pg-schema.js";

/**
 * Append one entry inside a write transaction, so the chain advances with the change it records or not at
 * all. Fails closed when the log visibly does not end at its signed head: appending would hide the gap.
 */
export async function appendAuditEntry(
  tx: Queryable,
  auditKey: Buffer,
  event: AuditEvent,
  where: string,
): Promise<AuditEntry> {
  const head = parseHead(await metaValue(tx, META.auditHead));
  const { rows } = await tx.query<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM audit");
  const next = nextAuditEntry(auditKey, head, rows[0]?.seq ?? 0, event, {
    log: where,
    fix: "restore the database from a backup",
  });
  const r = next.row;
  await tx.query(
    "INSERT INTO audit (seq, at, action, record_uid, actor, details, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [r.seq, r.at, r.action, r.record_uid, r.actor, r.details, r.hash],
  );
  await setMeta(tx, META.auditHead, next.head);
  return next.entry;
}

/** Entries oldest first; with `limit`, the most recent `limit` entries. */
export async function listAuditEntries(
  q: Queryable,
  filter: { recordUid?: string; limit?: number },
): Promise<AuditEntry[]> {
  const { rows } = await q.query<AuditDbRow>(
    "SELECT seq, at, action, record_uid, actor, details, hash FROM audit " +
      "WHERE ($1::text IS NULL OR record_uid = $1) ORDER BY seq DESC LIMIT $2",
    [filter.recordUid ?? null, filter.limit ?? null],
  );
  return rows.reverse().map(auditEntryOf);
}

/** Walk the whole log (one read snapshot: call inside a read transaction) and report the first bad entry. */
export async function verifyAuditLog(
  q: Queryable,
  auditKey: Buffer,
  vaultId: string,
): Promise<AuditVerification> {
  const head = await metaValue(q, META.auditHead);
  const { rows } = await q.query<AuditDbRow>(
    "SELECT seq, at, action, record_uid, actor, details, hash FROM audit ORDER BY seq",
  );
  return verifyChain(
    auditKey,
    vaultId,
    rows.map((r) => ({ ...r, recordUid: r.record_uid })),
    head,
  );
}
