/**
 * The audit log table: append (inside the caller's transaction), list, verify. The chain itself is in
 * audit-chain.ts; this file only moves rows.
 */
import { integrityError, usageError } from "../../errors.js";
import {
  canonicalJson,
  checkAuditDetails,
  entryHash,
  headIsValid,
  parseHead,
  signHead,
  verifyChain,
} from "../../vault/audit-chain.js";
import type { AuditEntry, AuditEvent, AuditVerification } from "../../vault/store.js";
import type { SqlDb } from "./sqlite-db.js";
import { META } from "./sqlite-schema.js";

interface AuditDbRow {
  seq: number;
  at: string;
  action: string;
  record_uid: string | null;
  actor: string;
  details: string;
  hash: string;
}

const tampered = (what: string) =>
  integrityError(
    `${what} was modified outside rekey; nothing was changed`,
    "run `rekey audit verify`, and restore the vault file from a backup",
  );

/**
 * Append one entry; call inside a write transaction so the chain advances with the change it records, or not
 * at all. Fails closed when the log visibly does not end at its signed head: appending would hide the gap.
 */
export function appendAuditEntry(sql: SqlDb, auditKey: Buffer, event: AuditEvent): AuditEntry {
  if (!event.action) throw usageError("an audit event needs an action", 'e.g. "record.update"');
  if (!event.actor) throw usageError("an audit event needs an actor", 'e.g. "rekey record edit"');
  const rawDetails = event.details ?? {};
  checkAuditDetails(rawDetails);
  const detailsJson = canonicalJson(rawDetails, "details");
  const head = parseHead(sql.meta(META.auditHead));
  if (!head || !headIsValid(auditKey, head))
    throw tampered(`the signed head of the audit log of ${sql.path}`);
  const last = sql.get<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM audit")?.seq ?? 0;
  if (last !== head.count) throw tampered(`the end of the audit log of ${sql.path}`);
  const body = {
    seq: head.count + 1,
    at: new Date().toISOString(),
    action: event.action,
    recordUid: event.recordUid ?? null,
    actor: event.actor,
    details: JSON.parse(detailsJson) as Record<string, unknown>,
  };
  const hash = entryHash(auditKey, head.hash, body);
  sql.run(
    "INSERT INTO audit (seq, at, action, record_uid, actor, details, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
    body.seq,
    body.at,
    body.action,
    body.recordUid,
    body.actor,
    detailsJson,
    hash,
  );
  sql.setMeta(META.auditHead, JSON.stringify(signHead(auditKey, body.seq, hash)));
  return { ...body, hash };
}

/** Entries oldest first; with `limit`, the most recent `limit` entries. */
export function listAuditEntries(sql: SqlDb, filter: { recordUid?: string; limit?: number }): AuditEntry[] {
  const rows = sql.all<AuditDbRow>(
    "SELECT * FROM audit WHERE (@rec IS NULL OR record_uid = @rec) ORDER BY seq DESC LIMIT @limit",
    { rec: filter.recordUid ?? null, limit: filter.limit ?? -1 },
  );
  return rows.reverse().map((r) => {
    let details: Record<string, unknown>;
    try {
      details = JSON.parse(r.details) as Record<string, unknown>;
    } catch {
      details = { unparseable: r.details }; // shown as is; verifyAuditLog reports it
    }
    return {
      seq: r.seq,
      at: r.at,
      action: r.action,
      recordUid: r.record_uid,
      actor: r.actor,
      details,
      hash: r.hash,
    };
  });
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
