/**
 * `rekey vault restore`, the file work: the locks and head of the live file read without unlocking it, the
 * copy of the live vault kept before anything is replaced, and the replacement itself.
 *
 * Why the backup's rows are copied into the live file (one write transaction) rather than the file renamed
 * over it: other processes may hold the vault open (a gateway between rotations, `credential-process`). A
 * renamed file would leave them writing to the old inode and its -wal, which SQLite would then replay into
 * the new file by name: corruption. Inside a transaction they simply see the restored vault at their next
 * read. The transaction first checks that the live head is still the one the caller checked and copied, and
 * that no lock was taken since: a write that slipped in is never lost, the restore is refused instead.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import Database from "better-sqlite3";
import { conflict } from "../../errors.js";
import { holderMayBeAlive } from "../../vault/lease-owner.js";
import { createPrivateFileAt, snapshotInto } from "./sqlite-backup.js";
import type { LiveLease } from "./sqlite-backup-plan.js";
import { META, mapSqliteError } from "./sqlite-schema.js";
import { unlinkQuietly } from "./sqlite-store.js";

const BUSY_TIMEOUT_MS = 5000;
/** Tables of process state, not vault content: the live rows stay (a lease is held by a live process). */
const LIVE_ONLY_TABLES = new Set(["locks"]);

interface LockRow {
  record_uid: string;
  owner: string;
  expires_at: number;
}

function heldLeases(db: Database.Database, schema: "main"): LiveLease[] {
  const now = Date.now();
  return (db.prepare(`SELECT record_uid, owner, expires_at FROM ${schema}.locks`).all() as LockRow[])
    .filter((l) => l.expires_at > now && holderMayBeAlive(l.owner))
    .map((l) => ({
      recordUid: l.record_uid,
      owner: l.owner,
      expiresAt: new Date(l.expires_at).toISOString(),
    }));
}

function withReadOnly<T>(path: string, fn: (db: Database.Database) => T): T {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return fn(db);
  } catch (err) {
    throw mapSqliteError(err, path);
  } finally {
    db?.close();
  }
}

/** The leases held now by live holders (unexpired, holder not certainly dead). */
export function liveLeases(path: string): LiveLease[] {
  return withReadOnly(path, (db) => heldLeases(db, "main"));
}

/**
 * The vault id and the raw signed head stored in the file (meta `vault_id`, `vault_head`): the head is what
 * the restore transaction compares, byte for byte (every write changes it).
 */
export function storedMeta(path: string): { vaultId: string | undefined; head: string | undefined } {
  return withReadOnly(path, (db) => {
    const get = (key: string) =>
      (db.prepare("SELECT value FROM meta WHERE key = ?").pluck().get(key) as string | undefined) ??
      undefined;
    return { vaultId: get(META.vaultId), head: get(META.vaultHead) };
  });
}

/**
 * REKEY_EXPECT_HEAD_FILE after a restore: the restored vault is older than the line it holds, so every open
 * would fail. The old line is kept beside it (`.before-restore-<stamp>`), the restored head written (0600,
 * one rename). Returns where the old line went (undefined: there was none).
 */
export function resetHeadFile(path: string, line: string, stamp: string): string | undefined {
  let kept: string | undefined = `${path}.before-restore-${stamp}`;
  try {
    renameSync(path, kept);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    kept = undefined;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  unlinkQuietly(tmp);
  if (!createPrivateFileAt(tmp)) throw conflict(`${tmp} exists`, "remove it and run the command again");
  writeAll(tmp, Buffer.from(`${line}\n`, "utf8"));
  renameSync(tmp, path);
  return kept;
}

/**
 * Keep the live vault as `<vault>.before-restore-<stamp>` (0600, never over an existing file), a consistent
 * snapshot. A vault SQLite cannot read (`raw`) is copied byte for byte, its -wal beside the copy as `-wal`.
 */
export function keepBeforeRestore(vault: string, stamp: string, opts: { raw: boolean }): string {
  let path = `${vault}.before-restore-${stamp}`;
  for (let i = 2; !createPrivateFileAt(path); i++) path = `${vault}.before-restore-${stamp}-${i}`;
  if (!opts.raw) {
    snapshotInto(vault, path);
    return path;
  }
  copyBytes(vault, path);
  try {
    const wal = readFileSync(`${vault}-wal`);
    if (createPrivateFileAt(`${path}-wal`)) writeAll(`${path}-wal`, wal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return path;
}

function copyBytes(from: string, to: string): void {
  writeAll(to, readFileSync(from));
}

function writeAll(path: string, data: Buffer): void {
  const fd = openSync(path, "r+");
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The live vault was written between the restore's checks and the replacement: refused, nothing replaced. */
export const changedWhileRestoring = (vault: string) =>
  conflict(
    `the vault ${vault} changed while it was being restored (another process wrote to it); nothing was replaced`,
    "run rekey vault restore again (stop the gateway first if it is running)",
  );

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface TableRow {
  name: string;
  sql: string;
}

/**
 * Replace the content of the live vault `vault` with that of the checked copy `staged`, in one write
 * transaction, if its stored head is still `expectedHead` and (unless `allowLeases`) no lease is held.
 * Every table is replaced except the locks; a table only the copy has is created, one it lacks is emptied.
 */
export function replaceVaultContent(
  vault: string,
  staged: string,
  expectedHead: string,
  opts: { allowLeases: boolean },
): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(vault, { fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.prepare("ATTACH DATABASE ? AS src").run(staged);
    const conn = db;
    conn
      .transaction(() => {
        const head = conn.prepare("SELECT value FROM main.meta WHERE key = ?").pluck().get(META.vaultHead);
        if (head !== expectedHead) {
          throw changedWhileRestoring(vault);
        }
        const leases = heldLeases(conn, "main");
        if (leases.length > 0 && !opts.allowLeases) {
          throw conflict(
            `a lock on ${leases.map((l) => l.recordUid).join(", ")} was taken while the vault was being restored; nothing was replaced`,
            "wait for the rotation to finish (or stop the gateway), then run rekey vault restore again",
          );
        }
        copyTables(conn);
      })
      .immediate();
  } catch (err) {
    throw mapSqliteError(err, vault);
  } finally {
    try {
      db?.exec("DETACH DATABASE src");
    } catch {
      // not attached (the open failed)
    }
    db?.close();
  }
}

function copyTables(db: Database.Database): void {
  const tables = (schema: "main" | "src") =>
    db
      .prepare(
        `SELECT name, sql FROM ${schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`,
      )
      .all() as TableRow[];
  const source = tables("src").filter((t) => !LIVE_ONLY_TABLES.has(t.name));
  const target = new Set(tables("main").map((t) => t.name));
  for (const t of source) {
    if (!target.has(t.name)) {
      // An unqualified CREATE goes to main; the copy's indexes of that table come with it.
      db.exec(t.sql);
      const indexes = db
        .prepare(
          "SELECT sql FROM src.sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        )
        .pluck()
        .all(t.name) as string[];
      for (const sql of indexes) db.exec(sql);
    }
    const columns = (
      db.prepare("SELECT name FROM pragma_table_info(?, 'src')").pluck().all(t.name) as string[]
    )
      .map(quote)
      .join(", ");
    const order = /WITHOUT\s+ROWID\s*$/i.test(t.sql) ? "" : " ORDER BY rowid";
    db.exec(`DELETE FROM main.${quote(t.name)}`);
    db.exec(
      `INSERT INTO main.${quote(t.name)} (${columns}) SELECT ${columns} FROM src.${quote(t.name)}${order}`,
    );
  }
  const copied = new Set(source.map((t) => t.name));
  for (const name of target) {
    if (!copied.has(name) && !LIVE_ONLY_TABLES.has(name)) db.exec(`DELETE FROM main.${quote(name)}`);
  }
}
