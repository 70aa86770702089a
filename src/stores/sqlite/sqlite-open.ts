/**
 * Opening and creating the local vault file (the store itself is sqlite-store.ts): WAL with
 * synchronous=FULL and a busy timeout; the db, -wal and -shm files 0600, the directory 0700; `initVault`
 * never writes over an existing file and leaves nothing behind when it fails.
 */

import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { conflict, usageError } from "../../errors.js";
import { rekeyHome } from "../../home.js";
import type { Secret } from "../../secret.js";
import { genesisHash, signHead } from "../../vault/audit-chain.js";
import { randomKey, zeroize } from "../../vault/crypto.js";
import {
  type KeySlot,
  loadOrCreateKeyFile,
  makeKeyFileSlot,
  makePassphraseSlot,
  parseKeySlots,
  type ScryptParams,
  type UnlockSource,
  unlockMasterKey,
} from "../../vault/keys.js";
import { VaultCipher } from "../../vault/vault-cipher.js";
import {
  assertVaultFile,
  createSchema,
  FORMAT,
  META,
  mapSqliteError,
  notAVault,
  readVaultMeta,
  SCHEMA_VERSION,
} from "./sqlite-schema.js";
import { SqliteVaultStore, unlinkQuietly } from "./sqlite-store.js";

const BUSY_TIMEOUT_MS = 5000;
const nowIso = () => new Date().toISOString();

/** `$REKEY_HOME/vault.db`, REKEY_HOME defaulting to `~/.rekey`. */
export function vaultPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(rekeyHome(env), "vault.db");
}

export interface InitVaultOptions {
  /** Protect the vault with a passphrase (scrypt). */
  passphrase?: Secret;
  /** Also (or only) unlock with this key file: created (0600) if missing, used if it exists. */
  keyFile?: string;
  /** scrypt cost; defaults to DEFAULT_SCRYPT. Only tests should lower it. */
  kdf?: Partial<ScryptParams>;
  /** Recorded in the vault.init audit entry. */
  actor?: string;
}

/** The db, -wal and -shm files are mode 0600: SQLite copies the db's mode, we make sure. */
function tightenModes(path: string): void {
  if (process.platform === "win32") return;
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(p).mode & 0o077) !== 0) chmodSync(p, 0o600);
    } catch {
      // missing (no WAL yet) or not ours: nothing to do
    }
  }
}

function configure(db: Database.Database): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma("synchronous = FULL");
}

export interface OpenVaultOptions {
  /**
   * REKEY_EXPECT_HEAD_FILE: a file (best kept on another machine or medium) holding the vault's signed head
   * line. Opening fails with an integrity error when the vault is behind it or not a continuation of it;
   * each committed write rewrites it. Created at the first open when missing.
   */
  expectHeadFile?: string;
  /**
   * How much of the open check runs at open (sqlite-head.ts). "full" (the default): every live record
   * against the signed head, the saved versions' count and that every record points at its newest version.
   *
   * "scoped", for commands that read one record and write nothing but the audit log (record get, record
   * show, credential-process, exec, env): the head's signature, the audit log's tail, the records', folders'
   * and history's counts and the journal at open; then each record read is checked (its row MAC, that it
   * points at its newest saved version, its ciphertext). The per-record part of the full check runs before
   * the store lists, exports or uses the schedule index, so a command that enumerates gets the full check.
   *
   * What the scoped check still detects: any edit of the records it reads (row, ciphertext, data key), a
   * records row put back to an older revision or a deleted record's row put back (while its newer versions
   * stay), records rows added or removed, the audit log cut back or edited at its end, a forged head, and
   * (with expectHeadFile) the whole file replaced by an older copy.
   * What it leaves to the full check: tampering with records it does not read, and a rollback of the
   * record it reads that also deletes that record's newer versions (the versions count is not read: it
   * walks every version row) or keeps the count by planting rows elsewhere. The rolled-back record is then
   * an older copy of itself, made by rekey with this vault's key (never forged): an older key, most
   * likely already deleted in IAM. Writes after a scoped open update the head from its signed state, never
   * from the rows, so they cannot make tampered rows look signed: the next full check (record list,
   * status, gateway, rotate, export, backup, vault copy, audit verify) still reports them.
   */
  check?: "full" | "scoped";
}

/**
 * Open an existing vault and unlock it, upgrade a vault written by an older rekey, and check its live rows
 * against its signed head (sqlite-head.ts). `unlock` may be a function so that the passphrase is only asked for
 * once the file is known to be a vault.
 *
 * @example
 * const store = await openVault(vaultPath(), { keyFile: "/etc/rekey/vault.key" });
 */
export async function openVault(
  path: string,
  unlock: UnlockSource | (() => Promise<UnlockSource>),
  opts: OpenVaultOptions = {},
): Promise<SqliteVaultStore> {
  const file = resolve(path);
  assertVaultFile(file);
  let db: Database.Database | undefined;
  let vmk: Buffer | undefined;
  let store: SqliteVaultStore | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    configure(db);
    const meta = readVaultMeta(db, file);
    if (db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
    const vaultId = meta.get(META.vaultId);
    const slots = parseKeySlots(meta.get(META.keySlots) ?? "");
    if (!vaultId || !slots || slots.length === 0)
      throw notAVault(file, "its key slots are missing or damaged");
    const source = typeof unlock === "function" ? await unlock() : unlock;
    vmk = await unlockMasterKey(slots, source, { id: vaultId, path: file });
    tightenModes(file);
    const anchor = opts.expectHeadFile ? { anchorFile: resolve(opts.expectHeadFile) } : {};
    store = new SqliteVaultStore(db, file, vaultId, vmk, anchor);
    store.openChecks(Number(meta.get(META.schemaVersion)), opts.check ?? "full");
    return store;
  } catch (err) {
    if (store) store.close();
    else {
      zeroize(vmk);
      db?.close();
    }
    throw mapSqliteError(err, file);
  }
}

/**
 * Create a new vault at `path` (never over an existing file) protected by a passphrase, a key file, or both.
 * The directory is created with mode 0700, the file with mode 0600.
 */
export async function initVault(path: string, opts: InitVaultOptions): Promise<SqliteVaultStore> {
  const file = resolve(path);
  if (!opts.passphrase && !opts.keyFile) {
    throw usageError(
      "a new vault needs a passphrase, a key file, or both",
      "set REKEY_PASSPHRASE (or answer the prompt), or give --key-file PATH",
    );
  }
  const exists = () =>
    conflict(
      `a vault already exists at ${file}`,
      "use it, or choose another REKEY_HOME; to start over move the file away",
    );
  if (existsSync(file)) throw exists();
  const vaultId = randomBytes(16).toString("base64url");
  const vmk = randomKey();
  const slots: KeySlot[] = [];
  let keyFileCreated = false;
  let db: Database.Database | undefined;
  let store: SqliteVaultStore | undefined;
  let fileCreated = false;
  try {
    // The slow part (scrypt) and the key file come first, so nothing is on disk if they fail.
    if (opts.passphrase) slots.push(await makePassphraseSlot(vmk, opts.passphrase, vaultId, opts.kdf));
    if (opts.keyFile) {
      const { key, created } = loadOrCreateKeyFile(resolve(opts.keyFile));
      keyFileCreated = created;
      slots.push(makeKeyFileSlot(vmk, key, vaultId));
      zeroize(key);
    }
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw usageError(
        `cannot create the vault directory ${dirname(file)}: ${(err as Error).message}`,
        "set REKEY_HOME to a directory you can write",
      );
    }
    let fd: number;
    try {
      fd = openSync(file, "wx", 0o600); // exclusive: two concurrent inits cannot both win
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw exists();
      throw err;
    }
    fileCreated = true;
    if (process.platform !== "win32") fchmodSync(fd, 0o600);
    closeSync(fd);

    db = new Database(file, { fileMustExist: true });
    configure(db);
    store = new SqliteVaultStore(db, file, vaultId, vmk);
    const tmp = new VaultCipher(Buffer.from(vmk)); // a copy, for the audit key of the genesis head
    try {
      createSchema(db, {
        [META.format]: FORMAT,
        [META.schemaVersion]: String(SCHEMA_VERSION),
        [META.vaultId]: vaultId,
        [META.createdAt]: nowIso(),
        [META.keySlots]: JSON.stringify(slots),
        [META.auditHead]: JSON.stringify(signHead(tmp.auditKey, 0, genesisHash(tmp.auditKey, vaultId))),
      });
    } finally {
      tmp.destroy();
    }
    store.writeInitialHead();
    // WAL only after the schema is in the main file: the file is a recognisable vault from the first commit.
    db.pragma("journal_mode = WAL");
    store.appendAudit({
      action: "vault.init",
      recordUid: null,
      actor: opts.actor ?? "rekey init",
      details: { schemaVersion: SCHEMA_VERSION, keySlots: slots.map((s) => s.kind) },
    });
    tightenModes(file);
    return store;
  } catch (err) {
    if (store) store.close();
    else db?.close();
    if (fileCreated) for (const p of [file, `${file}-wal`, `${file}-shm`]) unlinkQuietly(p);
    if (keyFileCreated && opts.keyFile) unlinkQuietly(resolve(opts.keyFile));
    zeroize(vmk);
    throw mapSqliteError(err, file);
  }
}
