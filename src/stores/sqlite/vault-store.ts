/**
 * The local SQLite vault's own synchronous API (SqliteVaultStore implements it). Everything outside
 * stores/sqlite/ uses the async store port (vault/async-store.ts); `toAsyncStore` (async-adapter.ts) is the
 * bridge, for the CLI's opening code and tests that build a SQLite vault directly.
 */
import type { ListingCacheSource, RecordHead } from "../../vault/async-store.js";
import type { KeeperRecord } from "../../vault/record.js";
import type {
  AuditEntry,
  AuditEvent,
  AuditVerification,
  Folder,
  JournalEntry,
  Lease,
  RecordVersion,
  RotationHistoryEntry,
  SaveOptions,
  StoredRecord,
} from "../../vault/store.js";
import type { SqliteScheduleIndex } from "./sqlite-schedule-index.js";

/** ListingCacheSource, synchronous: heads a page at a time (`after`: the last page's last position). */
export interface SqliteListingSource extends Pick<ListingCacheSource, "name" | "seal" | "open"> {
  headsPage(after: number, limit: number): RecordHead[];
  readRecords(uids: readonly string[]): StoredRecord[];
}

export interface VaultStore {
  /** A short description for messages, e.g. "local vault /root/.rekey/vault.db". */
  readonly description: string;

  /** The gateway's schedule index (sqlite-schedule-index.ts); absent on stores without one. */
  scheduleIndex?(): SqliteScheduleIndex;
  /** What the listing cache reads (vault/listing-cache.ts); absent on stores without one. */
  listingCache?(): SqliteListingSource;

  // Records
  listRecords(filter?: { type?: string; folderUid?: string }): StoredRecord[];
  /**
   * One page of `listRecords`: the records after position `after` (0: from the start), at most `limit` of them
   * read; `next` is the position to continue from, undefined after the last page (sqlite-iterate.ts).
   */
  listRecordsPage?(
    filter: { type?: string; folderUid?: string },
    after: number,
    limit: number,
  ): { records: StoredRecord[]; next: number | undefined };
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
