/**
 * A rekey vault in PostgreSQL, for several gateways sharing one database: the async store port
 * (vault/async-store.ts) with the SQLite vault's encryption (every record version, folder name, journal entry
 * and history entry sealed with keys derived from the vault master key; titles only as HMACs), its audit
 * hash chain, and leases on the database's clock.
 *
 * Invariants:
 * - Every write is one transaction holding the vault's write lock (pg-db.ts), with its audit entry inside:
 *   the change and its record in the log commit together or not at all. `commit(ops)` is one transaction.
 * - A save is conditioned on the revision it was based on (`UPDATE ... WHERE revision = $n`): a stale save
 *   is a conflict, as in SQLite, and undoes its whole batch.
 * - Not here (SQLite only, not part of the async port): the signed vault head and `checkIntegrity`.
 *   Rows are still MACed or sealed one by one, so an edited row fails to read.
 */
import { unlinkSync } from "node:fs";
import { resolve } from "node:path";
import { conflict, usageError } from "../../errors.js";
import type { Secret } from "../../secret.js";
import {
  type AsyncVaultStore,
  type CommitResult,
  folderUidOf,
  HEADS_PAGE,
  type ListingCacheSource,
  RECORD_PAGE,
  type StoreCapabilities,
  type WriteOp,
} from "../../vault/async-store.js";
import { zeroize } from "../../vault/crypto.js";
import {
  type KeySlot,
  keyFileOpensSlots,
  loadOrCreateKeyFile,
  makeKeyFileSlot,
  makePassphraseSlot,
  parseKeySlots,
  type ScryptParams,
} from "../../vault/keys.js";
import { type KeeperRecord, looksLikeUid, newUid, parseRecord } from "../../vault/record.js";
import { diffRecords } from "../../vault/record-diff.js";
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
import { VaultCipher } from "../../vault/vault-cipher.js";
import type { TargetState } from "../copy-plan.js";
import type { VaultRows } from "../copy-rows.js";
import { appendAuditEntry, listAuditEntries, verifyAuditLog } from "./pg-audit.js";
import { metaValue, type PgDb, type Queryable, setMeta } from "./pg-db.js";
import { PgHistory } from "./pg-history.js";
import { readPgRows } from "./pg-import-export.js";
import { importPgRows } from "./pg-import-rows.js";
import { pgHeadPages, pgRecordPages } from "./pg-iterate.js";
import { listJournal, type PreparedJournal, prepareJournal, putJournal } from "./pg-journal.js";
import { PgLeases } from "./pg-locks.js";
import { PgRecords } from "./pg-records.js";
import { PgScheduleIndex } from "./pg-schedule-index.js";
import { META, notAVault } from "./pg-schema.js";

const nowIso = () => new Date().toISOString();

export class PostgresVaultStore implements AsyncVaultStore {
  readonly description: string;
  /** Everything but the signed head of the whole vault (SQLite's rollback detection). */
  readonly capabilities: StoreCapabilities = {
    recordHistory: true,
    integrityHead: false,
    localKeySlots: true,
    createSharedFolders: true,
    recordsAtRoot: true,
    chosenRecordUids: true,
    atomicCommit: true,
  };
  /** The gateway's schedule index (pg-schedule-index.ts, migration 2). */
  readonly scheduleIndex: PgScheduleIndex;
  /** What `record list` and `status` read through the listing cache (vault/listing-cache.ts). */
  readonly listingCache: ListingCacheSource;
  readonly #db: PgDb;
  readonly #vaultId: string;
  readonly #cipher: VaultCipher;
  readonly #records: PgRecords;
  readonly #history: PgHistory;
  readonly #leases: PgLeases;
  #closed = false;

  /** Use `openPostgresVault` or `initPostgresVault`. Takes ownership of `db` and `vmk` (zeroized on close). */
  constructor(db: PgDb, vaultId: string, vmk: Buffer) {
    this.#db = db;
    this.description = `PostgreSQL vault ${db.where}`;
    this.#vaultId = vaultId;
    this.#cipher = new VaultCipher(vmk);
    this.#records = new PgRecords(this.#cipher, this.description);
    this.#history = new PgHistory(vmk);
    this.#leases = new PgLeases(db);
    this.scheduleIndex = new PgScheduleIndex(db, (v) => this.#cipher.indexDigest(v));
    this.listingCache = {
      name: `${vaultId} ${db.where}`,
      iterateHeads: () => pgHeadPages(db, HEADS_PAGE),
      readRecords: (uids) => db.read((tx) => this.#records.list(tx, "WHERE r.uid = ANY($1)", [uids])),
      seal: (plain, chunkAad) => this.#cipher.sealListing(plain, chunkAad),
      open: (sealed, chunkAad) => this.#cipher.openListing(sealed, chunkAad),
    };
  }

  // ---- records ----------------------------------------------------------------------------------------

  async listRecords(filter: { type?: string; folderUid?: string } = {}): Promise<StoredRecord[]> {
    return this.#db.read(async (tx) => {
      const out =
        filter.folderUid === undefined
          ? await this.#records.list(tx)
          : await this.#records.list(tx, "WHERE v.folder_uid = $1", [filter.folderUid]);
      return filter.type === undefined ? out : out.filter((s) => s.record.type === filter.type);
    });
  }

  iterateRecords(filter: { type?: string; folderUid?: string } = {}): AsyncIterable<StoredRecord[]> {
    return pgRecordPages(this.#db, this.#records, filter, RECORD_PAGE);
  }

  async getRecord(uid: string): Promise<StoredRecord | undefined> {
    return this.#db.read((tx) => this.#records.current(tx, uid));
  }

  async findByTitle(title: string): Promise<StoredRecord[]> {
    return this.#db.read(async (tx) =>
      (await this.#records.list(tx, "WHERE r.title_mac = $1", [this.#cipher.titleMac(title)])).filter(
        (s) => s.record.title === title,
      ),
    );
  }

  async createRecord(
    record: KeeperRecord,
    opts: { folderUid?: string | null; uid?: string; actor: string },
  ): Promise<StoredRecord> {
    const clean = parseRecord(record);
    return this.#db.write((tx) => this.#create(tx, clean, opts.folderUid ?? null, opts.uid, opts.actor));
  }

  async #create(
    tx: Queryable,
    clean: KeeperRecord,
    folderUid: string | null,
    chosenUid: string | undefined,
    actor: string,
  ): Promise<StoredRecord> {
    const uid = chosenUid ?? newUid();
    if (!looksLikeUid(uid))
      throw usageError(`"${uid}" is not a record UID`, "UIDs are 22 URL-safe base64 characters");
    if (await this.#records.uidWasUsed(tx, uid)) {
      throw conflict(
        `a record with UID ${uid} already exists (or existed: UIDs of deleted records are not reused)`,
        "create it without a UID to get a new one",
      );
    }
    if (folderUid !== null) await this.#records.requireFolder(tx, folderUid);
    const savedAt = nowIso();
    await this.#records.insertVersion(
      tx,
      { uid, revision: 1, folderUid, savedAt, actor, deleted: false },
      clean,
    );
    await this.#records.insertCurrent(tx, uid, clean.title, savedAt);
    const details = { revision: 1, ...(folderUid ? { folderUid } : {}) };
    await this.#audit(tx, { action: "record.create", recordUid: uid, actor, details });
    return { uid, folderUid, revision: 1, record: clean, createdAt: savedAt, updatedAt: savedAt };
  }

  async saveRecord(uid: string, record: KeeperRecord, opts: SaveOptions): Promise<StoredRecord> {
    const clean = parseRecord(record);
    return this.#db.write((tx) => this.#save(tx, uid, clean, opts));
  }

  async #save(tx: Queryable, uid: string, clean: KeeperRecord, opts: SaveOptions): Promise<StoredRecord> {
    const before = await this.#records.forChange(tx, uid, opts.expectedRevision, clean.title);
    const { folderUid, createdAt } = before;
    const revision = before.revision + 1;
    const savedAt = nowIso();
    await this.#records.insertVersion(
      tx,
      { uid, revision, folderUid, savedAt, actor: opts.actor, deleted: false },
      clean,
    );
    await this.#records.advanceCurrent(tx, uid, clean.title, createdAt, before.revision);
    const details = { revision, ...diffRecords(before.record, clean) };
    await this.#audit(tx, { action: "record.update", recordUid: uid, actor: opts.actor, details });
    return { uid, folderUid, revision, record: clean, createdAt, updatedAt: savedAt };
  }

  async deleteRecord(uid: string, opts: SaveOptions): Promise<void> {
    await this.#db.write((tx) => this.#delete(tx, uid, opts));
  }

  async #delete(tx: Queryable, uid: string, opts: SaveOptions): Promise<void> {
    const last = await this.#records.forChange(tx, uid, opts.expectedRevision);
    const revision = last.revision + 1;
    // The tombstone keeps the last content: a deleted record's secrets stay recoverable from history.
    const m = {
      uid,
      revision,
      folderUid: last.folderUid,
      savedAt: nowIso(),
      actor: opts.actor,
      deleted: true,
    };
    await this.#records.insertVersion(tx, m, last.record);
    await this.#records.deleteCurrent(tx, uid, last.revision);
    await this.#audit(tx, {
      action: "record.delete",
      recordUid: uid,
      actor: opts.actor,
      details: { revision },
    });
  }

  /** All versions oldest first, the tombstone last if deleted; [] for an unknown UID. */
  async history(uid: string): Promise<RecordVersion[]> {
    return this.#db.read((tx) => this.#records.history(tx, uid));
  }

  // ---- folders ----------------------------------------------------------------------------------------

  async listFolders(): Promise<Folder[]> {
    return this.#db.read((tx) => this.#records.folders(tx));
  }

  async createFolder(
    name: string,
    opts: { parentUid?: string | null; shared?: boolean; actor: string },
  ): Promise<Folder> {
    return this.#db.write((tx) =>
      this.#createFolder(tx, name, opts.parentUid ?? null, opts.shared, opts.actor),
    );
  }

  async #createFolder(
    tx: Queryable,
    name: string,
    parentUid: string | null,
    sharedOpt: boolean | undefined,
    actor: string,
  ): Promise<Folder> {
    if (!name.trim()) throw usageError("a folder needs a non-empty name", "give it a name");
    const shared = sharedOpt ?? parentUid === null;
    if (parentUid !== null) await this.#records.requireFolder(tx, parentUid);
    const m = { uid: newUid(), parentUid, shared, createdAt: nowIso() };
    await this.#records.insertFolder(tx, m, name);
    const details = { folderUid: m.uid, parentUid, shared };
    await this.#audit(tx, { action: "folder.create", recordUid: null, actor, details });
    return { uid: m.uid, name, parentUid, shared };
  }

  // ---- audit ------------------------------------------------------------------------------------------

  async appendAudit(event: AuditEvent): Promise<AuditEntry> {
    return this.#db.write((tx) => this.#audit(tx, event));
  }

  #audit(tx: Queryable, event: AuditEvent): Promise<AuditEntry> {
    return appendAuditEntry(tx, this.#cipher.auditKey, event, this.description);
  }

  async listAudit(filter: { recordUid?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    return this.#db.read((tx) => listAuditEntries(tx, filter));
  }

  async verifyAudit(): Promise<AuditVerification> {
    return this.#db.read((tx) => verifyAuditLog(tx, this.#cipher.auditKey, this.#vaultId));
  }

  // ---- journal ----------------------------------------------------------------------------------------

  async putJournal(entry: Omit<JournalEntry, "createdAt" | "updatedAt">): Promise<JournalEntry> {
    const prepared = prepareJournal(entry);
    return this.#db.write((tx) => putJournal(tx, this.#cipher, prepared));
  }

  async listJournal(filter: { recordUid?: string; kind?: string } = {}): Promise<JournalEntry[]> {
    return this.#db.read((tx) => listJournal(tx, this.#cipher, filter));
  }

  /** Remove a journal entry; removing one that is already gone is fine (cleanup is idempotent). */
  async deleteJournal(id: string): Promise<void> {
    await this.#db.write((tx) => tx.query("DELETE FROM journal WHERE id = $1", [id]));
  }

  // ---- rotation history -------------------------------------------------------------------------------

  async appendRotationHistory(entry: RotationHistoryEntry, audit: AuditEvent): Promise<RotationHistoryEntry> {
    const plain = this.#history.prepare(entry, audit);
    return this.#db.write((tx) => this.#appendHistory(tx, entry, plain, audit));
  }

  async #appendHistory(
    tx: Queryable,
    entry: RotationHistoryEntry,
    plain: Buffer,
    audit: AuditEvent,
  ): Promise<RotationHistoryEntry> {
    const stored = await this.#history.insert(tx, entry, plain);
    await this.#audit(tx, { ...audit, recordUid: entry.recordUid });
    return stored;
  }

  async listRotationHistory(
    filter: { recordUid?: string; limit?: number } = {},
  ): Promise<RotationHistoryEntry[]> {
    return this.#db.read((tx) => this.#history.list(tx, filter));
  }

  // ---- vault copy (pg-import-export.ts, pg-import-rows.ts) ----------------------------------------------

  /** `rekey vault copy`: every row as stored (ciphertext), in one read snapshot. */
  async exportRows(): Promise<VaultRows> {
    return this.#db.read((tx) => readPgRows(tx, this.description));
  }

  /**
   * `rekey vault copy`: replace what the database holds with `rows` (this store was made with their vault id
   * and master key) and append `event`, in one transaction; `check` refuses on what is there (copy-plan.ts).
   */
  async importRows(rows: VaultRows, event: AuditEvent, check: (state: TargetState) => void): Promise<void> {
    const keys = { auditKey: this.#cipher.auditKey, vaultId: this.#vaultId, description: this.description };
    await importPgRows(this.#db, keys, rows, event, check);
  }

  // ---- leases, commit, key slots ------------------------------------------------------------------------

  async tryLock(recordUid: string, owner: string, ttlMs: number): Promise<Lease | null> {
    return this.#leases.tryLock(recordUid, owner, ttlMs);
  }

  /** Every op in one transaction: a failing op (a stale save, say) undoes the ones before it. */
  async commit(ops: WriteOp[], opts: { actor: string }): Promise<CommitResult> {
    const { actor } = opts;
    // Checks and serialization first: nothing is sent when an op is malformed.
    const prepared = ops.map((o) => prepareOp(o, this.#history, prepareJournal));
    return this.#db.write(async (tx) => {
      const saved: StoredRecord[] = [];
      const created: StoredRecord[] = [];
      const folders: Folder[] = [];
      const refs = new Map<string, string>();
      for (const p of prepared) {
        switch (p.op) {
          case "saveRecord":
            saved.push(
              await this.#save(tx, p.uid, p.record, { expectedRevision: p.expectedRevision, actor }),
            );
            break;
          case "putJournal":
            await putJournal(tx, this.#cipher, p.prepared);
            break;
          case "deleteJournal":
            await tx.query("DELETE FROM journal WHERE id = $1", [p.id]);
            break;
          case "appendRotationHistory":
            await this.#appendHistory(tx, p.entry, p.plain, p.audit);
            break;
          case "audit":
            await this.#audit(tx, p.event);
            break;
          case "createRecord":
            created.push(await this.#create(tx, p.record, folderUidOf(p.folderUid, refs), p.uid, actor));
            break;
          case "createFolder": {
            const f = await this.#createFolder(tx, p.name, folderUidOf(p.parentUid, refs), p.shared, actor);
            if (p.ref) refs.set(p.ref, f.uid);
            folders.push(f);
            break;
          }
          case "deleteRecord":
            await this.#delete(tx, p.uid, { expectedRevision: p.expectedRevision, actor });
            break;
        }
      }
      return { saved, ...(created.length ? { created } : {}), ...(folders.length ? { folders } : {}) };
    });
  }

  async #slots(tx: Queryable): Promise<KeySlot[]> {
    const slots = parseKeySlots((await metaValue(tx, META.keySlots)) ?? "");
    if (!slots) throw notAVault(this.description, "its key slots are damaged");
    return slots;
  }

  async #saveSlots(tx: Queryable, slots: KeySlot[], kind: string, actor: string): Promise<void> {
    await setMeta(tx, META.keySlots, JSON.stringify(slots));
    await this.#audit(tx, {
      action: "vault.keyslot.add",
      recordUid: null,
      actor,
      details: { kind, slots: slots.length },
    });
  }

  /** Let a key file unlock this vault too (created 0600 if missing); false when it already does. */
  async addKeyFileSlot(
    keyFile: string,
    opts: { actor: string },
  ): Promise<{ keyFile: string; created: boolean; added: boolean }> {
    const path = resolve(keyFile);
    const { key, created } = loadOrCreateKeyFile(path);
    try {
      const added = await this.#db.write(async (tx) => {
        const slots = await this.#slots(tx);
        if (keyFileOpensSlots(slots, key, this.#vaultId)) return false;
        await this.#saveSlots(
          tx,
          [...slots, makeKeyFileSlot(this.#cipher.vmk, key, this.#vaultId)],
          "key-file",
          opts.actor,
        );
        return true;
      });
      return { keyFile: path, created, added };
    } catch (err) {
      if (created) unlinkQuietly(path);
      throw err;
    } finally {
      zeroize(key);
    }
  }

  /** Let a passphrase unlock this vault too. */
  async addPassphraseSlot(
    passphrase: Secret,
    opts: { actor: string; kdf?: Partial<ScryptParams> },
  ): Promise<void> {
    const slot = await makePassphraseSlot(this.#cipher.vmk, passphrase, this.#vaultId, opts.kdf);
    await this.#db.write(async (tx) =>
      this.#saveSlots(tx, [...(await this.#slots(tx)), slot], "passphrase", opts.actor),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#leases.settle();
      await this.#db.close();
    } finally {
      this.#history.destroy();
      this.#cipher.destroy();
    }
  }
}

/** A commit op checked and serialized before the transaction (records parsed, journal/history as bytes). */
type PreparedOp =
  | Exclude<WriteOp, { op: "saveRecord" | "createRecord" | "putJournal" | "appendRotationHistory" }>
  | (Extract<WriteOp, { op: "saveRecord" }> & { record: KeeperRecord })
  | Extract<WriteOp, { op: "createRecord" }>
  | (Extract<WriteOp, { op: "putJournal" }> & { prepared: PreparedJournal })
  | (Extract<WriteOp, { op: "appendRotationHistory" }> & { plain: Buffer });

function prepareOp(
  o: WriteOp,
  history: PgHistory,
  journal: (e: Omit<JournalEntry, "createdAt" | "updatedAt">) => PreparedJournal,
): PreparedOp {
  switch (o.op) {
    case "saveRecord":
    case "createRecord":
      return { ...o, record: parseRecord(o.record) };
    case "putJournal":
      return { ...o, prepared: journal(o.entry) };
    case "appendRotationHistory":
      return { ...o, plain: history.prepare(o.entry, o.audit) };
    default:
      return o;
  }
}

/** Remove a file if it is there (cleanup: a failure here must not hide the real error). */
function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
