/**
 * The audit log table of the PostgreSQL vault: append (inside the caller's write transaction, which holds
 * the vault's write lock), list, verify. The chain is audit-chain.ts, exactly as for the SQLite vault.
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
import { metaValue, type Queryable, setMeta } from "./pg-db.js";
import { META } from "./pg-schema.js";

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
    "run `rekey audit verify`, and restore the database from a backup",
  );

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
  if (!event.action) throw usageError("an audit event needs an action", 'e.g. "record.update"');
  if (!event.actor) throw usageError("an audit event needs an actor", 'e.g. "rekey record edit"');
  const rawDetails = event.details ?? {};
  checkAuditDetails(rawDetails);
  const detailsJson = canonicalJson(rawDetails, "details");
  const head = parseHead(await metaValue(tx, META.auditHead));
  if (!head || !headIsValid(auditKey, head)) throw tampered(`the signed head of the audit log of ${where}`);
  const { rows } = await tx.query<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM audit");
  if ((rows[0]?.seq ?? 0) !== head.count) throw tampered(`the end of the audit log of ${where}`);
  const body = {
    seq: head.count + 1,
    at: new Date().toISOString(),
    action: event.action,
    recordUid: event.recordUid ?? null,
    actor: event.actor,
    details: JSON.parse(detailsJson) as Record<string, unknown>,
  };
  const hash = entryHash(auditKey, head.hash, body);
  await tx.query(
    "INSERT INTO audit (seq, at, action, record_uid, actor, details, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    [body.seq, body.at, body.action, body.recordUid, body.actor, detailsJson, hash],
  );
  await setMeta(tx, META.auditHead, JSON.stringify(signHead(auditKey, body.seq, hash)));
  return { ...body, hash };
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
