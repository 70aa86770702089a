/**
 * Copies of the local vault file: `rekey vault backup` and the staging step of `rekey vault restore`.
 *
 * Invariants:
 * - A copy is one consistent snapshot: `VACUUM INTO` reads the whole database in one read transaction, so
 *   writers in other processes (a gateway, a rotation, `record edit`) keep going and the copy holds either
 *   all of a write or none of it. Its signed head therefore matches its rows.
 * - The copy is self-contained: one SQLite file in rollback-journal mode (no -wal beside it), holding the
 *   key slots (salts, wrapped master key), the signed head and the audit log. What it does not hold: the key
 *   file (REKEY_KEY_FILE) and the passphrase that unlock it, and REKEY_EXPECT_HEAD_FILE.
 * - Every file written here is created empty with mode 0600 (exclusive create) before a byte goes in, never
 *   chmod-ed after; a copy is fsynced, checked (opened read-only with the same unlock, audit chain and signed
 *   head verified) and only then put in place: next to nothing (link, never over an existing file) or, when
 *   asked, over the old file in one rename.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { conflict, integrityError, type RekeyError, usageError } from "../../errors.js";
import { zeroize } from "../../vault/crypto.js";
import { parseKeySlots, type UnlockSource, unlockMasterKey } from "../../vault/keys.js";
import {
  assertVaultFile,
  META,
  mapSqliteError,
  notAVault,
  readVaultMeta,
  SCHEMA_VERSION,
} from "./sqlite-schema.js";
import { SqliteVaultStore } from "./sqlite-store.js";

const BUSY_TIMEOUT_MS = 5000;

/** What a checked copy holds (no secret). */
export interface CopySummary {
  vaultId: string;
  records: number;
  generation: number;
  /** The signed head line (`rekey audit head`). */
  head: string;
  auditEntries: number;
  /** What unlocks it: "passphrase", "key-file". */
  keySlots: string[];
}

/** A read-only store over a copy, with the facts of its meta table. */
export interface ReadOnlyVault {
  store: SqliteVaultStore;
  vaultId: string;
  keySlots: string[];
}

/**
 * Create an empty file with mode 0600 in `dir` (exclusive: never an existing file) and return its path.
 * `stem` names it: `.<stem>.<random>.tmp`.
 */
export function createPrivateFile(dir: string, stem: string): string {
  for (let i = 0; ; i++) {
    const path = join(dir, `.${stem}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      closeSync(openSync(path, "wx", 0o600));
      return path;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && i < 5) continue;
      if (code === "ENOENT") {
        throw usageError(`the directory ${dir} does not exist`, "create it first, or choose another path");
      }
      throw usageError(
        `cannot create a file in ${dir}: ${(err as Error).message}`,
        "choose a directory you can write",
      );
    }
  }
}

/** Create `path` empty with mode 0600, exclusively; false when it exists. */
export function createPrivateFileAt(path: string): boolean {
  try {
    closeSync(openSync(path, "wx", 0o600));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

function fsyncPath(path: string, flags = "r+"): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync a directory so a rename or link in it survives a crash (not possible everywhere: best effort). */
function fsyncDir(dir: string): void {
  try {
    fsyncPath(dir, "r");
  } catch {
    // Windows and some file systems cannot open a directory: the rename itself is still atomic
  }
}

/**
 * A consistent snapshot of the database `source` into `dest`, an empty file that already exists (with its
 * final mode). One read transaction: other processes keep writing meanwhile. fsynced (VACUUM INTO is not).
 */
export function snapshotInto(source: string, dest: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.prepare("VACUUM INTO ?").run(dest);
  } catch (err) {
    throw mapSqliteError(err, source);
  } finally {
    db?.close();
  }
  fsyncPath(dest);
}

/**
 * Open a vault file read-only and unlock it: nothing is written to it (no migration, no journal-mode change).
 * `label` names it in messages (the user's file rather than a staging copy). Runs the open-time checks.
 */
export async function openVaultReadOnly(
  path: string,
  unlock: UnlockSource,
  label: string = path,
): Promise<ReadOnlyVault> {
  const file = resolve(path);
  assertVaultFile(file);
  let db: Database.Database | undefined;
  let vmk: Buffer | undefined;
  let store: SqliteVaultStore | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const meta = readVaultMeta(db, label);
    const version = Number(meta.get(META.schemaVersion));
    if (version < SCHEMA_VERSION) {
      throw usageError(
        `${label} was written by an older rekey (vault schema ${version}; this rekey writes ${SCHEMA_VERSION})`,
        `let this rekey upgrade a copy of it first: cp ${label} COPY && REKEY_VAULT=sqlite:COPY rekey audit verify, then use COPY`,
      );
    }
    const vaultId = meta.get(META.vaultId);
    const slots = parseKeySlots(meta.get(META.keySlots) ?? "");
    if (!vaultId || !slots || slots.length === 0)
      throw notAVault(label, "its key slots are missing or damaged");
    vmk = await unlockMasterKey(slots, unlock, { id: vaultId, path: label });
    store = new SqliteVaultStore(db, label, vaultId, vmk);
    store.openChecks(version);
    return { store, vaultId, keySlots: slots.map((s) => s.kind) };
  } catch (err) {
    if (store) store.close();
    else {
      zeroize(vmk);
      db?.close();
    }
    throw mapSqliteError(err, label);
  }
}

/**
 * The checks `rekey audit verify` runs: the audit log's hash chain, then every row against the signed head
 * (deleted records included). Every record is decrypted on the way (the count). Throws an integrity error.
 */
export function verifyCopy(v: ReadOnlyVault): CopySummary {
  const audit = v.store.verifyAudit();
  if (!audit.ok) {
    const p = audit.problem;
    throw integrityError(
      `${v.store.path}: the audit log is broken${p ? ` at entry ${p.seq}: ${p.reason}` : ""}`,
      "this copy was modified after it was written: use another backup",
    );
  }
  const { generation } = v.store.checkIntegrity();
  return {
    vaultId: v.vaultId,
    records: v.store.listRecords().length,
    generation,
    head: v.store.head(),
    auditEntries: audit.entries,
    keySlots: v.keySlots,
  };
}

/** Same file (after symlinks), or one of its SQLite side files: a copy must never be written there. */
export function isVaultFileOrSide(candidate: string, vault: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      try {
        return join(realpathSync(dirname(p)), basename(p));
      } catch {
        return resolve(p);
      }
    }
  };
  const c = real(candidate);
  const v = real(vault);
  return [v, `${v}-wal`, `${v}-shm`, `${v}-journal`].includes(c);
}

/**
 * Put the finished file `tmp` at `dest`: without `replace`, only if nothing is there (a hard link fails on
 * an existing name, atomically); with `replace`, over it in one rename. The directory is fsynced.
 */
export function placeFile(tmp: string, dest: string, replace: boolean): void {
  if (replace) renameSync(tmp, dest);
  else {
    try {
      linkSync(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") throw existsError(dest);
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw err;
      // A file system without hard links: check, then rename (a narrow race, on such file systems only).
      if (existsSync(dest)) throw existsError(dest);
      renameSync(tmp, dest);
    }
    if (existsSync(tmp)) unlinkSync(tmp);
  }
  fsyncDir(dirname(dest));
}

function existsError(dest: string): RekeyError {
  return conflict(
    `${dest} already exists; not overwriting it`,
    "give --force to replace it, or choose another file",
  );
}

export interface BackupResult extends CopySummary {
  file: string;
  /** True when --force replaced an existing file. */
  replaced: boolean;
  bytes: number;
}

/**
 * `rekey vault backup`: a checked copy of the vault at `vaultPath` in `file` (mode 0600), opened with `unlock`
 * to check it. Refuses an existing file unless `force` (then replaced in one rename, only once the new copy
 * passed its checks), and a file SQLite still uses (a -wal or -shm beside it).
 */
export async function backupVault(
  vaultPath: string,
  file: string,
  opts: { force: boolean; unlock: UnlockSource },
): Promise<BackupResult> {
  const dest = resolve(file);
  if (isVaultFileOrSide(dest, vaultPath)) {
    throw usageError(`${dest} is the live vault itself`, "write the backup to another file");
  }
  const exists = existsSync(dest);
  if (exists && !opts.force) throw existsError(dest);
  if (exists && !statSync(dest).isFile()) {
    throw usageError(`${dest} is not a regular file`, "choose a file path for the backup");
  }
  for (const side of [`${dest}-wal`, `${dest}-shm`, `${dest}-journal`]) {
    if (existsSync(side)) {
      throw conflict(
        `${side} exists: ${dest} is in use as a database (or was not closed cleanly), and replacing it under that file would damage the copy`,
        "choose another file, or close whatever uses it (then that file goes away)",
      );
    }
  }
  const tmp = createPrivateFile(dirname(dest), basename(dest));
  try {
    snapshotInto(vaultPath, tmp);
    const copy = await openVaultReadOnly(tmp, opts.unlock, dest);
    let summary: CopySummary;
    try {
      summary = verifyCopy(copy);
    } finally {
      copy.store.close();
    }
    const bytes = statSync(tmp).size;
    placeFile(tmp, dest, opts.force);
    return { ...summary, file: dest, replaced: exists, bytes };
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp);
  }
}
