/**
 * The local SQLite vault as the async store port: its synchronous calls stay inside (one BEGIN IMMEDIATE per
 * commit), behind the interface every command, the engine and the gateway use.
 */
import type {
  AsyncVaultStore,
  CommitResult,
  ListingCacheSource,
  ScheduleIndexStore,
  StoreCapabilities,
  WriteOp,
} from "../../vault/async-store.js";
import { folderUidOf, HEADS_PAGE, RECORD_PAGE } from "../../vault/async-store.js";
import type { Folder, StoredRecord } from "../../vault/store.js";
import { groupCommits } from "./group-commit.js";
import { sqliteHeadPages, sqliteRecordPages } from "./sqlite-iterate.js";
import type { SqliteScheduleIndex } from "./sqlite-schedule-index.js";
import type { SqliteListingSource, VaultStore } from "./vault-store.js";

/** Apply `ops` to a synchronous store inside one of its transactions. */
export function commitSync(store: VaultStore, ops: WriteOp[], actor: string): CommitResult {
  return store.transaction(() => {
    const saved: StoredRecord[] = [];
    const created: StoredRecord[] = [];
    const folders: Folder[] = [];
    const refs = new Map<string, string>();
    for (const o of ops) {
      switch (o.op) {
        case "saveRecord":
          saved.push(store.saveRecord(o.uid, o.record, { expectedRevision: o.expectedRevision, actor }));
          break;
        case "putJournal":
          store.putJournal(o.entry);
          break;
        case "deleteJournal":
          store.deleteJournal(o.id);
          break;
        case "appendRotationHistory":
          store.appendRotationHistory(o.entry, o.audit);
          break;
        case "audit":
          store.appendAudit(o.event);
          break;
        case "createRecord":
          created.push(
            store.createRecord(o.record, {
              folderUid: folderUidOf(o.folderUid, refs),
              actor,
              ...(o.uid ? { uid: o.uid } : {}),
            }),
          );
          break;
        case "createFolder": {
          const f = store.createFolder(o.name, {
            parentUid: folderUidOf(o.parentUid, refs),
            ...(o.shared !== undefined ? { shared: o.shared } : {}),
            actor,
          });
          if (o.ref) refs.set(o.ref, f.uid);
          folders.push(f);
          break;
        }
        case "deleteRecord":
          store.deleteRecord(o.uid, { expectedRevision: o.expectedRevision, actor });
          break;
      }
    }
    return {
      saved,
      ...(created.length ? { created } : {}),
      ...(folders.length ? { folders } : {}),
    };
  });
}

/** The local vault's capabilities: everything. */
const SYNC_CAPABILITIES: StoreCapabilities = {
  recordHistory: true,
  integrityHead: true,
  localKeySlots: true,
  createSharedFolders: true,
  recordsAtRoot: true,
  chosenRecordUids: true,
  atomicCommit: true,
};

export interface AsyncStoreOptions {
  /**
   * Writes asked for alongside one another share one commit (group-commit.ts): each then waits for the
   * next turn of the event loop, so it is for processes that write a lot at once (the CLI's store: the
   * gateway, rotate --all), not for tests that settle async work with a single setImmediate.
   */
  groupCommits?: boolean;
}

/**
 * The async port over a synchronous store (the local SQLite vault).
 *
 * @example
 * const store = asyncVaultStore(await openDefaultVault({ interactive: false }));
 * await store.commit([{ op: "saveRecord", uid, record, expectedRevision: 3 }, { op: "deleteJournal", id }], { actor: "rotate" });
 */
export function asyncVaultStore(sync: VaultStore, opts: AsyncStoreOptions = {}): AsyncVaultStore {
  // Promise.resolve().then(...) turns a synchronous throw into a rejection, as a real async backend would.
  const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);
  const write = opts.groupCommits ? groupCommits((fn) => sync.transaction(fn)) : later;
  return {
    description: sync.description,
    listRecords: (filter) => later(() => sync.listRecords(filter)),
    ...(sync.listRecordsPage
      ? {
          iterateRecords: (filter: { type?: string; folderUid?: string } = {}) =>
            sqliteRecordPages(sync as Required<Pick<VaultStore, "listRecordsPage">>, filter, RECORD_PAGE),
        }
      : {}),
    getRecord: (uid) => later(() => sync.getRecord(uid)),
    findByTitle: (title) => later(() => sync.findByTitle(title)),
    createRecord: (record, opts) => write(() => sync.createRecord(record, opts)),
    saveRecord: (uid, record, opts) => write(() => sync.saveRecord(uid, record, opts)),
    deleteRecord: (uid, opts) => write(() => sync.deleteRecord(uid, opts)),
    history: (uid) => later(() => sync.history(uid)),
    listFolders: () => later(() => sync.listFolders()),
    createFolder: (name, opts) => later(() => sync.createFolder(name, opts)),
    appendAudit: (event) => write(() => sync.appendAudit(event)),
    listAudit: (filter) => later(() => sync.listAudit(filter)),
    verifyAudit: () => later(() => sync.verifyAudit()),
    putJournal: (entry) => write(() => sync.putJournal(entry)),
    listJournal: (filter) => later(() => sync.listJournal(filter)),
    deleteJournal: (id) => write(() => sync.deleteJournal(id)),
    appendRotationHistory: (entry, audit) => write(() => sync.appendRotationHistory(entry, audit)),
    listRotationHistory: (filter) => later(() => sync.listRotationHistory(filter)),
    tryLock: (uid, owner, ttl) => write(() => sync.tryLock(uid, owner, ttl)),
    commit: (ops, opts) => write(() => commitSync(sync, ops, opts.actor)),
    ...(sync.scheduleIndex ? { scheduleIndex: asyncScheduleIndex(sync.scheduleIndex()) } : {}),
    ...(sync.listingCache ? { listingCache: asyncListingSource(sync.listingCache()) } : {}),
    capabilities: { ...SYNC_CAPABILITIES, localKeySlots: typeof sync.addKeyFileSlot === "function" },
    head: () => later(() => sync.head()),
    checkIntegrity: (opts) => later(() => sync.checkIntegrity(opts)),
    ...(sync.addKeyFileSlot
      ? {
          addKeyFileSlot: (keyFile: string, opts: { actor: string }) =>
            later(() => sync.addKeyFileSlot!(keyFile, opts)),
        }
      : {}),
    close: () => later(() => sync.close()),
  };
}

/** The synchronous schedule index behind the async port's ScheduleIndexStore. */
function asyncScheduleIndex(index: SqliteScheduleIndex): ScheduleIndexStore {
  const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);
  return {
    changeMark: () => later(() => index.changeMark()),
    listRecordRevisions: () => later(() => index.listRecordRevisions()),
    listRows: (opts) => later(() => index.listRows(opts)),
    putRows: (rows) => later(() => index.putRows(rows)),
    deleteRows: (uids) => later(() => index.deleteRows(uids)),
    digest: (value) => index.digest(value),
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
export function toAsyncStore(
  store: VaultStore | AsyncVaultStore,
  opts: AsyncStoreOptions = {},
): AsyncVaultStore {
  return isAsyncVaultStore(store) ? store : asyncVaultStore(store, opts);
}

/** The listing cache's source over the synchronous one: heads in pages of HEADS_PAGE. */
function asyncListingSource(sync: SqliteListingSource): ListingCacheSource {
  return {
    name: sync.name,
    iterateHeads: () => sqliteHeadPages((after, limit) => sync.headsPage(after, limit), HEADS_PAGE),
    readRecords: (uids) => Promise.resolve().then(() => sync.readRecords(uids)),
    seal: (plain, chunkAad) => sync.seal(plain, chunkAad),
    open: (sealed, chunkAad) => sync.open(sealed, chunkAad),
  };
}
