/**
 * The audit log table: append (inside the caller's transaction), list, verify. The chain itself is in
 * audit-chain.ts; this file only moves rows.
 */
import { parseHead, verifyChain } from "../../vault/audit-chain.js";
import { type AuditDbRow, auditEntryOf, nextAuditEntry } from "../../vault/audit-rows.js";
import type { AuditEntry, AuditEvent, AuditVerification } from "../../vault/store.js";
import type { SqlDb } from "./sqlite-db.js";
import { META } from "./sqlite-schema.js";

/**
 * Append one entry; call inside a write transaction so the chain advances with the change it records, or not
 * at all. Fails closed when the log visibly does not end at its signed head: appending would hide the gap.
 */
export function appendAuditEntry(sql: SqlDb, auditKey: Buffer, event: AuditEvent): AuditEntry {
  const last = sql.get<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM audit")?.seq ?? 0;
  const next = nextAuditEntry(auditKey, parseHead(sql.meta(META.auditHead)), last, event, {
    log: sql.path,
    fix: "restore the vault file from a backup",
  });
  const r = next.row;
  sql.run(
    "INSERT INTO audit (seq, at, action, record_uid, actor, details, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
    r.seq,
    r.at,
    r.action,
    r.record_uid,
    r.actor,
    r.details,
    r.hash,
  );
  sql.setMeta(META.auditHead, next.head);
  return next.entry;
}

/** Entries oldest first; with `limit`, the most recent `limit` entries. */
export function listAuditEntries(sql: SqlDb, filter: { recordUid?: string; limit?: number }): AuditEntry[] {
  const rows = sql.all<AuditDbRow>(
    "SELECT * FROM audit WHERE (@rec IS NULL OR record_uid = @rec) ORDER BY seq DESC LIMIT @limit",
    { rec: filter.recordUid ?? null, limit: filter.limit ?? -1 },
  );
  return rows.reverse().map(auditEntryOf);
}

/** Walk the whole log (one read snapshot) and report the first bad entry. */
export function verifyAuditLog(sql: SqlDb, auditKey: Buffer, vaultId: string): AuditVerification {
  const head = sql.meta(META.auditHead);
  const rows = sql.iterate<AuditDbRow>("SELECT * FROM audit ORDER BY seq");
  const mapped = (function* () {
    for (const r of rows) yield { ...r, recordUid: r.record_uid };
  })();
  return verifyChain(auditKey, vaultId, mapped, head);
}
