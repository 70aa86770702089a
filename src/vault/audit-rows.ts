/**
 * The audit log's rows, as every backend stores them (`audit` table: seq, at, action, record_uid, actor,
 * details, hash): the next entry of the chain from an event and the signed head, and a row read back as an
 * entry. The backends only move rows (stores/sqlite/sqlite-audit.ts, stores/postgres/pg-audit.ts); the chain
 * itself is audit-chain.ts.
 */
import { integrityError, usageError } from "../errors.js";
import {
  type AuditHead,
  canonicalJson,
  checkAuditDetails,
  entryHash,
  headIsValid,
  signHead,
} from "./audit-chain.js";
import type { AuditEntry, AuditEvent } from "./store.js";

export interface AuditDbRow {
  seq: number;
  at: string;
  action: string;
  record_uid: string | null;
  actor: string;
  details: string;
  hash: string;
}

export const auditTampered = (what: string, fix: string) =>
  integrityError(
    `${what} was modified outside rekey; nothing was changed`,
    `run \`rekey audit verify\`, and ${fix}`,
  );

/**
 * The entry that follows `head` for `event` (checked: an action, an actor, details without secrets), its row
 * (details as canonical JSON) and the new signed head. Fails closed when the head is not valid or the log
 * does not end at it (`lastSeq`): appending would hide the gap.
 */
export function nextAuditEntry(
  auditKey: Buffer,
  head: AuditHead | undefined,
  lastSeq: number,
  event: AuditEvent,
  where: { log: string; fix: string },
): { entry: AuditEntry; row: AuditDbRow; head: string } {
  if (!event.action) throw usageError("an audit event needs an action", 'e.g. "record.update"');
  if (!event.actor) throw usageError("an audit event needs an actor", 'e.g. "rekey record edit"');
  const rawDetails = event.details ?? {};
  checkAuditDetails(rawDetails);
  const detailsJson = canonicalJson(rawDetails, "details");
  if (!head || !headIsValid(auditKey, head))
    throw auditTampered(`the signed head of the audit log of ${where.log}`, where.fix);
  if (lastSeq !== head.count) throw auditTampered(`the end of the audit log of ${where.log}`, where.fix);
  const body = {
    seq: head.count + 1,
    at: new Date().toISOString(),
    action: event.action,
    recordUid: event.recordUid ?? null,
    actor: event.actor,
    details: JSON.parse(detailsJson) as Record<string, unknown>,
  };
  const hash = entryHash(auditKey, head.hash, body);
  return {
    entry: { ...body, hash },
    row: {
      seq: body.seq,
      at: body.at,
      action: body.action,
      record_uid: body.recordUid,
      actor: body.actor,
      details: detailsJson,
      hash,
    },
    head: JSON.stringify(signHead(auditKey, body.seq, hash)),
  };
}

/** A stored row as an entry (unparseable details are shown as they are; verification reports them). */
export function auditEntryOf(r: AuditDbRow): AuditEntry {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(r.details) as Record<string, unknown>;
  } catch {
    details = { unparseable: r.details };
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
}
