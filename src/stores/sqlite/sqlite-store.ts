import { unlinkSync } from "node:fs";
import { resolve } from "node:path";
import type Database from "better-sqlite3";
import { conflict, integrityError, notFound, usageError } from "../../errors.js";
import type { Secret } from "../../secret.js";
import type { ScheduleIndexMark, ScheduleIndexRow } from "../../vault/async-store.js";
import { deriveKey, zeroize } from "../../vault/crypto.js";
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
import { openCurrentRecord } from "../../vault/record-rows.js";
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
import { type JournalMeta, toJsonBytes, VaultCipher, type VersionMeta } from "../../vault/vault-cipher.js";
import { formatHeadLine, HeadKey, type JournalRow, type VaultState, xorHex } from "../../vault/vault-head.js";
import type { VaultRows } from "../copy-rows.js";
import { appendAuditEntry, listAuditEntries, verifyAuditLog } from "./sqlite-audit.js";
import { SqlDb } from "./sqlite-db.js";
import {
  auditHeadOf,
  checkExpectedHead,
  checkLiveRows,
  checkNewest,
  computeState,
  loadHead,
  readAnchorFile,
  saveHead,
  writeAnchorFile,
} from "./sqlite-head.js";
import { SqliteHistory } from "./sqlite-history.js";
import { readSqliteRows } from "./sqlite-import-export.js";
import { insertSqliteRows } from "./sqlite-import-rows.js";
import {
  byUidsSql,
  HEADS_INDEX,
  HEADS_INDEX_EXISTS,
  headsSql,
  type PageRow,
  pageRow,
  pageSql,
} from "./sqlite-iterate.js";
import { tryLock } from "./sqlite-locks.js";
import { SqliteScheduleIndex } from "./sqlite-schedule-index.js";
import { META, notAVault, SCHEMA_VERSION } from "./sqlite-schema.js";
import type { SqliteListingSource, VaultStore } from "./vault-store.js";

interface CurrentRow extends VersionRow {
  title_mac: Buffer;
  created_at: string;
  row_mac: Buffer;
  v_revision: number | null;
}

interface VersionRow {
  uid: string;
  revision: number;
  folder_uid: string | null;
  saved_at: string;
  actor: string;
  deleted: number;
  dek: Buffer;
  body: Buffer;
}

interface FolderRow {
  uid: string;
  parent_uid: string | null;
  shared: number;
  created_at: string;
  name_ct: Buffer;
}

const CURRENT_SQL = `SELECT r.uid, r.revision, r.title_mac, r.created_at, r.row_mac, v.revision AS v_revision,
  v.folder_uid, v.saved_at, v.actor, v.deleted, v.dek, v.body
  FROM records r LEFT JOIN record_versions v ON v.uid = r.uid AND v.revision = r.revision`;

const nowIso = () => new Date().toISOString();

const versionMeta = (v: VersionRow): VersionMeta => ({
  uid: v.uid,
  revision: v.revision,
  folderUid: v.folder_uid,
  savedAt: v.saved_at,
  actor: v.actor,
  deleted: v.deleted === 1,
});

const journalMeta = (j: JournalRow): JournalMeta => ({
  id: j.id,
  recordUid: j.record_uid,
  kind: j.kind,
  createdAt: j.created_at,
  updatedAt: j.updated_at,
});

/**
 * The schedule index of a scoped store (the gateway's way through the vault, sqlite-open.ts): the open
 * check's per-record part runs before its first use. The store hands it out unused (async-adapter.ts).
 */
class CheckedScheduleIndex extends SqliteScheduleIndex {
  readonly #before: () => void;
  constructor(sql: SqlDb, digest: (value: string) => string, before: () => void) {
    super(sql, digest);
    this.#before = before;
  }
  override changeMark(): ScheduleIndexMark {
    this.#before();
    return super.changeMark();
  }
  override listRecordRevisions(): Array<{ uid: string; revision: number }> {
    this.#before();
    return super.listRecordRevisions();
  }
  override listRows(opts: { since?: number } = {}): ScheduleIndexRow[] {
    this.#before();
    return super.listRows(opts);
  }
  override putRows(rows: readonly ScheduleIndexRow[]): void {
    this.#before();
    super.putRows(rows);
  }
  override deleteRows(uids: readonly string[]): void {
    this.#before();
    super.deleteRows(uids);
  }
}

export class SqliteVaultStore implements VaultStore {
  readonly description: string;
  readonly path: string;
  readonly #sql: SqlDb;
  readonly #vaultId: string;
  readonly #cipher: VaultCipher;
  readonly #history: SqliteHistory;
  readonly #headKey: HeadKey;
  /** REKEY_EXPECT_HEAD_FILE: checked at open, rewritten after each committed write. */
  readonly #anchorFile: string | undefined;
  /** The head state of the write transaction in progress (nested changes share it). */
  #pending: VaultState | undefined;
  #closed = false;
  /**
   * Opened with `check: "scoped"` and the per-record part of the open check not run yet: it runs before the
   * first listing, export or schedule-index use (#verifyRecordRows).
   */
  #recordRowsUnchecked = false;
  #scheduleIndex: SqliteScheduleIndex | undefined;

  /** Use `openVault` or `initVault`. Takes ownership of `vmk` (zeroized on close). */
  constructor(
    db: Database.Database,
    path: string,
    vaultId: string,
    vmk: Buffer,
    opts: { anchorFile?: string } = {},
  ) {
    this.#sql = new SqlDb(db, path);
    this.path = path;
    this.description = `local vault ${path}`;
    this.#vaultId = vaultId;
    this.#anchorFile = opts.anchorFile;
    this.#cipher = new VaultCipher(vmk);
    this.#headKey = new HeadKey(deriveKey(vmk, "rekey.vault-head.v1"), vaultId);
    this.#history = new SqliteHistory(
      this.#sql,
      vmk,
      (event) => this.#audit(event),
      (fn) => this.#change(fn),
    );
  }

  // ---- the signed vault head (sqlite-head.ts) ---------------------------------------------------------

  /**
   * Every write goes through here: one write transaction that loads the signed head, lets `fn` apply its
   * row changes to the head's state, and saves the head (one generation later, with the audit log's new
   * head) before the transaction commits. Nested changes work on a copy of the enclosing state, merged back
   * only when they succeed (a failed savepoint leaves the state as it was).
   */
  #change<T>(fn: (state: VaultState) => T): T {
    const parent = this.#pending;
    const result = this.#sql.write(() => {
      const head = parent ? undefined : loadHead(this.#sql, this.#headKey);
      const state = structuredClone(parent ?? (head as { state: VaultState }).state);
      this.#pending = state;
      try {
        const r = fn(state);
        if (parent) Object.assign(parent, state);
        else {
          state.audit = auditHeadOf(this.#sql, this.#cipher.auditKey);
          saveHead(this.#sql, this.#headKey, { gen: (head?.gen ?? 0) + 1, state });
        }
        return r;
      } finally {
        this.#pending = parent;
      }
    });
    if (!parent && !this.#sql.inTransaction && this.#anchorFile) this.#updateAnchor(this.#anchorFile);
    return result;
  }

  #updateAnchor(file: string): void {
    try {
      writeAnchorFile(
        file,
        this.#headKey,
        this.#sql.read(() => loadHead(this.#sql, this.#headKey)),
      );
    } catch (err) {
      throw usageError(
        `the change was saved, but the head file ${file} (REKEY_EXPECT_HEAD_FILE) could not be updated: ${(err as Error).message}`,
        "make the file and its directory writable; the next write updates it",
      );
    }
  }

  /** initVault only: the head of the new, empty vault (generation 0). */
  writeInitialHead(): void {
    this.#sql.write(() =>
      saveHead(this.#sql, this.#headKey, {
        gen: 0,
        state: computeState(this.#sql, this.#headKey, this.#cipher.auditKey),
      }),
    );
  }

  /**
   * openVault only: bring a vault written by an older rekey to this schema (once, whoever comes first),
   * then check the live rows against the signed head and, with REKEY_EXPECT_HEAD_FILE, against that file.
   */
  openChecks(schemaVersion: number, check: "full" | "scoped" = "full"): void {
    if (schemaVersion < SCHEMA_VERSION) this.#migrate();
    const rows = check === "scoped" ? "counts" : "all";
    const head = this.#sql.read(() => {
      const h = checkLiveRows(this.#sql, this.#headKey, this.#cipher.auditKey, { full: false, rows });
      const file = this.#anchorFile;
      const expected = file === undefined ? undefined : readAnchorFile(file);
      if (file !== undefined && expected !== undefined) this.#checkExpected(h, expected, `${file}`);
      return h;
    });
    if (this.#anchorFile && readAnchorFile(this.#anchorFile) === undefined) {
      writeAnchorFile(this.#anchorFile, this.#headKey, head);
    }
    this.#recordRowsUnchecked = rows === "counts";
  }

  /**
   * A scoped store, before it reads beyond the records it was asked for: the open check's per-record part
   * (every live record's MAC against the head, the versions count, the stale-version join), once, in its own
   * snapshot (the whole check again: a write since the open changed the head).
   */
  #verifyRecordRows(): void {
    if (!this.#recordRowsUnchecked) return;
    this.#sql.read(() => checkLiveRows(this.#sql, this.#headKey, this.#cipher.auditKey, { full: false }));
    this.#recordRowsUnchecked = false;
  }

  /** Schema 1 → 2: compute the head from the live rows once (after checking the audit chain), audited. */
  #migrate(): void {
    this.#sql.write(() => {
      const version = Number(this.#sql.meta(META.schemaVersion));
      if (version >= SCHEMA_VERSION) return; // another process migrated it first
      const chain = verifyAuditLog(this.#sql, this.#cipher.auditKey, this.#vaultId);
      if (!chain.ok) {
        throw integrityError(
          `vault ${this.path} cannot be upgraded: its audit log is broken at entry ${chain.problem?.seq}: ${chain.problem?.reason}`,
          "restore the vault file from a backup",
        );
      }
      const state = computeState(this.#sql, this.#headKey, this.#cipher.auditKey);
      saveHead(this.#sql, this.#headKey, { gen: 0, state });
      this.#sql.setMeta(META.schemaVersion, String(SCHEMA_VERSION));
      this.#change(() =>
        this.#audit({
          action: "vault.upgrade",
          recordUid: null,
          actor: "rekey",
          details: { fromSchema: version, toSchema: SCHEMA_VERSION },
        }),
      );
    });
  }

  #checkExpected(head: ReturnType<typeof loadHead>, expected: string, from: string): void {
    checkExpectedHead(this.#sql, this.#headKey, head, expected, from, this.#cipher.auditKey, this.#vaultId);
  }

  /** The signed head as one line (no secret): `rekey-head-v1:<generation>:...`. */
  head(): string {
    return this.#sql.read(() => formatHeadLine(this.#headKey, loadHead(this.#sql, this.#headKey)));
  }

  checkIntegrity(opts: { expectHead?: string; from?: string } = {}): { generation: number } {
    return this.#sql.read(() => {
      const head = checkLiveRows(this.#sql, this.#headKey, this.#cipher.auditKey, { full: true });
      if (opts.expectHead !== undefined) {
        this.#checkExpected(head, opts.expectHead, opts.from ?? "the expected head");
      }
      return { generation: head.gen };
    });
  }

  // ---- record rows ------------------------------------------------------------------------------------

  #insertVersion(state: VaultState, m: VersionMeta, record: KeeperRecord): void {
    state.versions++;
    const { dek, body } = this.#cipher.sealRecord(m, record);
    this.#sql.run(
      "INSERT INTO record_versions (uid, revision, folder_uid, saved_at, actor, deleted, dek, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      m.uid,
      m.revision,
      m.folderUid,
      m.savedAt,
      m.actor,
      m.deleted ? 1 : 0,
      dek,
      body,
    );
  }

  #putCurrent(
    state: VaultState,
    uid: string,
    revision: number,
    title: string,
    createdAt: string,
    previous?: number,
  ): void {
    if (previous === undefined) state.records.n++;
    else state.records.x = xorHex(state.records.x, this.#headKey.recordMac(uid, previous));
    state.records.x = xorHex(state.records.x, this.#headKey.recordMac(uid, revision));
    const titleMac = this.#cipher.titleMac(title);
    this.#sql.run(
      "INSERT INTO records (uid, revision, title_mac, created_at, row_mac) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (uid) DO UPDATE SET revision = excluded.revision, title_mac = excluded.title_mac, row_mac = excluded.row_mac",
      uid,
      revision,
      titleMac,
      createdAt,
      this.#cipher.rowMac(uid, revision, titleMac, createdAt),
    );
  }

  /** Decrypt a current-record row, checking its pointer row was not edited outside rekey. */
  #toStored(row: CurrentRow): StoredRecord {
    return openCurrentRecord(this.#cipher, row, versionMeta(row), "the vault file");
  }

  #current(uid: string): CurrentRow | undefined {
    return this.#sql.get<CurrentRow>(`${CURRENT_SQL} WHERE r.uid = ?`, uid);
  }

  /** The current record for a save/delete, or the right error: unknown, deleted, or a stale revision. */
  #currentForChange(uid: string, expectedRevision: number, title?: string): StoredRecord {
    const row = this.#current(uid);
    if (!row) {
      if (this.#sql.get("SELECT 1 FROM record_versions WHERE uid = ? LIMIT 1", uid)) {
        throw notFound(`record ${uid} was deleted`, `its history is kept: rekey record history ${uid}`);
      }
      throw notFound(`no record with UID ${uid} in ${this.description}`, "list them with: rekey record list");
    }
    const newest = this.#sql.get<{ r: number }>(
      "SELECT MAX(revision) AS r FROM record_versions WHERE uid = ?",
      uid,
    )?.r;
    if (newest !== row.revision) {
      throw integrityError(
        `record ${uid} is at revision ${row.revision} but its newest saved version is ${newest}: it was rolled back outside rekey`,
        "restore the vault file from a backup, and run `rekey audit verify` to see what else changed",
      );
    }
    if (row.revision !== expectedRevision) {
      const name = title === undefined ? uid : `"${title}" (${uid})`;
      throw conflict(
        `record ${name} was changed by someone else: your change is based on revision ${expectedRevision}, the vault has revision ${row.revision}`,
        "re-read the record and apply your change again",
      );
    }
    return this.#toStored(row);
  }

  /** The gateway's schedule index (sqlite-schedule-index.ts): clear columns, outside the signed head. */
  scheduleIndex(): SqliteScheduleIndex {
    this.#scheduleIndex ??= new CheckedScheduleIndex(
      this.#sql,
      (v) => this.#cipher.indexDigest(v),
      () => this.#verifyRecordRows(),
    );
    return this.#scheduleIndex;
  }

  /**
   * The listing cache's reads: heads from clear columns, and records by UID opened as a page read opens them
   * (after the same first check of the live rows as a listing).
   */
  listingCache(): SqliteListingSource {
    return {
      name: `${this.#vaultId} ${this.path}`,
      headsPage: (after, limit) => {
        this.#verifyRecordRows();
        const sql = headsSql(this.#headsIndex());
        const rows = this.#sql.read(() =>
          this.#sql.allRaw<[number, string, number, string | null]>(sql, after, limit),
        );
        return rows.map(([pos, uid, revision, savedAt]) => ({ pos, uid, revision, savedAt }));
      },
      readRecords: (uids) => {
        this.#verifyRecordRows();
        const out: StoredRecord[] = [];
        // SQLite's default limit is 32,766 parameters a statement; a page of heads is far below it.
        for (let i = 0; i < uids.length; i += 1000) {
          const part = uids.slice(i, i + 1000);
          const rows = this.#sql.read(() => this.#sql.all<PageRow>(byUidsSql(part.length), ...part));
          for (const r of rows) out.push(this.#toStored(pageRow(r)));
        }
        return out;
      },
      seal: (plain, chunkAad) => this.#cipher.sealListing(plain, chunkAad),
      open: (sealed, chunkAad) => this.#cipher.openListing(sealed, chunkAad),
    };
  }

  /** Whether the heads' covering index exists, made now if it can be (a read-only file: listed without it). */
  #headsIndex(): boolean {
    if (this.#headsIndexed !== undefined) return this.#headsIndexed;
    if (!this.#sql.get(HEADS_INDEX_EXISTS)) {
      try {
        this.#sql.write(() => this.#sql.run(HEADS_INDEX));
      } catch {
        return false; // tried again at the next listing
      }
    }
    this.#headsIndexed = true;
    return true;
  }

  #headsIndexed: boolean | undefined;

  // ---- records ----------------------------------------------------------------------------------------

  listRecords(filter: { type?: string; folderUid?: string } = {}): StoredRecord[] {
    this.#verifyRecordRows();
    return this.#sql.read(() => {
      const rows =
        filter.folderUid === undefined
          ? this.#sql.all<CurrentRow>(`${CURRENT_SQL} ORDER BY r.rowid`)
          : this.#sql.all<CurrentRow>(
              `${CURRENT_SQL} WHERE v.folder_uid = ? ORDER BY r.rowid`,
              filter.folderUid,
            );
      const out = rows.map((r) => this.#toStored(r));
      return filter.type === undefined ? out : out.filter((s) => s.record.type === filter.type);
    });
  }

  listRecordsPage(
    filter: { type?: string; folderUid?: string },
    after: number,
    limit: number,
  ): { records: StoredRecord[]; next: number | undefined } {
    this.#verifyRecordRows();
    return this.#sql.read(() => {
      const byFolder = filter.folderUid !== undefined;
      const params = byFolder ? [filter.folderUid, after, limit] : [after, limit];
      const rows = this.#sql.all<PageRow>(pageSql(byFolder), ...params);
      const out = rows.map((r) => this.#toStored(pageRow(r)));
      return {
        records: filter.type === undefined ? out : out.filter((s) => s.record.type === filter.type),
        next: rows.length < limit ? undefined : rows[rows.length - 1]?.pos,
      };
    });
  }

  /**
   * One record, by UID or by title: its row MAC, that it points at its newest version (checkNewest, one
   * indexed probe: what a scoped open leaves to each read) and its version's ciphertext, in one snapshot.
   */
  getRecord(uid: string): StoredRecord | undefined {
    return this.#sql.read(() => {
      const row = this.#current(uid);
      return row ? this.#checkedStored(row) : undefined;
    });
  }

  findByTitle(title: string): StoredRecord[] {
    return this.#sql.read(() =>
      this.#sql
        .all<CurrentRow>(
          `${CURRENT_SQL} WHERE r.title_mac = ? ORDER BY r.rowid`,
          this.#cipher.titleMac(title),
        )
        .map((r) => this.#checkedStored(r))
        .filter((s) => s.record.title === title),
    );
  }

  #checkedStored(row: CurrentRow): StoredRecord {
    const stored = this.#toStored(row);
    checkNewest(this.#sql, row.uid, row.revision);
    return stored;
  }

  createRecord(
    record: KeeperRecord,
    opts: { folderUid?: string | null; uid?: string; actor: string },
  ): StoredRecord {
    const clean = parseRecord(record);
    const uid = opts.uid ?? newUid();
    if (!looksLikeUid(uid))
      throw usageError(`"${uid}" is not a record UID`, "UIDs are 22 URL-safe base64 characters");
    const folderUid = opts.folderUid ?? null;
    return this.#change((state) => {
      if (this.#sql.get("SELECT 1 FROM record_versions WHERE uid = ? LIMIT 1", uid)) {
        throw conflict(
          `a record with UID ${uid} already exists (or existed: UIDs of deleted records are not reused)`,
          "create it without a UID to get a new one",
        );
      }
      if (folderUid !== null) this.#requireFolder(folderUid);
      const savedAt = nowIso();
      const m = { uid, revision: 1, folderUid, savedAt, actor: opts.actor, deleted: false };
      this.#insertVersion(state, m, clean);
      this.#putCurrent(state, uid, 1, clean.title, savedAt);
      const details = { revision: 1, ...(folderUid ? { folderUid } : {}) };
      this.#audit({ action: "record.create", recordUid: uid, actor: opts.actor, details });
      return { uid, folderUid, revision: 1, record: clean, createdAt: savedAt, updatedAt: savedAt };
    });
  }

  saveRecord(uid: string, record: KeeperRecord, opts: SaveOptions): StoredRecord {
    const clean = parseRecord(record);
    return this.#change((state) => {
      const before = this.#currentForChange(uid, opts.expectedRevision, clean.title);
      const { folderUid, createdAt } = before;
      const revision = before.revision + 1;
      const savedAt = nowIso();
      const m = { uid, revision, folderUid, savedAt, actor: opts.actor, deleted: false };
      this.#insertVersion(state, m, clean);
      this.#putCurrent(state, uid, revision, clean.title, createdAt, before.revision);
      const details = { revision, ...diffRecords(before.record, clean) };
      this.#audit({ action: "record.update", recordUid: uid, actor: opts.actor, details });
      return { uid, folderUid, revision, record: clean, createdAt, updatedAt: savedAt };
    });
  }

  deleteRecord(uid: string, opts: SaveOptions): void {
    this.#change((state) => {
      const last = this.#currentForChange(uid, opts.expectedRevision);
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
      this.#insertVersion(state, m, last.record);
      this.#sql.run("DELETE FROM records WHERE uid = ?", uid);
      state.records.n--;
      state.records.x = xorHex(state.records.x, this.#headKey.recordMac(uid, last.revision));
      this.#audit({
        action: "record.delete",
        recordUid: uid,
        actor: opts.actor,
        details: { revision },
      });
    });
  }

  /** All versions oldest first, the tombstone last if deleted; [] for an unknown UID. */
  history(uid: string): RecordVersion[] {
    return this.#sql.read(() =>
      this.#sql
        .all<VersionRow>("SELECT * FROM record_versions WHERE uid = ? ORDER BY revision", uid)
        .map((v) => ({
          revision: v.revision,
          savedAt: v.saved_at,
          actor: v.actor,
          record: this.#cipher.openRecord(versionMeta(v), v),
          deleted: v.deleted === 1,
        })),
    );
  }

  // ---- folders ----------------------------------------------------------------------------------------

  #requireFolder(uid: string): void {
    if (!this.#sql.get("SELECT 1 FROM folders WHERE uid = ?", uid)) {
      throw notFound(`no folder with UID ${uid} in ${this.description}`, "list them with: rekey folder list");
    }
  }

  listFolders(): Folder[] {
    return this.#sql.read(() =>
      this.#sql.all<FolderRow>("SELECT * FROM folders ORDER BY rowid").map((f) => {
        const m = { uid: f.uid, parentUid: f.parent_uid, shared: f.shared === 1, createdAt: f.created_at };
        return {
          uid: m.uid,
          name: this.#cipher.openFolderName(m, f.name_ct),
          parentUid: m.parentUid,
          shared: m.shared,
        };
      }),
    );
  }

  createFolder(name: string, opts: { parentUid?: string | null; shared?: boolean; actor: string }): Folder {
    if (!name.trim()) throw usageError("a folder needs a non-empty name", "give it a name");
    const parentUid = opts.parentUid ?? null;
    const shared = opts.shared ?? parentUid === null;
    return this.#change((state) => {
      if (parentUid !== null) this.#requireFolder(parentUid);
      state.folders++;
      const m = { uid: newUid(), parentUid, shared, createdAt: nowIso() };
      this.#sql.run(
        "INSERT INTO folders (uid, parent_uid, shared, created_at, name_ct) VALUES (?, ?, ?, ?, ?)",
        m.uid,
        parentUid,
        shared ? 1 : 0,
        m.createdAt,
        this.#cipher.sealFolderName(m, name),
      );
      const details = { folderUid: m.uid, parentUid, shared };
      this.#audit({ action: "folder.create", recordUid: null, actor: opts.actor, details });
      return { uid: m.uid, name, parentUid, shared };
    });
  }

  // ---- audit ------------------------------------------------------------------------------------------

  appendAudit(event: AuditEvent): AuditEntry {
    return this.#change(() => this.#audit(event));
  }

  /** Append inside the current transaction (see appendAuditEntry). */
  #audit(event: AuditEvent): AuditEntry {
    return appendAuditEntry(this.#sql, this.#cipher.auditKey, event);
  }

  listAudit(filter: { recordUid?: string; limit?: number } = {}): AuditEntry[] {
    return this.#sql.guard(() => listAuditEntries(this.#sql, filter));
  }

  verifyAudit(): AuditVerification {
    return this.#sql.read(() => verifyAuditLog(this.#sql, this.#cipher.auditKey, this.#vaultId));
  }

  // ---- journal ----------------------------------------------------------------------------------------

  putJournal(entry: Omit<JournalEntry, "createdAt" | "updatedAt">): JournalEntry {
    const { id, recordUid, kind, state } = entry;
    if (!id || !recordUid || !kind) {
      throw usageError("a journal entry needs an id, a recordUid and a kind", "set all three");
    }
    if (typeof state !== "object" || state === null || Array.isArray(state)) {
      throw usageError(`journal entry ${id}: state must be a JSON object`, "pass an object");
    }
    const plain = toJsonBytes(state, `journal entry ${id}`);
    const stored = JSON.parse(plain.toString("utf8")) as Record<string, unknown>;
    return this.#change((state) => {
      const prev = this.#sql.get<JournalRow>("SELECT * FROM journal WHERE id = ?", id);
      if (prev) state.journal.x = xorHex(state.journal.x, this.#headKey.journalMac(prev));
      else state.journal.n++;
      const updatedAt = nowIso();
      const m = { id, recordUid, kind, createdAt: prev?.created_at ?? updatedAt, updatedAt };
      const { dek, body } = this.#cipher.sealJournal(m, plain);
      this.#sql.run(
        "INSERT INTO journal (id, record_uid, kind, created_at, updated_at, dek, body) VALUES (?, ?, ?, ?, ?, ?, ?) " +
          "ON CONFLICT (id) DO UPDATE SET record_uid = excluded.record_uid, kind = excluded.kind, " +
          "updated_at = excluded.updated_at, dek = excluded.dek, body = excluded.body",
        id,
        recordUid,
        kind,
        m.createdAt,
        updatedAt,
        dek,
        body,
      );
      const row = {
        id,
        record_uid: recordUid,
        kind,
        created_at: m.createdAt,
        updated_at: updatedAt,
        dek,
        body,
      };
      state.journal.x = xorHex(state.journal.x, this.#headKey.journalMac(row));
      return { ...m, state: stored };
    });
  }

  listJournal(filter: { recordUid?: string; kind?: string } = {}): JournalEntry[] {
    return this.#sql.read(() =>
      this.#sql
        .all<JournalRow>(
          "SELECT * FROM journal WHERE (@rec IS NULL OR record_uid = @rec) AND (@kind IS NULL OR kind = @kind) ORDER BY rowid",
          { rec: filter.recordUid ?? null, kind: filter.kind ?? null },
        )
        .map((j) => {
          const m = journalMeta(j);
          return { ...m, state: this.#cipher.openJournal(m, j) };
        }),
    );
  }

  /** Remove a journal entry; removing one that is already gone is fine (cleanup is idempotent). */
  deleteJournal(id: string): void {
    this.#change((state) => {
      const prev = this.#sql.get<JournalRow>("SELECT * FROM journal WHERE id = ?", id);
      if (!prev) return;
      this.#sql.run("DELETE FROM journal WHERE id = ?", id);
      state.journal.n--;
      state.journal.x = xorHex(state.journal.x, this.#headKey.journalMac(prev));
    });
  }

  // ---- rotation history (sqlite-history.ts) ------------------------------------------------------------

  appendRotationHistory(entry: RotationHistoryEntry, audit: AuditEvent): RotationHistoryEntry {
    return this.#history.append(entry, audit);
  }

  listRotationHistory(filter: { recordUid?: string; limit?: number } = {}): RotationHistoryEntry[] {
    return this.#history.list(filter);
  }

  // ---- vault copy (sqlite-import-export.ts, sqlite-import-rows.ts) --------------------------------------

  /** `rekey vault copy`: every row as stored (ciphertext), in one read snapshot. */
  exportRows(): VaultRows {
    this.#verifyRecordRows();
    return this.#sql.read(() => readSqliteRows(this.#sql));
  }

  /**
   * `rekey vault copy`, on a new file whose meta already holds the copied vault id, key slots and audit head:
   * insert `rows` as they are, check the copied audit chain, append `event` and sign the head, in one
   * transaction. Refused on a vault that holds anything (the normal write path is the only other way in).
   */
  importRows(rows: VaultRows, event: AuditEvent): void {
    this.#sql.write(() => {
      insertSqliteRows(this.#sql, rows);
      const chain = verifyAuditLog(this.#sql, this.#cipher.auditKey, this.#vaultId);
      if (!chain.ok) {
        throw integrityError(
          `the copied audit log does not verify at entry ${chain.problem?.seq}: ${chain.problem?.reason}`,
          "run rekey audit verify on the source vault; copy it once its log verifies",
        );
      }
      this.#audit(event);
      const state = computeState(this.#sql, this.#headKey, this.#cipher.auditKey);
      saveHead(this.#sql, this.#headKey, { gen: 0, state });
    });
  }

  // ---- locks, transactions, key slots -------------------------------------------------------------------

  tryLock(recordUid: string, owner: string, ttlMs: number): Lease | null {
    return tryLock(this.#sql, recordUid, owner, ttlMs);
  }

  transaction<T>(fn: () => T): T {
    return this.#change(() => fn());
  }

  #slots(): KeySlot[] {
    const slots = parseKeySlots(this.#sql.meta(META.keySlots) ?? "");
    if (!slots) throw notAVault(this.path, "its key slots are damaged");
    return slots;
  }

  #saveSlots(slots: KeySlot[], kind: string, actor: string): void {
    this.#sql.setMeta(META.keySlots, JSON.stringify(slots));
    this.#audit({
      action: "vault.keyslot.add",
      recordUid: null,
      actor,
      details: { kind, slots: slots.length },
    });
  }

  /**
   * Let a key file unlock this (already unlocked) vault: the file is created (0600) if missing. Returns
   * whether the file was created and whether a slot was added (false: the file already unlocks the vault).
   */
  addKeyFileSlot(
    keyFile: string,
    opts: { actor: string },
  ): { keyFile: string; created: boolean; added: boolean } {
    const path = resolve(keyFile);
    const { key, created } = loadOrCreateKeyFile(path);
    try {
      const added = this.#change(() => {
        const slots = this.#slots();
        if (keyFileOpensSlots(slots, key, this.#vaultId)) return false;
        this.#saveSlots(
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

  /** Let a passphrase unlock this (already unlocked) vault, e.g. one created with a key file only. */
  async addPassphraseSlot(
    passphrase: Secret,
    opts: { actor: string; kdf?: Partial<ScryptParams> },
  ): Promise<void> {
    const slot = await makePassphraseSlot(this.#cipher.vmk, passphrase, this.#vaultId, opts.kdf);
    this.#change(() => this.#saveSlots([...this.#slots(), slot], "passphrase", opts.actor));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#sql.close();
    } finally {
      this.#history.destroy();
      this.#headKey.destroy();
      this.#cipher.destroy();
    }
  }
}

/** Remove a file if it is there (cleanup paths: a failure here must not hide the real error). */
export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
