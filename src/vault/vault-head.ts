/**
 * The vault's signed head, as pure functions (no SQL): what the whole vault looked like after its last write,
 * MACed under a key derived from the vault key. sqlite-head.ts keeps it in the file and checks live rows
 * against it.
 *
 * The head holds a generation (one more at every write transaction) and a small summary of every table that
 * matters: the number of live records and the XOR of HMAC(uid, revision) over them, the number of saved
 * versions and folders, the number and last seq of rotation-history rows, the number of journal entries and
 * the XOR of an HMAC over each whole journal row, and the audit log's own head (entry count, last hash).
 * XOR of keyed row MACs is an incremental set digest: a write updates it from the rows it touches (no
 * re-reading the table), and someone who cannot unlock the vault cannot compute the MAC of a row they add,
 * remove or roll back. Versions, folders, history rows and audit entries are append-only and immutable, so a
 * count (and the audit chain) is enough for them.
 *
 * Invariants:
 * - Deleting, adding or rolling back a live row (to an older copy of itself) without the vault key makes the
 *   rows disagree with the head. Rolling back the head too (an older signed head) makes it disagree with
 *   the rows that changed since, or with the append-only tables that grew since.
 * - What the file alone cannot show: the whole file replaced by an older copy of itself. The one-line form
 *   (`rekey audit head`) is meant to be kept elsewhere and given back to `rekey audit verify --expect-head`.
 */
import { createHash } from "node:crypto";
import { aad, hmac, sameBytes } from "./crypto.js";

/** A row of the vault's `journal` table as SQLite returns it (the head MACs the whole row). */
export interface JournalRow {
  id: string;
  record_uid: string;
  kind: string;
  created_at: string;
  updated_at: string;
  dek: Buffer;
  body: Buffer;
}

export const HEAD_PREFIX = "rekey-head-v1";

export interface VaultState {
  records: { n: number; x: string };
  versions: number;
  folders: number;
  history: { n: number; last: number };
  journal: { n: number; x: string };
  audit: { count: number; hash: string };
}

export interface VaultHead {
  gen: number;
  state: VaultState;
}

const ZERO = "0".repeat(64);

export function emptyState(audit: { count: number; hash: string }): VaultState {
  return {
    records: { n: 0, x: ZERO },
    versions: 0,
    folders: 0,
    history: { n: 0, last: 0 },
    journal: { n: 0, x: ZERO },
    audit: { ...audit },
  };
}

/** XOR a row MAC into (or out of: XOR is its own inverse) a digest. */
export function xorHex(digestHex: string, mac: Buffer): string {
  const out = Buffer.from(digestHex, "hex");
  for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ (mac[i] ?? 0);
  return out.toString("hex");
}

/** The keyed row MACs and the head's signature, under one purpose key derived from the vault key. */
export class HeadKey {
  readonly #key: Buffer;
  readonly #vaultId: string;

  constructor(key: Buffer, vaultId: string) {
    this.#key = key;
    this.#vaultId = vaultId;
  }

  recordMac(uid: string, revision: number): Buffer {
    return hmac(this.#key, aad("rekey.head.record.v1", uid, revision));
  }

  journalMac(j: JournalRow): Buffer {
    const meta = aad("rekey.head.journal.v1", j.id, j.record_uid, j.kind, j.created_at, j.updated_at);
    return hmac(this.#key, meta, aad(j.dek.length), j.dek, j.body);
  }

  mac(gen: number, audit: { count: number; hash: string }, digest: string): string {
    return hmac(
      this.#key,
      aad("rekey.head.v1", this.#vaultId, gen, audit.count, audit.hash, digest),
    ).toString("hex");
  }

  destroy(): void {
    this.#key.fill(0);
  }
}

/** SHA-256 of everything in the state but the audit head (which the line carries in clear). */
export function stateDigest(s: VaultState): string {
  const text = JSON.stringify([
    s.records.n,
    s.records.x,
    s.versions,
    s.folders,
    s.history.n,
    s.history.last,
    s.journal.n,
    s.journal.x,
  ]);
  return createHash("sha256").update(text).digest("hex");
}

/** The stored form (JSON in the meta table): the state in full, so a check can say which part differs. */
export function serializeHead(key: HeadKey, head: VaultHead): string {
  return JSON.stringify({ v: 1, ...head, mac: key.mac(head.gen, head.state.audit, stateDigest(head.state)) });
}

/** The stored head, or undefined when it is missing, malformed or its MAC does not match. */
export function parseStoredHead(key: HeadKey, json: string | undefined): VaultHead | undefined {
  if (json === undefined) return undefined;
  try {
    const v = JSON.parse(json) as { v?: unknown; gen?: unknown; state?: VaultState; mac?: unknown };
    const s = v.state;
    if (v.v !== 1 || typeof v.gen !== "number" || typeof v.mac !== "string" || !s) return undefined;
    const head = { gen: v.gen, state: s };
    const expected = key.mac(head.gen, s.audit, stateDigest(s));
    return sameHex(expected, v.mac) ? head : undefined;
  } catch {
    return undefined;
  }
}

export interface HeadLine {
  gen: number;
  auditCount: number;
  auditHash: string;
  digest: string;
  mac: string;
}

/** `rekey-head-v1:<generation>:<audit entries>:<last audit hash>:<state digest>:<mac>`: no secret in it. */
export function formatHeadLine(key: HeadKey, head: VaultHead): string {
  const digest = stateDigest(head.state);
  const { count, hash } = head.state.audit;
  return [HEAD_PREFIX, head.gen, count, hash, digest, key.mac(head.gen, head.state.audit, digest)].join(":");
}

export function parseHeadLine(text: string): HeadLine | undefined {
  const m = /^rekey-head-v1:(\d{1,15}):(\d{1,15}):([0-9a-f]{64}):([0-9a-f]{64}):([0-9a-f]{64})$/.exec(
    text.trim(),
  );
  if (!m) return undefined;
  return { gen: Number(m[1]), auditCount: Number(m[2]), auditHash: m[3]!, digest: m[4]!, mac: m[5]! };
}

/**
 * Why the vault (its head `live`) is not the expected head or a later state of it, or undefined when it is.
 * `auditHashAt(seq)` reads the live audit log: a later state must extend the expected one's audit chain.
 */
export function compareHeads(
  key: HeadKey,
  live: VaultHead,
  expected: HeadLine,
  auditHashAt: (seq: number) => string | undefined,
): string | undefined {
  const mac = key.mac(
    expected.gen,
    { count: expected.auditCount, hash: expected.auditHash },
    expected.digest,
  );
  if (!sameHex(mac, expected.mac)) {
    return "the expected head was not made by this vault, or was altered";
  }
  if (live.gen < expected.gen) {
    return `the vault is at generation ${live.gen}, older than the expected head's ${expected.gen}: it was rolled back (an older copy of the file)`;
  }
  if (live.gen === expected.gen) {
    const same =
      stateDigest(live.state) === expected.digest &&
      live.state.audit.count === expected.auditCount &&
      live.state.audit.hash === expected.auditHash;
    return same
      ? undefined
      : `the vault is at the expected generation ${live.gen} but holds a different state`;
  }
  if (
    live.state.audit.count < expected.auditCount ||
    auditHashAt(expected.auditCount) !== expected.auditHash
  ) {
    return `the vault (generation ${live.gen}) does not continue the expected head's audit log (entry ${expected.auditCount}): it is another history`;
  }
  return undefined;
}

function sameHex(a: string, b: string): boolean {
  return sameBytes(Buffer.from(a, "hex"), Buffer.from(b, "hex")) && a.length === b.length;
}
