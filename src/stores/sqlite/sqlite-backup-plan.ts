/**
 * `rekey vault restore`, the decisions (pure): what in the live vault a restore would lose, and whether that
 * refuses the restore. Every refusal is lifted by --force; the command then prints what was overridden.
 */
import type { JournalEntry, StoredRecord } from "../../vault/store.js";

export interface LiveLease {
  recordUid: string;
  owner: string;
  expiresAt: string;
}

/** A journal entry of the live vault that the backup lacks (or holds at an older state). */
export interface MissingJournal {
  id: string;
  recordUid: string;
  kind: string;
  updatedAt: string;
  /** Access key ids the entry names (the new key first), when its kind is known; never a secret. */
  keyIds: string[];
}

export interface RestoreFacts {
  /** "missing": no live vault; "unreadable": it exists but does not open (damaged, tampered). */
  live: { state: "ok"; vaultId: string } | { state: "missing" } | { state: "unreadable"; why: string };
  backupVaultId: string;
  leases: LiveLease[];
  missingJournals: MissingJournal[];
}

export type RefusalCode = "lease-held" | "journal-missing" | "other-vault" | "live-unreadable";

export interface Refusal {
  code: RefusalCode;
  message: string;
}

/**
 * Journal entries of the live vault the backup does not hold as they are now: a rotation in flight whose
 * new secret may exist only there. Matched by id and last update.
 */
export function journalsMissingFromBackup(live: JournalEntry[], backup: JournalEntry[]): JournalEntry[] {
  const have = new Map(backup.map((j) => [j.id, j.updatedAt]));
  return live.filter((j) => have.get(j.id) !== j.updatedAt);
}

/** Why the restore must not go ahead without --force, in the order a user should deal with them. */
export function restoreRefusals(f: RestoreFacts): Refusal[] {
  const out: Refusal[] = [];
  if (f.live.state === "unreadable") {
    out.push({
      code: "live-unreadable",
      message: `the live vault does not open (${f.live.why}), so its locks and rotation journal cannot be checked`,
    });
  }
  if (f.live.state === "ok" && f.live.vaultId !== f.backupVaultId) {
    out.push({
      code: "other-vault",
      message: `the backup is of another vault (id ${f.backupVaultId}; the live vault is ${f.live.vaultId})`,
    });
  }
  if (f.leases.length > 0) {
    const list = f.leases.map((l) => `${l.recordUid} (held by ${l.owner} until ${l.expiresAt})`).join(", ");
    out.push({
      code: "lease-held",
      message: `a gateway or a rotation is working on the live vault: ${f.leases.length} lock(s) held: ${list}`,
    });
  }
  for (const j of f.missingJournals) {
    const keys = j.keyIds.length > 0 ? ` naming key(s) ${j.keyIds.join(", ")}` : "";
    out.push({
      code: "journal-missing",
      message: `the live vault holds a ${j.kind} journal entry ${j.id} of record ${j.recordUid}${keys} (updated ${j.updatedAt}) that the backup lacks: a rotation in flight whose new secret may be only in the live vault, and restoring would lose it`,
    });
  }
  return out;
}

/** A live record the backup holds at an older revision, or not at all. */
export interface NewerRecord {
  uid: string;
  title: string;
  liveRevision: number;
  /** null: the record is not in the backup (created after it, or deleted in it). */
  backupRevision: number | null;
  /** True when its current key differs from the backup's: the backup holds a key IAM may have deleted. */
  keyChanged: boolean;
}

/**
 * Records whose revision in the live vault is newer than in the backup: after a restore they are back at
 * the older content. `keyOf` reads a record's current key id (the caller knows the field).
 */
export function recordsNewerThanBackup(
  live: StoredRecord[],
  backup: StoredRecord[],
  keyOf: (r: StoredRecord) => string | undefined,
): NewerRecord[] {
  const byUid = new Map(backup.map((r) => [r.uid, r]));
  const out: NewerRecord[] = [];
  for (const r of live) {
    const b = byUid.get(r.uid);
    if (b && b.revision >= r.revision) continue;
    out.push({
      uid: r.uid,
      title: r.record.title,
      liveRevision: r.revision,
      backupRevision: b ? b.revision : null,
      keyChanged: (keyOf(r) ?? "") !== (b ? (keyOf(b) ?? "") : ""),
    });
  }
  return out;
}

/** `20250102T030405Z`: the UTC time in a file name (no colons). */
export function fileTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}
