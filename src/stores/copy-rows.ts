/**
 * `rekey vault copy`: a whole vault as its stored rows, the one shape every rekey-owned backend (SQLite,
 * PostgreSQL) exports and imports. Nothing in it is plaintext: record versions, folder names, journal entries
 * and rotation-history entries are the ciphertexts the source stored (vault-cipher.ts), copied as they are.
 *
 * Why rows and not decrypted records: both backends seal every row the same way, with keys derived from the
 * vault master key and an AAD made only of the row's own clear columns (uid, revision, times, ...), never of
 * anything backend-specific. A row therefore opens in any backend unlocked by the same master key, and the
 * copy never needs to hold a secret in clear. The target gets the source's vault id and key slots, so the
 * same key file or passphrase unlocks it; the audit hash chain (keyed by the master key and the vault id)
 * is copied entry for entry and still verifies. Leases are listed (to refuse a copy while one is held) but
 * never copied: they belong to running processes.
 */

/** A folder row: its name sealed under the folder-name key. */
export interface FolderRow {
  uid: string;
  parentUid: string | null;
  shared: boolean;
  createdAt: string;
  nameCt: Buffer;
}

/** The pointer to a live record's current revision (title as an HMAC, the row MACed). */
export interface RecordRow {
  uid: string;
  revision: number;
  titleMac: Buffer;
  createdAt: string;
  rowMac: Buffer;
}

/** One saved version of a record (tombstones of deleted records included). */
export interface VersionRow {
  uid: string;
  revision: number;
  folderUid: string | null;
  savedAt: string;
  actor: string;
  deleted: boolean;
  dek: Buffer;
  body: Buffer;
}

/** One audit entry as stored: `details` is the canonical JSON text the chain hashed. */
export interface AuditRow {
  seq: number;
  at: string;
  action: string;
  recordUid: string | null;
  actor: string;
  details: string;
  hash: string;
}

export interface JournalRow {
  id: string;
  recordUid: string;
  kind: string;
  createdAt: string;
  updatedAt: string;
  dek: Buffer;
  body: Buffer;
}

export interface HistoryRow {
  seq: number;
  id: string;
  recordUid: string;
  startedAt: string;
  savedAt: string;
  dek: Buffer;
  body: Buffer;
}

/** A lease held when the rows were read (unexpired, holder maybe alive). */
export interface HeldLease {
  recordUid: string;
  owner: string;
  expiresAt: string;
}

export interface VaultRows {
  meta: {
    vaultId: string;
    createdAt: string;
    /** The key slots, as the JSON text stored in the vault's meta. */
    keySlots: string;
    /** The audit log's signed head (JSON text), MACed under the audit key: valid in any copy. */
    auditHead: string;
  };
  /** In creation order. */
  folders: FolderRow[];
  /** In creation order. */
  records: RecordRow[];
  /** Sorted by uid, then revision (sortVersions). */
  versions: VersionRow[];
  /** By seq. */
  audit: AuditRow[];
  /** In creation order. */
  journal: JournalRow[];
  /** By seq. */
  history: HistoryRow[];
  /** Not copied: listed so that a copy taken while a rotation runs is refused. */
  leases: HeldLease[];
}

/** Versions in one order whatever the backend's collation: by uid (code units), then revision. */
export function sortVersions(versions: VersionRow[]): VersionRow[] {
  return versions.sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : a.revision - b.revision));
}

/** What a copy moved, for the summary and the `vault.copy` audit entries (no secret). */
export interface CopyCounts {
  /** Live records. */
  records: number;
  /** Records deleted in the source, whose versions (tombstone last) were copied too. */
  deletedRecords: number;
  versions: number;
  folders: number;
  /** The source's audit entries, copied as they are (the target adds its own `vault.copy` after them). */
  auditEntries: number;
  journalEntries: number;
  historyEntries: number;
}

export function countRows(rows: VaultRows): CopyCounts {
  const uids = new Set(rows.versions.map((v) => v.uid));
  return {
    records: rows.records.length,
    deletedRecords: uids.size - rows.records.length,
    versions: rows.versions.length,
    folders: rows.folders.length,
    auditEntries: rows.audit.length,
    journalEntries: rows.journal.length,
    historyEntries: rows.history.length,
  };
}

/** Every record UID that ever existed (live and deleted), in version order. */
export function allRecordUids(rows: VaultRows): string[] {
  return [...new Set(rows.versions.map((v) => v.uid))];
}
