/**
 * A Keeper vault as rekey's store, through the official KSM SDK: records by UID or title, revision-checked
 * saves (optionally as a rotation transaction), create/delete, folders. Journal, leases, rekey's audit log and
 * the gateway's rotation history are local (local-state.ts): Keeper has no place for them.
 *
 * The port is async here (vault/async-store.ts); KeeperVault implements it natively.
 *
 * Invariants:
 * - SDK calls never interleave in one process: the SDK keeps decrypted keys in one process-wide cache that
 *   every getSecrets empties, and updateSecret encrypts with the record key found there. A save is therefore
 *   "the record as last read, at the expected revision, then update" inside one exclusive section.
 * - The revision check: the update names the revision it is based on, and Keeper refuses a stale one. A
 *   record this process has just read at the expected revision (the last read, its key still in the SDK's
 *   cache) goes straight to the update, as the seed's `secrets_manager.save` does; any other is read first
 *   and a stale expectedRevision is a conflict before anything is sent. A refusal in words rekey does not
 *   know is read back: a record at another revision is a conflict too (ksm-errors.ts).
 * - A save is reported failed only when Keeper definitely refused it. After an ambiguous failure (network,
 *   5xx) the record is read back: if it holds what was sent, the save succeeded; if it cannot be read, the
 *   error says the outcome is unknown (`details.outcome = "unknown"`) so a rotation keeps the new key.
 * - Nothing after a successful save can turn it into a failure: the audit append and the re-read are best
 *   effort (a failed re-read returns the pre-save revision, so a later save based on it fails safe).
 */
import {
  completeTransaction,
  createFolder,
  createSecret2,
  deleteSecret,
  downloadFile,
  getFolders,
  getSecrets,
  type KeyValueStorage,
  type KeeperRecord as SdkRecord,
  type SecretManagerOptions,
  UpdateTransactionType,
  updateSecret,
} from "@keeper-security/secrets-manager-core";
import { conflict, notFound, RekeyError, usageError } from "../../errors.js";
import {
  type AsyncVaultStore,
  type Attachment,
  type CommitResult,
  folderUidOf,
  type StoreCapabilities,
  type WriteOp,
} from "../../vault/async-store.js";
import { type KeeperRecord, looksLikeUid, parseRecord } from "../../vault/record.js";
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
import type { EditPermissionWatch } from "./edit-permission.js";
import { type KsmConfigSource, loadKsmConfig } from "./ksm-config.js";
import { mapKsmError } from "./ksm-errors.js";
import {
  currentKeyCache,
  exclusive,
  keyCacheEmptied,
  type RecordData,
  sameContent,
  sharedRoot,
  toStored,
  useProxyFromEnvironment,
} from "./ksm-sdk.js";
import { KeeperLocalState, keeperStateId, keeperStateKey } from "./local-state.js";
import { keeperStateDir } from "./state-dir.js";

export interface KeeperVaultOptions {
  storage: KeyValueStorage;
  /** Keeper host, for messages. */
  hostname?: string;
  /** Where the config came from, for messages. */
  configPath?: string;
  /** Journal, leases, audit. Without it those methods refuse (reads and saves work). */
  state?: KeeperLocalState;
  queryFunction?: SecretManagerOptions["queryFunction"];
  throttleSleep?: SecretManagerOptions["throttleSleep"];
}

export interface KeeperSaveOptions extends SaveOptions {
  /** Open a Keeper transaction: finish it with completeTransaction (commit or rollback). */
  transaction?: "rotation" | "general";
}

export interface OpenKeeperVaultOptions {
  /** The KSM config: a file, or where locateKsmConfig() found one (GATEWAY_CONFIG's text stays in memory). */
  configPath: string | KsmConfigSource;
  /** Local state directory; default keeperStateDir() (state-dir.ts); null for none (read/save only). */
  stateDir?: string | null;
  env?: NodeJS.ProcessEnv;
  /** Told when the state directory is not the usual one (default: a line on stderr). */
  notice?: (message: string) => void;
  queryFunction?: SecretManagerOptions["queryFunction"];
  throttleSleep?: SecretManagerOptions["throttleSleep"];
  /** Read each record's edit right from Keeper's answers into this (`--check`; edit-permission.ts). */
  editPermissions?: EditPermissionWatch;
}

/**
 * Open the Keeper vault a KSM config file gives access to.
 *
 * @example
 * const vault = await openKeeperVault({ configPath: resolveKsmConfigPath({ env: process.env }) });
 * const user = await findRecord(vault, "alice (AWS)"); // vault/find-record.ts
 */
export async function openKeeperVault(opts: OpenKeeperVaultOptions): Promise<KeeperVault> {
  const loaded = loadKsmConfig(opts.configPath);
  await useProxyFromEnvironment();
  const state =
    opts.stateDir === null
      ? undefined
      : KeeperLocalState.open({
          dir:
            opts.stateDir ??
            keeperStateDir(loaded.config, {
              ...(opts.env ? { env: opts.env } : {}),
              ...(opts.notice ? { notice: opts.notice } : {}),
            }),
          key: keeperStateKey(loaded.config),
          id: keeperStateId(loaded.config),
        });
  return new KeeperVault({
    storage: loaded.storage,
    hostname: loaded.config.hostname,
    configPath: loaded.path,
    ...(state ? { state } : {}),
    ...(opts.editPermissions
      ? { queryFunction: opts.editPermissions.wrap(opts.queryFunction) }
      : opts.queryFunction
        ? { queryFunction: opts.queryFunction }
        : {}),
    ...(opts.throttleSleep ? { throttleSleep: opts.throttleSleep } : {}),
  });
}

export class KeeperVault implements AsyncVaultStore {
  readonly description: string;
  readonly state: KeeperLocalState | undefined;
  /**
   * A rotation's save opens a Keeper rotation transaction (finalized with completeTransaction) when true;
   * a plain revision-checked updateSecret when false (the drop-in's default: the seed's save). The
   * completeTransaction method stays either way, to settle a transaction an earlier run left open.
   */
  transactionalSaves = true;
  /**
   * KSM gives no record history and no way to choose a UID; records live in folders shared with the
   * application, and shared folders are made in Keeper itself. Keys, head and slots belong to the local vault.
   */
  readonly capabilities: StoreCapabilities = {
    recordHistory: false,
    integrityHead: false,
    localKeySlots: false,
    createSharedFolders: false,
    recordsAtRoot: false,
    chosenRecordUids: false,
    atomicCommit: false,
  };
  /** Things that went wrong without failing an operation (unreadable records, a failed audit append). */
  readonly warnings: string[] = [];
  readonly #options: SecretManagerOptions;
  readonly #host: string;
  /**
   * The records of this vault's last read, and which read (keyCacheEmptied) that was: only those can skip the
   * read before a save, so nothing older is kept (a gateway reads every record at each tick).
   */
  readonly #lastRead = new Map<string, { record: SdkRecord; read: number }>();

  constructor(opts: KeeperVaultOptions) {
    this.#host = opts.hostname ?? "Keeper";
    this.description = `Keeper vault (${this.#host}${opts.configPath ? `, KSM config ${opts.configPath}` : ""})`;
    this.state = opts.state;
    this.#options = {
      storage: opts.storage,
      ...(opts.queryFunction ? { queryFunction: opts.queryFunction } : {}),
      ...(opts.throttleSleep ? { throttleSleep: opts.throttleSleep } : {}),
    };
  }

  // ---- SDK access (call only inside exclusive) ---------------------------------------------------------

  async #sdk<T>(what: string, fn: (o: SecretManagerOptions) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#options);
    } catch (err) {
      throw mapKsmError(err, what, this.#host);
    }
  }

  async #fetch(what: string, uids?: string[]): Promise<SdkRecord[]> {
    const read = keyCacheEmptied();
    const { records } = await this.#sdk(what, (o) => getSecrets(o, uids));
    const seen = new Set<string>();
    const out = records.filter((r) => !seen.has(r.recordUid) && seen.add(r.recordUid));
    this.#lastRead.clear();
    for (const r of out) this.#lastRead.set(r.recordUid, { record: r, read });
    return out;
  }

  /**
   * The record as the last read returned it, when that read is still the SDK's key cache and the record was
   * at `revision` then: a save based on it can go straight to the update (Keeper checks the revision).
   */
  #justRead(uid: string, revision: number): SdkRecord | undefined {
    const last = this.#lastRead.get(uid);
    return last && last.read === currentKeyCache() && last.record.revision === revision
      ? last.record
      : undefined;
  }

  async #one(uid: string, what: string): Promise<SdkRecord> {
    const r = (await this.#fetch(what, [uid])).find((x) => x.recordUid === uid);
    if (!r) {
      throw notFound(
        `no record ${uid} is shared with the KSM application of ${this.description}`,
        "share the record (or its shared folder) with the application, with edit rights",
      );
    }
    return r;
  }

  #stored(records: SdkRecord[]): StoredRecord[] {
    const out: StoredRecord[] = [];
    for (const r of records) {
      const s = toStored(r);
      if (s) out.push(s);
      else this.warnings.push(`record ${r.recordUid} is not a Keeper v3 record rekey can read: skipped`);
    }
    return out;
  }

  #audit(event: AuditEvent): void {
    if (!this.state) return;
    try {
      this.state.appendAudit(event);
    } catch (err) {
      // Never fail a Keeper change that already happened because the local log could not be written.
      this.warnings.push(`audit entry ${event.action} not written: ${(err as Error).message}`);
    }
  }

  #requireState(): KeeperLocalState {
    if (!this.state) {
      throw usageError(
        `${this.description} was opened without a local state directory (journal, locks, audit)`,
        "open it with a stateDir (default $REKEY_HOME/keeper/<app>)",
      );
    }
    return this.state;
  }

  // ---- records ------------------------------------------------------------------------------------------

  async listRecords(filter: { type?: string; folderUid?: string } = {}): Promise<StoredRecord[]> {
    const records = await exclusive(() => this.#fetch(`listing the records of ${this.description}`));
    return this.#stored(records).filter(
      (r) =>
        (!filter.type || r.record.type === filter.type) &&
        (!filter.folderUid || r.folderUid === filter.folderUid),
    );
  }

  /** Several records in one request (unknown UIDs are simply absent). */
  async getRecords(uids: string[]): Promise<StoredRecord[]> {
    const wanted = uids.filter(looksLikeUid);
    if (wanted.length === 0) return [];
    const records = await exclusive(() => this.#fetch(`reading records ${wanted.join(", ")}`, wanted));
    return this.#stored(records.filter((r) => wanted.includes(r.recordUid)));
  }

  async getRecord(uid: string): Promise<StoredRecord | undefined> {
    return (await this.getRecords([uid]))[0];
  }

  async findByTitle(title: string): Promise<StoredRecord[]> {
    return (await this.listRecords()).filter((r) => r.record.title === title);
  }

  async saveRecord(uid: string, record: KeeperRecord, opts: KeeperSaveOptions): Promise<StoredRecord> {
    const clean = parseRecord(record);
    const what = `saving record "${clean.title}" (${uid})`;
    return exclusive(async () => {
      // One KSM round trip less when the record was just read at that revision: Keeper checks it on update.
      const known = this.#justRead(uid, opts.expectedRevision);
      const current = known ?? (await this.#one(uid, what));
      if (current.revision !== opts.expectedRevision) {
        throw this.#changedMeanwhile(clean.title, uid, opts.expectedRevision, current.revision);
      }
      const before = toStored(current)?.record;
      const data: RecordData = { ...current.data, ...clean };
      const txType =
        opts.transaction === "rotation"
          ? UpdateTransactionType.Rotation
          : opts.transaction === "general"
            ? UpdateTransactionType.General
            : undefined;
      try {
        await updateSecret(this.#options, { recordUid: uid, revision: current.revision, data }, txType);
      } catch (err) {
        const landed = await this.#landedAnyway(err, uid, clean);
        if (landed === true) {
          // saved: go on as after a plain success
        } else if (known && landed.now && landed.now.revision !== opts.expectedRevision) {
          // Not checked before sending: a refusal Keeper worded in a way rekey does not know, for a record
          // changed meanwhile, is the conflict the check would have found.
          throw this.#changedMeanwhile(clean.title, uid, opts.expectedRevision, landed.now.revision);
        } else throw this.#saveError(err, what);
      }
      const reread = (
        await this.#fetch(`re-reading record ${uid} after saving it`, [uid]).catch(() => [])
      ).find((r) => r.recordUid === uid);
      const stored: StoredRecord = (reread && toStored(reread)) ?? {
        uid,
        folderUid: current.innerFolderUid ?? current.folderUid ?? null,
        revision: current.revision, // stale on purpose: a save based on it fails with a conflict, not an overwrite
        record: clean,
        createdAt: "",
        updatedAt: "",
      };
      this.#audit({
        action: "record.update",
        recordUid: uid,
        actor: opts.actor,
        details: {
          revision: stored.revision,
          ...(opts.transaction ? { transaction: opts.transaction } : {}),
          ...(before ? diffRecords(before, clean) : {}),
        },
      });
      return stored;
    });
  }

  #changedMeanwhile(title: string, uid: string, expected: number, now: number): RekeyError {
    return conflict(
      `record "${title}" (${uid}) was changed by someone else: your change is based on revision ${expected}, Keeper has revision ${now}`,
      "re-read the record and apply your change again",
    );
  }

  /**
   * After an ambiguous update failure: did the update reach Keeper? `true` when it did; otherwise the record
   * as read back (`now`), or no record for a definite refusal (not read back).
   */
  async #landedAnyway(
    err: unknown,
    uid: string,
    sent: KeeperRecord,
  ): Promise<true | { now: SdkRecord | undefined }> {
    // Definite refusals: a stale revision, access denied, a bad config, throttled past every retry.
    const mapped = mapKsmError(err, "saving", this.#host);
    if (mapped.kind !== "internal" || mapped.details?.keeperCode === "throttled") return { now: undefined };
    try {
      const [now] = await this.#fetch(`checking whether the save of record ${uid} reached Keeper`, [uid]);
      return sameContent(now?.data as RecordData | undefined, sent) ? true : { now };
    } catch (readErr) {
      throw new RekeyError(
        "internal",
        `the save of record ${uid} may or may not have reached Keeper: the request failed (${(err as Error)?.message}) and the record cannot be read back`,
        {
          hint: "keep every key as it is; run again when Keeper is reachable: the journal finishes the rotation",
          cause: readErr,
          details: { outcome: "unknown", recordUid: uid },
        },
      );
    }
  }

  #saveError(err: unknown, what: string): RekeyError {
    const mapped = mapKsmError(err, what, this.#host);
    return new RekeyError(mapped.kind, mapped.message, {
      ...(mapped.hint ? { hint: mapped.hint } : {}),
      cause: err,
      details: { ...mapped.details, outcome: "not-saved" },
    });
  }

  /** Finish a transaction opened by saveRecord({transaction}): keep the new data, or roll it back. */
  async completeTransaction(
    uid: string,
    outcome: "commit" | "rollback",
    opts: { actor: string },
  ): Promise<void> {
    const what = `${outcome === "commit" ? "finalizing" : "rolling back"} the transaction on record ${uid}`;
    await exclusive(() => this.#sdk(what, (o) => completeTransaction(o, uid, outcome === "rollback")));
    this.#audit({ action: `record.transaction.${outcome}`, recordUid: uid, actor: opts.actor, details: {} });
  }

  async createRecord(
    record: KeeperRecord,
    opts: { folderUid?: string | null; uid?: string; actor: string },
  ): Promise<StoredRecord> {
    const clean = parseRecord(record);
    if (opts.uid) throw usageError("Keeper assigns the UIDs of new records", "create it without --uid");
    const folderUid = opts.folderUid;
    if (!folderUid) {
      throw usageError(
        `a record created through KSM must go in a shared folder of the application (${clean.title})`,
        "pass the folder UID (rekey folder list shows them)",
      );
    }
    const what = `creating record "${clean.title}" in folder ${folderUid}`;
    const created = await exclusive(async () => {
      // getFolders also puts the shared folder keys in the SDK's cache, which createSecret2 needs.
      const folders = await this.#sdk(what, (o) => {
        keyCacheEmptied();
        return getFolders(o);
      });
      const root = sharedRoot(folders, folderUid);
      if (!root)
        throw notFound(`no folder ${folderUid} is shared with the KSM application`, "rekey folder list");
      const options = { folderUid: root, ...(root !== folderUid ? { subFolderUid: folderUid } : {}) };
      const newUid = await this.#sdk(what, (o) => createSecret2(o, options, clean));
      const [r] = await this.#fetch(`reading the new record ${newUid}`, [newUid]);
      return r ? toStored(r) : undefined;
    });
    if (!created)
      throw notFound(`the new record "${clean.title}" cannot be read back`, "look for it in the vault");
    this.#audit({
      action: "record.create",
      recordUid: created.uid,
      actor: opts.actor,
      details: { type: clean.type },
    });
    return created;
  }

  async deleteRecord(uid: string, opts: SaveOptions): Promise<void> {
    const what = `deleting record ${uid}`;
    await exclusive(async () => {
      const current = await this.#one(uid, what);
      if (current.revision !== opts.expectedRevision) {
        throw conflict(
          `record ${uid} was changed by someone else: the delete is based on revision ${opts.expectedRevision}, Keeper has revision ${current.revision}`,
          "re-read the record, then delete it",
        );
      }
      const res = await this.#sdk(what, (o) => deleteSecret(o, [uid]));
      const r = res.records?.find((x) => x.recordUid === uid);
      if (r?.responseCode !== "ok") {
        throw new RekeyError(
          "auth",
          `Keeper refused ${what}: ${r?.responseCode ?? "no answer"} ${r?.errorMessage ?? ""}`.trim(),
          {
            hint: "the KSM application needs edit rights on the record's shared folder",
          },
        );
      }
    });
    this.#audit({ action: "record.delete", recordUid: uid, actor: opts.actor, details: {} });
  }

  /**
   * A file attached to a record (e.g. a post-rotation script: `rotationScripts` names it by `fileRef`),
   * downloaded and decrypted by the SDK: get_secret gives the file key (AES-GCM under the record key) and a
   * download URL; `downloadFile` fetches the encrypted bytes over HTTPS and decrypts them with AES-256-GCM
   * under the file key, so content altered in storage or on the way fails to decrypt. Both steps run in one
   * exclusive section: the file key lives only in the SDK's key cache, which the next getSecrets empties.
   * Nothing is written to disk here.
   *
   * @returns undefined when the record is not shared with the app or has no such attachment.
   * @throws when the download or its decryption fails.
   */
  async readAttachment(recordUid: string, fileUid: string): Promise<Attachment | undefined> {
    if (!looksLikeUid(recordUid)) return undefined;
    return exclusive(async () => {
      const record = (await this.#fetch(`reading the attachments of record ${recordUid}`, [recordUid])).find(
        (r) => r.recordUid === recordUid,
      );
      const file = record?.files?.find((f) => f.fileUid === fileUid);
      if (!file) return undefined;
      const meta = (file.data ?? {}) as { name?: unknown; title?: unknown };
      const name =
        typeof meta.name === "string" && meta.name
          ? meta.name
          : typeof meta.title === "string" && meta.title
            ? meta.title
            : fileUid;
      if (!file.url) {
        throw new RekeyError("internal", `Keeper gave no download URL for file ${fileUid} (${name})`, {
          hint: "check that the KSM application may view the record's files",
        });
      }
      let bytes: Uint8Array;
      try {
        bytes = await downloadFile(file);
      } catch (err) {
        // A failed GET is not seen by the SDK (it decrypts whatever came back), so both end up here.
        throw new RekeyError(
          "internal",
          `downloading file ${fileUid} (${name}) of record ${recordUid} failed: ${(err as Error)?.message ?? String(err)}`,
          {
            hint: "check the network path to Keeper's file storage; a decryption error means the bytes were not the file's",
            cause: err,
          },
        );
      }
      return { name, content: Buffer.from(bytes) };
    });
  }

  /** KSM exposes no record history (the vault UI does): only the current version. */
  async history(uid: string): Promise<RecordVersion[]> {
    const r = await this.getRecord(uid);
    return r ? [{ revision: r.revision, savedAt: "", actor: "", record: r.record, deleted: false }] : [];
  }

  // ---- folders ------------------------------------------------------------------------------------------

  async listFolders(): Promise<Folder[]> {
    const folders = await exclusive(() =>
      this.#sdk(`listing the folders of ${this.description}`, (o) => {
        keyCacheEmptied();
        return getFolders(o);
      }),
    );
    return folders.map((f) => ({
      uid: f.folderUid,
      name: f.name ?? "",
      parentUid: f.parentUid ?? null,
      shared: !f.parentUid,
    }));
  }

  async createFolder(
    name: string,
    opts: { parentUid?: string | null; shared?: boolean; actor: string },
  ): Promise<Folder> {
    const parentUid = opts.parentUid;
    if (opts.shared || !parentUid) {
      throw usageError(
        `KSM cannot create shared folders ("${name}")`,
        "create the shared folder in the Keeper vault and share it with the application; then create sub-folders in it",
      );
    }
    const what = `creating folder "${name}" in ${parentUid}`;
    const uid = await exclusive(async () => {
      const folders = await this.#sdk(what, (o) => {
        keyCacheEmptied();
        return getFolders(o);
      });
      const root = sharedRoot(folders, parentUid);
      if (!root)
        throw notFound(`no folder ${parentUid} is shared with the KSM application`, "rekey folder list");
      const options = { folderUid: root, ...(root !== parentUid ? { subFolderUid: parentUid } : {}) };
      return this.#sdk(what, (o) => createFolder(o, options, name));
    });
    this.#audit({ action: "folder.create", recordUid: null, actor: opts.actor, details: { folderUid: uid } });
    return { uid, name, parentUid, shared: false };
  }

  // ---- local state --------------------------------------------------------------------------------------

  async appendAudit(event: AuditEvent): Promise<AuditEntry> {
    return this.#requireState().appendAudit(event);
  }

  async listAudit(filter?: { recordUid?: string; limit?: number }): Promise<AuditEntry[]> {
    return this.#requireState().listAudit(filter);
  }

  async verifyAudit(): Promise<AuditVerification> {
    return this.#requireState().verifyAudit();
  }

  async putJournal(entry: Omit<JournalEntry, "createdAt" | "updatedAt">): Promise<JournalEntry> {
    return this.#requireState().putJournal(entry);
  }

  async listJournal(filter?: { recordUid?: string; kind?: string }): Promise<JournalEntry[]> {
    return this.#requireState().listJournal(filter);
  }

  async deleteJournal(id: string): Promise<void> {
    this.#requireState().deleteJournal(id);
  }

  async appendRotationHistory(entry: RotationHistoryEntry, audit: AuditEvent): Promise<RotationHistoryEntry> {
    return this.#requireState().appendRotationHistory(entry, audit);
  }

  async listRotationHistory(filter?: {
    recordUid?: string;
    limit?: number;
  }): Promise<RotationHistoryEntry[]> {
    return this.#requireState().listRotationHistory(filter);
  }

  async tryLock(recordUid: string, owner: string, ttlMs: number): Promise<Lease | null> {
    return this.#requireState().tryLock(recordUid, owner, ttlMs);
  }

  /**
   * Apply writes in order. Not atomic (Keeper and a local file cannot be): the record save is the commit
   * point, so put it first; journal and audit writes after it are idempotent and repair tolerates a crash
   * between them. Records and folders are created and deleted one by one: the first failure stops the rest,
   * and what was done before it stays (`capabilities.atomicCommit` is false).
   */
  async commit(ops: WriteOp[], opts: { actor: string }): Promise<CommitResult> {
    const saved: StoredRecord[] = [];
    const created: StoredRecord[] = [];
    const folders: Folder[] = [];
    const refs = new Map<string, string>();
    for (const o of ops) {
      if (o.op === "saveRecord") {
        saved.push(
          await this.saveRecord(o.uid, o.record, {
            expectedRevision: o.expectedRevision,
            actor: opts.actor,
            ...(o.transaction ? { transaction: o.transaction } : {}),
          }),
        );
      } else if (o.op === "putJournal") this.#requireState().putJournal(o.entry);
      else if (o.op === "deleteJournal") this.#requireState().deleteJournal(o.id);
      else if (o.op === "appendRotationHistory") this.#requireState().appendRotationHistory(o.entry, o.audit);
      else if (o.op === "audit") this.#requireState().appendAudit(o.event);
      else if (o.op === "createRecord") {
        created.push(
          await this.createRecord(o.record, {
            folderUid: folderUidOf(o.folderUid, refs),
            actor: opts.actor,
            ...(o.uid ? { uid: o.uid } : {}),
          }),
        );
      } else if (o.op === "createFolder") {
        const f = await this.createFolder(o.name, {
          parentUid: folderUidOf(o.parentUid, refs),
          ...(o.shared !== undefined ? { shared: o.shared } : {}),
          actor: opts.actor,
        });
        if (o.ref) refs.set(o.ref, f.uid);
        folders.push(f);
      } else await this.deleteRecord(o.uid, { expectedRevision: o.expectedRevision, actor: opts.actor });
    }
    return {
      saved,
      ...(created.length ? { created } : {}),
      ...(folders.length ? { folders } : {}),
    };
  }

  async close(): Promise<void> {
    // The SDK holds no connection; pending SDK work finishes on its own.
  }
}
