/**
 * The vault port for backends that do network I/O: `VaultStore` (store.ts) with every method returning a
 * promise, and `transaction(fn)` replaced by `commit(ops)`, a declared list of writes. The rotation engine
 * talks only to this port; `toAsyncStore` adapts a synchronous store (the local SQLite vault), and
 * KeeperVault (stores/keeper/ksm-store.ts) implements it natively.
 *
 * Why not an async `transaction(fn)`: better-sqlite3 cannot keep a transaction open across `await`s, and
 * Keeper cannot make a remote save and a local journal write atomic at all. What the rotation engine needs
 * from its transactions is narrower: "save the record, move the journal, append the audit entry", applied
 * together where the backend can (SQLite: one BEGIN IMMEDIATE), and in that order where it cannot (Keeper: the
 * record save is the commit point; a crash after it leaves the journal one phase behind, which repair handles
 * because it compares the record's current key with the journal's new key).
 *
 * Backends with a two-phase record update (Keeper's rotation transaction) also implement
 * `completeTransaction`; a `saveRecord` op may then ask for one (`transaction: "rotation"`). Other backends
 * ignore the request: their save is final at once.
 */
import type { KeeperRecord } from "./record.js";
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
  VaultStore,
} from "./store.js";

/** One write of a `commit`. */
export type WriteOp =
  | {
      op: "saveRecord";
      uid: string;
      record: KeeperRecord;
      expectedRevision: number;
      /** Open a two-phase update, finished by completeTransaction (ignored by backends without one). */
      transaction?: "rotation" | undefined;
    }
  | { op: "putJournal"; entry: Omit<JournalEntry, "createdAt" | "updatedAt"> }
  | { op: "deleteJournal"; id: string }
  | { op: "audit"; event: AuditEvent }
  /** A rotation history entry and its audit-log copy (see VaultStore.appendRotationHistory). */
  | { op: "appendRotationHistory"; entry: RotationHistoryEntry; audit: AuditEvent };

/** A record's file attachment, read through AsyncVaultStore.readAttachment. */
export interface Attachment {
  /** The file name the attachment was uploaded with (falls back to its title, then its UID). */
  name: string;
  content: Buffer;
}

export interface CommitResult {
  /** The saved record of each saveRecord op, in order. */
  saved: StoredRecord[];
}

export interface AsyncVaultStore {
  readonly description: string;
  listRecords(filter?: { type?: string; folderUid?: string }): Promise<StoredRecord[]>;
  getRecord(uid: string): Promise<StoredRecord | undefined>;
  findByTitle(title: string): Promise<StoredRecord[]>;
  createRecord(
    record: KeeperRecord,
    opts: { folderUid?: string | null; uid?: string; actor: string },
  ): Promise<StoredRecord>;
  saveRecord(uid: string, record: KeeperRecord, opts: SaveOptions): Promise<StoredRecord>;
  deleteRecord(uid: string, opts: SaveOptions): Promise<void>;
  history(uid: string): Promise<RecordVersion[]>;
  listFolders(): Promise<Folder[]>;
  createFolder(
    name: string,
    opts: { parentUid?: string | null; shared?: boolean; actor: string },
  ): Promise<Folder>;
  appendAudit(event: AuditEvent): Promise<AuditEntry>;
  listAudit(filter?: { recordUid?: string; limit?: number }): Promise<AuditEntry[]>;
  verifyAudit(): Promise<AuditVerification>;
  putJournal(entry: Omit<JournalEntry, "createdAt" | "updatedAt">): Promise<JournalEntry>;
  listJournal(filter?: { recordUid?: string; kind?: string }): Promise<JournalEntry[]>;
  deleteJournal(id: string): Promise<void>;
  /** Append `entry` and its audit-log copy `audit` (secret-free facts): both or neither. */
  appendRotationHistory(entry: RotationHistoryEntry, audit: AuditEvent): Promise<RotationHistoryEntry>;
  /** Entries oldest first; with `limit`, the most recent `limit` of them. */
  listRotationHistory(filter?: { recordUid?: string; limit?: number }): Promise<RotationHistoryEntry[]>;
  /** Leases stay synchronous to renew/release: every backend so far keeps them locally or in one statement. */
  tryLock(recordUid: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Apply the writes together (atomically where the backend can, else in the given order); `actor` for saves. */
  commit(ops: WriteOp[], opts: { actor: string }): Promise<CommitResult>;
  /**
   * Only on backends with two-phase record updates: keep (commit) or undo (rollback) the update a
   * `saveRecord` op with `transaction` opened. Fails when the record has no open transaction.
   */
  completeTransaction?(uid: string, outcome: "commit" | "rollback", opts: { actor: string }): Promise<void>;
  /**
   * false: a rotation saves with a plain revision-checked update even though the store has
   * completeTransaction (which then only settles a transaction an earlier run may have left open).
   * Absent or true: saves go through a rotation transaction when the store has one.
   */
  transactionalSaves?: boolean;
  /**
   * Only on backends with file attachments (Keeper): the decrypted content and file name of attachment
   * `fileUid` of record `recordUid`, or undefined when the record (visible to this store) has no such
   * attachment. Throws when the attachment is listed but cannot be downloaded or decrypted.
   */
  readAttachment?(recordUid: string, fileUid: string): Promise<Attachment | undefined>;
  close(): Promise<void>;
}

/** Apply `ops` to a synchronous store inside one of its transactions. */
export function commitSync(store: VaultStore, ops: WriteOp[], actor: string): CommitResult {
  return store.transaction(() => {
    const saved: StoredRecord[] = [];
    for (const o of ops) {
      if (o.op === "saveRecord")
        saved.push(store.saveRecord(o.uid, o.record, { expectedRevision: o.expectedRevision, actor }));
      else if (o.op === "putJournal") store.putJournal(o.entry);
      else if (o.op === "deleteJournal") store.deleteJournal(o.id);
      else if (o.op === "appendRotationHistory") store.appendRotationHistory(o.entry, o.audit);
      else store.appendAudit(o.event);
    }
    return { saved };
  });
}

/**
 * The async port over a synchronous store (the local SQLite vault).
 *
 * @example
 * const store = asyncVaultStore(await openDefaultVault({ interactive: false }));
 * await store.commit([{ op: "saveRecord", uid, record, expectedRevision: 3 }, { op: "deleteJournal", id }], { actor: "rotate" });
 */
export function asyncVaultStore(sync: VaultStore): AsyncVaultStore {
  // Promise.resolve().then(...) turns a synchronous throw into a rejection, as a real async backend would.
  const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);
  return {
    description: sync.description,
    listRecords: (filter) => later(() => sync.listRecords(filter)),
    getRecord: (uid) => later(() => sync.getRecord(uid)),
    findByTitle: (title) => later(() => sync.findByTitle(title)),
    createRecord: (record, opts) => later(() => sync.createRecord(record, opts)),
    saveRecord: (uid, record, opts) => later(() => sync.saveRecord(uid, record, opts)),
    deleteRecord: (uid, opts) => later(() => sync.deleteRecord(uid, opts)),
    history: (uid) => later(() => sync.history(uid)),
    listFolders: () => later(() => sync.listFolders()),
    createFolder: (name, opts) => later(() => sync.createFolder(name, opts)),
    appendAudit: (event) => later(() => sync.appendAudit(event)),
    listAudit: (filter) => later(() => sync.listAudit(filter)),
    verifyAudit: () => later(() => sync.verifyAudit()),
    putJournal: (entry) => later(() => sync.putJournal(entry)),
    listJournal: (filter) => later(() => sync.listJournal(filter)),
    deleteJournal: (id) => later(() => sync.deleteJournal(id)),
    appendRotationHistory: (entry, audit) => later(() => sync.appendRotationHistory(entry, audit)),
    listRotationHistory: (filter) => later(() => sync.listRotationHistory(filter)),
    tryLock: (uid, owner, ttl) => later(() => sync.tryLock(uid, owner, ttl)),
    commit: (ops, opts) => later(() => commitSync(sync, ops, opts.actor)),
    close: () => later(() => sync.close()),
  };
}

/** True for the async port; false for a synchronous `VaultStore` (which has `transaction`, not `commit`). */
export function isAsyncVaultStore(store: VaultStore | AsyncVaultStore): store is AsyncVaultStore {
  return typeof (store as Partial<AsyncVaultStore>).commit === "function";
}

/**
 * Either kind of store as the async port: callers of the engine may keep passing the synchronous store.
 *
 * @example
 * const store = toAsyncStore(sqliteStore); // or a KeeperVault, returned as is
 */
export function toAsyncStore(store: VaultStore | AsyncVaultStore): AsyncVaultStore {
  return isAsyncVaultStore(store) ? store : asyncVaultStore(store);
}
