/**
 * The audit log's hash chain, as pure functions (no SQL): canonical JSON, the chain hash, the signed head and
 * the verification walk.
 *
 * hash_n = HMAC-SHA256(auditKey, hash_{n-1} || canonicalJSON({seq, at, action, recordUid, actor, details}))
 * with hash_0 = HMAC(auditKey, "genesis" || vaultId). The key is derived from the vault master key, so someone
 * who can write the file but not unlock the vault cannot recompute the chain after editing, inserting or
 * deleting an entry. The head (entry count + last hash) is stored MACed beside the log, so cutting entries
 * off the end is detected too. What this cannot detect: replacing the whole file (log and head) with an
 * older copy of itself; keep backups and compare heads if that matters.
 */
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import { hmac, sameBytes } from "./crypto.js";
import type { AuditEntry, AuditVerification } from "./store.js";

/** JSON with object keys sorted at every level: one text per value, so hashes are reproducible. */
export function canonicalJson(value: unknown, what = "value"): string {
  return JSON.stringify(sortKeys(value, what));
}

function sortKeys(v: unknown, path: string): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw internal(`${path} is not a finite number`);
    return v;
  }
  if (v instanceof Secret) throw internal(`${path} is a secret: audit details never hold secret values`);
  if (Array.isArray(v)) return v.map((x, i) => sortKeys(x, `${path}[${i}]`));
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x, `${path}.${k}`);
    }
    return out;
  }
  throw internal(`${path} is a ${typeof v}, not JSON`);
}

const SECRETISH = ["secret", "password", "passphrase", "privatekey", "sessiontoken"];

/**
 * Defensive check: audit details are stored in clear, so refuse keys that name a secret (`secretAccessKey`,
 * `password`, ...). Callers put key ids and field labels in details, never values.
 */
export function checkAuditDetails(details: Record<string, unknown>, path = "details"): void {
  for (const [k, v] of Object.entries(details)) {
    const norm = k.toLowerCase().replace(/[^a-z]/g, "");
    if (SECRETISH.some((s) => norm.includes(s))) {
      throw internal(`audit ${path}.${k} looks like a secret value: audit details never hold secrets`);
    }
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      checkAuditDetails(v as Record<string, unknown>, `${path}.${k}`);
    }
  }
}

function internal(message: string) {
  return new RekeyError("internal", message);
}

export type AuditBody = Omit<AuditEntry, "hash">;

export function genesisHash(auditKey: Buffer, vaultId: string): string {
  return hmac(auditKey, "rekey.audit.genesis.v1", vaultId).toString("hex");
}

export function entryHash(auditKey: Buffer, prevHash: string, e: AuditBody): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at,
    action: e.action,
    recordUid: e.recordUid,
    actor: e.actor,
    details: e.details,
  });
  return hmac(auditKey, Buffer.from(prevHash, "hex"), body).toString("hex");
}

export interface AuditHead {
  count: number;
  hash: string;
  mac: string;
}

export function signHead(auditKey: Buffer, count: number, hash: string): AuditHead {
  return { count, hash, mac: hmac(auditKey, "rekey.audit.head.v1", String(count), hash).toString("hex") };
}

export function headIsValid(auditKey: Buffer, head: AuditHead): boolean {
  const expected = signHead(auditKey, head.count, head.hash).mac;
  return sameBytes(Buffer.from(expected, "hex"), Buffer.from(head.mac, "hex"));
}

export function parseHead(json: string | undefined): AuditHead | undefined {
  if (json === undefined) return undefined;
  try {
    const v = JSON.parse(json) as Partial<AuditHead>;
    if (typeof v.count === "number" && typeof v.hash === "string" && typeof v.mac === "string") {
      return { count: v.count, hash: v.hash, mac: v.mac };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** A stored audit row before its details are parsed. */
export interface AuditRow {
  seq: number;
  at: string;
  action: string;
  recordUid: string | null;
  actor: string;
  details: string;
  hash: string;
}

/**
 * Walk the log in seq order and report the first entry that does not fit: a gap (deleted entry), a hash that
 * does not match (edited or inserted entry, or one before it removed), entries beyond the signed head
 * (appended outside rekey) or a head beyond the last entry (entries cut off the end).
 */
export function verifyChain(
  auditKey: Buffer,
  vaultId: string,
  rows: Iterable<AuditRow>,
  headJson: string | undefined,
): AuditVerification {
  let prev = genesisHash(auditKey, vaultId);
  let expectedSeq = 1;
  const head = parseHead(headJson);
  const headOk = head !== undefined && headIsValid(auditKey, head);
  for (const row of rows) {
    const fail = (reason: string, seq = row.seq): AuditVerification => ({
      ok: false,
      entries: expectedSeq - 1,
      problem: { seq, reason },
    });
    if (row.seq !== expectedSeq) {
      return fail(
        row.seq > expectedSeq
          ? `entry ${expectedSeq} is missing (deleted): the next entry is ${row.seq}`
          : `unexpected sequence number ${row.seq}`,
        expectedSeq,
      );
    }
    let details: unknown;
    try {
      details = JSON.parse(row.details);
    } catch {
      return fail("its details are not valid JSON (edited)");
    }
    if (typeof details !== "object" || details === null || Array.isArray(details)) {
      return fail("its details are not a JSON object (edited)");
    }
    const hash = entryHash(auditKey, prev, { ...row, details: details as Record<string, unknown> });
    if (!sameBytes(Buffer.from(hash, "hex"), Buffer.from(row.hash, "hex"))) {
      return fail(
        "its hash does not match its content and the previous entry (edited, inserted, or an entry before it was removed)",
      );
    }
    if (headOk && row.seq > head.count) {
      return fail(`it is beyond the signed head (${head.count} entries): appended outside rekey`);
    }
    prev = hash;
    expectedSeq++;
  }
  const entries = expectedSeq - 1;
  if (!headOk) {
    return {
      ok: false,
      entries,
      problem: { seq: entries, reason: "the signed head of the log is missing or was modified" },
    };
  }
  if (head.count > entries) {
    return {
      ok: false,
      entries,
      problem: {
        seq: entries + 1,
        reason: `entries ${entries + 1}..${head.count} are missing: the log was cut off after entry ${entries}`,
      },
    };
  }
  if (head.hash !== prev) {
    return {
      ok: false,
      entries,
      problem: { seq: entries, reason: "the last entry does not match the signed head" },
    };
  }
  return { ok: true, entries };
}
