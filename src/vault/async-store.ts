/**
 * The vault port, the one interface to a vault: the local SQLite vault's synchronous API
 * (stores/sqlite/vault-store.ts) with every method returning a
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
import { RekeyError } from "../errors.js";
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
  | { op: "appendRotationHistory"; entry: RotationHistoryEntry; audit: AuditEvent }
  /** A new record; its stored form is in CommitResult.created, in op order. */
  | {
      op: "createRecord";
      record: KeeperRecord;
      folderUid?: FolderRef | undefined;
      /** Only where `capabilities.chosenRecordUids` (else the backend assigns it). */
      uid?: string | undefined;
    }
  /** A new folder; `ref` names it for later ops of the same commit (its UID is the backend's). */
  | {
      op: "createFolder";
      name: string;
      parentUid?: FolderRef | undefined;
      shared?: boolean | undefined;
      ref?: string | undefined;
    }
  /** Delete a record (its history stays where the backend keeps one), revision-checked. */
  | { op: "deleteRecord"; uid: string; expectedRevision: number };

/**
 * Where a createRecord/createFolder op puts its result: an existing folder's UID, null for the vault root,
 * or `{ ref }`: the folder a createFolder op earlier in the same commit made.
 */
export type FolderRef = string | null | { ref: string };

/** A record's file attachment, read through AsyncVaultStore.readAttachment. */
export interface Attachment {
  /** The file name the attachment was uploaded with (falls back to its title, then its UID). */
  name: string;
  content: Buffer;
}

export interface CommitResult {
  /** The saved record of each saveRecord op, in order. */
  saved: StoredRecord[];
  /** The new record of each createRecord op, in order (absent when there was none). */
  created?: StoredRecord[];
  /** The new folder of each createFolder op, in order (absent when there was none). */
  folders?: Folder[];
}

/**
 * What a backend can do beyond the common interface. Commands check a flag with `requireCapability`, the one
 * place a backend's missing capability becomes an error; a backend never refuses with its own wording.
 */
export interface StoreCapabilities {
  /** Every saved version of a record is kept and readable (record history, record restore). */
  recordHistory: boolean;
  /** A signed head of the whole vault, checked against a copy kept elsewhere (`head`, `checkIntegrity`). */
  integrityHead: boolean;
  /** Key files can be added to unlock the vault (`addKeyFileSlot`). */
  localKeySlots: boolean;
  /** Shared folders (top-level folders) can be created; else they are made in the backend's own tools. */
  createSharedFolders: boolean;
  /** A record may sit at the vault root, outside any folder. */
  recordsAtRoot: boolean;
  /** A new record may be given its UID (createRecord `uid`). */
  chosenRecordUids: boolean;
  /** `commit` applies all its ops or none (false: in order, the first failure stops the rest). */
  atomicCommit: boolean;
}

export type Capability = keyof StoreCapabilities;

/**
 * The record store: records, their versions and folders. Every backend has one (SQLite, Keeper, PostgreSQL).
 */
export interface RecordStore {
  readonly description: string;
  listRecords(filter?: { type?: string; folderUid?: string }): Promise<StoredRecord[]>;
  /**
   * Optional: the records `listRecords` gives, in the same order, a page at a time (about `RECORD_PAGE` each,
   * fewer where the type filter drops some): a huge vault is never decrypted into memory at once. Each page is
   * read consistently; the whole is not one snapshot (a record changed meanwhile is seen as it was when its
   * page was read, a record created meanwhile may be missed), but no record is given twice. Use
   * `recordPages`, which falls back to one `listRecords` page on backends without it.
   */
  iterateRecords?(filter?: { type?: string; folderUid?: string }): AsyncIterable<StoredRecord[]>;
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
}

/**
 * One record's scheduling facts, kept beside the records so the gateway plans without decrypting them
 * (gateway/schedule-index.ts). Non-secret metadata only; `identities` are keyed digests (see `digest`).
 *
 * Advisory: rows are not covered by the vault's MACs or signed head. A wrong row can only make the
 * gateway decrypt and re-plan a record early (it then rotates only what the record itself says is due,
 * under the lease) or look at it late, bounded by the gateway's periodic full pass.
 */
export interface ScheduleIndexRow {
  uid: string;
  /** The record revision the row was computed from: a different current revision makes it stale. */
  revision: number;
  type: string;
  /** Epoch ms of the next run or end of grace; null: nothing planned (on demand only, unreadable). */
  nextDueAt: number | null;
  /** The outcome of the record's latest attempt, when it has one. */
  lastOutcome: string | null;
  /** The PAM configuration the record uses (its changes re-plan the record). */
  configurationUid: string | null;
  /** Keyed digests of which IAM user the record manages (records naming the same user share one). */
  identities: string[];
  /** Epoch ms when the row was computed. */
  computedAt: number;
}

/** Where the vault and its index stand: equal marks, nothing changed. */
export interface ScheduleIndexMark {
  /** Changes with every write to records (and, on some backends, journal, history and audit). */
  records: string;
  /** Grows with every index write (the latest write's sequence number; 0 for none). */
  rows: number;
}

/**
 * Optional (`AsyncVaultStore.scheduleIndex`): the schedule index table of SQLite and PostgreSQL vaults.
 * Reads clear columns only, never decrypts. A Keeper vault has none (its listing is one KSM request).
 */
export interface ScheduleIndexStore {
  /** Cheap to read, so an idle tick reads nothing else: what moved since the last look. */
  changeMark(): Promise<ScheduleIndexMark>;
  /** Every live record's current revision, from clear columns. */
  listRecordRevisions(): Promise<Array<{ uid: string; revision: number }>>;
  /**
   * The rows; with `since` (a mark's `rows`), those written after that mark (and possibly a few before:
   * reading one twice is harmless).
   */
  listRows(opts?: { since?: number }): Promise<ScheduleIndexRow[]>;
  /** Insert or replace rows (by uid). */
  putRows(rows: readonly ScheduleIndexRow[]): Promise<void>;
  deleteRows(uids: readonly string[]): Promise<void>;
  /** A keyed digest of `value` (the vault's title-index key): equal values, equal digests; not reversible. */
  digest(value: string): string;
}

/** A live record's place in the listing and its current version, from clear columns (nothing decrypted). */
export interface RecordHead {
  /** Its position in the listing order (SQLite rowid, PostgreSQL pos): kept while the record lives. */
  pos: number;
  uid: string;
  revision: number;
  /** The current version's saved_at; null when the version row is missing (reading the record then fails). */
  savedAt: string | null;
}

/**
 * Optional (`AsyncVaultStore.listingCache`): what the listing cache (vault/listing-cache.ts) needs of a
 * SQLite or PostgreSQL vault. A Keeper vault has none (its listing is one KSM request).
 */
export interface ListingCacheSource {
  /** This vault and where it is (its id and file or database): names the cache file. */
  readonly name: string;
  /** The heads of the records `iterateRecords` gives, in the same order, a page at a time. */
  iterateHeads(): AsyncIterable<RecordHead[]>;
  /** These records, opened as a listing opens them (unknown or deleted UIDs are left out; any order). */
  readRecords(uids: readonly string[]): Promise<StoredRecord[]>;
  /** Seal or open a cache chunk under the vault's listing key (vault-cipher.ts), bound to `chunkAad`. */
  seal(plain: Buffer, chunkAad: string): Buffer;
  open(sealed: Buffer, chunkAad: string): Buffer;
}

/**
 * The state store: what rekey itself keeps beside the records: rotation journals, leases, the audit log
 * and the rotation history. On SQLite and PostgreSQL it lives with the records; for a Keeper vault, in
 * rekey's local state (stores/keeper/local-state.ts).
 */
export interface StateStore {
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
  /** A lease on one record (renew/release as the Lease says), or null when another owner holds it. */
  tryLock(recordUid: string, owner: string, ttlMs: number): Promise<Lease | null>;
}

/**
 * A vault: its record store and its state store, written together through `commit`, the one way to write
 * several things at once (atomically where the backend can, else in the given order).
 */
export interface AsyncVaultStore extends RecordStore, StateStore {
  /** Apply the writes together (atomically where the backend can, else in the given order); `actor` for saves. */
  commit(ops: WriteOp[], opts: { actor: string }): Promise<CommitResult>;
  /** What this backend can do; absent: everything the common interface offers (see capabilitiesOf). */
  readonly capabilities?: StoreCapabilities;
  /** Only on SQLite and PostgreSQL vaults: the gateway's schedule index (absent: list the vault each tick). */
  readonly scheduleIndex?: ScheduleIndexStore;
  /** Only on SQLite and PostgreSQL vaults: what `record list` and `status` read through the listing cache. */
  readonly listingCache?: ListingCacheSource;
  /** Only with `capabilities.integrityHead`: VaultStore.head. */
  head?(): Promise<string>;
  /** Only with `capabilities.integrityHead`: VaultStore.checkIntegrity. */
  checkIntegrity?(opts?: { expectHead?: string; from?: string }): Promise<{ generation: number }>;
  /** Only with `capabilities.localKeySlots`: VaultStore.addKeyFileSlot. */
  addKeyFileSlot?(
    keyFile: string,
    opts: { actor: string },
  ): Promise<{ keyFile?: string; created: boolean; added: boolean }>;
  close(): Promise<void>;
}

/** The UID a FolderRef stands for, given the folders this commit created so far (by ref). */
export function folderUidOf(ref: FolderRef | undefined, created: ReadonlyMap<string, string>): string | null {
  if (ref === undefined || ref === null || typeof ref === "string") return ref ?? null;
  const uid = created.get(ref.ref);
  if (uid === undefined) {
    throw new RekeyError("internal", `commit: folder ref "${ref.ref}" names no earlier createFolder op`);
  }
  return uid;
}

/**
 * Records per page of `iterateRecords`: large enough to amortise a query, small enough that a page's garbage
 * dies young (1,000 made `rekey status` over 100,000 records peak at about 290 MB, 250 at about 215 MB).
 */
export const RECORD_PAGE = 250;

/**
 * Heads per page of `ListingCacheSource.iterateHeads`: a head is a few clear columns (no ciphertext), and the
 * records a page misses in the listing cache are read together, one query for the page.
 */
export const HEADS_PAGE = 1000;

/**
 * The store's records a page at a time (`iterateRecords`), or all of them as one page on a backend without it
 * (Keeper: one listing is one request anyway).
 *
 * @example
 * for await (const page of recordPages(store, { type: "pamUser" })) for (const r of page) show(r);
 */
export async function* recordPages(
  store: RecordStore,
  filter?: { type?: string; folderUid?: string },
): AsyncGenerator<StoredRecord[]> {
  if (store.iterateRecords) {
    yield* store.iterateRecords(filter);
    return;
  }
  const all = await store.listRecords(filter);
  if (all.length > 0) yield all;
}
