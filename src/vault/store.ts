/**
 * The vault store port. Callers (CLI, rotation engine, gateway) see only this interface; the local
 * SQLite vault implements it today, Keeper Secrets Manager and PostgreSQL later. Nothing here names
 * SQLite.
 */
import type { KeeperRecord } from "./record.js";

/** A record as stored: its UID, folder, revision and content. */
export interface StoredRecord {
  uid: string;
  /** Folder (shared folder) UID, or null for the vault root. */
  folderUid: string | null;
  /** Starts at 1 and grows by one at each save. */
  revision: number;
  record: KeeperRecord;
  createdAt: string;
  updatedAt: string;
}

export interface Folder {
  uid: string;
  name: string;
  parentUid: string | null;
  /** A shared folder (Keeper's unit of sharing) vs a user sub-folder. */
  shared: boolean;
}

export interface RecordVersion {
  revision: number;
  savedAt: string;
  /** What saved it (the command or actor), e.g. "record edit", "rotate". */
  actor: string;
  record: KeeperRecord;
  /** True for the version that deleted the record (a tombstone keeps the last content). */
  deleted: boolean;
}

export interface AuditEvent {
  /** e.g. "record.create", "record.update", "record.delete", "vault.init", "rotation.complete" */
  action: string;
  recordUid?: string | null;
  /** The command or component that caused it, e.g. "rekey record edit". */
  actor: string;
  /** Extra facts. Never secret values: key ids yes, secrets no. */
  details?: Record<string, unknown>;
}

export interface AuditEntry extends Required<Omit<AuditEvent, "details">> {
  seq: number;
  at: string;
  details: Record<string, unknown>;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** The first bad entry's sequence number and what is wrong with it. */
  problem?: { seq: number; reason: string };
}

/** Work in flight (e.g. a rotation between CreateAccessKey and the record save). Encrypted at rest. */
export interface JournalEntry {
  id: string;
  recordUid: string;
  kind: string;
  /** Free-form state; may hold secrets (encrypted at rest like records). */
  state: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** A held per-record lock (a lease: it expires if its holder dies without releasing it). */
export interface Lease {
  recordUid: string;
  owner: string;
  expiresAt: string;
  /**
   * Extend the lease; throws a conflict error if it was lost. A backend whose leases live in a database
   * (PostgreSQL) returns the round trip's promise: a caller may await it, and one that does not learns of
   * a lost lease at its next renew, which then throws.
   */
  renew(ttlMs?: number): void | Promise<void>;
  /** Give the lease up (a database backend returns the statement's promise: await it to be sure it is gone). */
  release(): void | Promise<void>;
}

/**
 * One entry of the rotation history (what the gateway records per attempt). The vault keeps it as an
 * opaque JSON object: it checks only the fields it indexes. The entry may hold script output, so it is
 * encrypted at rest like the journal; it must never hold a Secret object (refused) or a secret value.
 */
export interface RotationHistoryEntry {
  /** Unique per entry; appending an id twice is a conflict. */
  id: string;
  recordUid: string;
  /** ISO 8601: when the attempt started (entries are listed in the order they were appended). */
  startedAt: string;
  [property: string]: unknown;
}

export interface SaveOptions {
  /** The revision the change was based on: a save on a stale revision fails with a conflict error. */
  expectedRevision: number;
  actor: string;
}

export interface VaultStore {
  /** A short description for messages, e.g. "local vault /root/.rekey/vault.db". */
  readonly description: string;

  // Records
  listRecords(filter?: { type?: string; folderUid?: string }): StoredRecord[];
  getRecord(uid: string): StoredRecord | undefined;
  /** Records whose title equals `title` exactly (several means ambiguous). */
  findByTitle(title: string): StoredRecord[];
  createRecord(
    record: KeeperRecord,
    opts: { folderUid?: string | null; uid?: string; actor: string },
  ): StoredRecord;
  saveRecord(uid: string, record: KeeperRecord, opts: SaveOptions): StoredRecord;
  deleteRecord(uid: string, opts: SaveOptions): void;
  history(uid: string): RecordVersion[];

  // Folders
  listFolders(): Folder[];
  createFolder(name: string, opts: { parentUid?: string | null; shared?: boolean; actor: string }): Folder;

  // Audit
  appendAudit(event: AuditEvent): AuditEntry;
  listAudit(filter?: { recordUid?: string; limit?: number }): AuditEntry[];
  verifyAudit(): AuditVerification;

  // Journal of in-flight work
  putJournal(entry: Omit<JournalEntry, "createdAt" | "updatedAt">): JournalEntry;
  listJournal(filter?: { recordUid?: string; kind?: string }): JournalEntry[];
  deleteJournal(id: string): void;

  // Rotation history (encrypted; each entry also appended to the audit log)
  /**
   * Append `entry` and its audit-log copy `audit` (secret-free facts) in one transaction: both or
   * neither. Returns the entry as stored.
   */
  appendRotationHistory(entry: RotationHistoryEntry, audit: AuditEvent): RotationHistoryEntry;
  /** Entries oldest first; with `limit`, the most recent `limit` of them. */
  listRotationHistory(filter?: { recordUid?: string; limit?: number }): RotationHistoryEntry[];

  // Locks
  /** Take the record's lock, or return null if another live holder has it. */
  tryLock(recordUid: string, owner: string, ttlMs: number): Lease | null;

  // The signed head of the whole vault (rollback detection)
  /** The signed head as one line, no secret in it: keep it elsewhere to detect a rolled-back file later. */
  head(): string;
  /**
   * Check every live row against the signed head, and the head against `expectHead` (a line `head()` gave
   * earlier, read from `from`): throws an integrity error when something was deleted or rolled back.
   */
  checkIntegrity(opts?: { expectHead?: string; from?: string }): { generation: number };

  /**
   * Only on stores unlocked by key slots (the local vault): let a key file unlock it too. The file is created
   * (0600) if missing; `added` is false when it already unlocks the vault.
   */
  addKeyFileSlot?(
    keyFile: string,
    opts: { actor: string },
  ): { keyFile: string; created: boolean; added: boolean };

  /** Run `fn` atomically: every store call inside commits together or not at all. */
  transaction<T>(fn: () => T): T;

  close(): void;
}
