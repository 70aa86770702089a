/**
 * The local vault's on-disk format: the SQLite schema, the meta keys that mark a file as a rekey vault, and
 * the mapping of SQLite failures to rekey's errors. Nothing in this file sees plaintext.
 *
 * What is stored in clear (structure, never content): record/folder/journal UIDs, revisions, timestamps,
 * actors, folder placement, audit actions and their (secret-free) details, lock owners. Everything a record
 * holds (type, title, fields, custom, notes), folder names and journal state are AES-256-GCM ciphertext.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { conflict, integrityError, notFound, RekeyError, usageError } from "../../errors.js";

export const FORMAT = "rekey-vault";
/**
 * Bump on any incompatible change, and teach `openVault` to migrate from the previous one.
 * 1: the tables below. 2: the signed vault head (meta `vault_head`, sqlite-head.ts), which every write updates:
 *    a rekey that does not maintain it must not write the file, so it refuses the newer version.
 */
export const SCHEMA_VERSION = 2;

export const META = {
  format: "format",
  schemaVersion: "schema_version",
  vaultId: "vault_id",
  createdAt: "created_at",
  keySlots: "key_slots",
  auditHead: "audit_head",
  /** Schema 2: the signed head of the whole vault (vault-head.ts). */
  vaultHead: "vault_head",
} as const;

export const SCHEMA_V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE folders (
  uid        TEXT PRIMARY KEY,
  parent_uid TEXT,
  shared     INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  name_ct    BLOB NOT NULL -- sealed under the folder-name key, AAD = uid, parent, shared, created_at
);

-- The current revision of each live record. The content lives in record_versions.
CREATE TABLE records (
  uid        TEXT PRIMARY KEY,
  revision   INTEGER NOT NULL,
  title_mac  BLOB NOT NULL,    -- HMAC(title-index key, title): exact-title lookup without a readable title
  created_at TEXT NOT NULL,
  row_mac    BLOB NOT NULL     -- HMAC(row key, uid, revision, title_mac, created_at): no silent pointer edits
);
CREATE INDEX records_by_title ON records (title_mac);

-- Every saved version, including the tombstone written by a delete. Never updated, never deleted.
CREATE TABLE record_versions (
  uid        TEXT NOT NULL,
  revision   INTEGER NOT NULL,
  folder_uid TEXT,
  saved_at   TEXT NOT NULL,
  actor      TEXT NOT NULL,
  deleted    INTEGER NOT NULL,
  dek        BLOB NOT NULL,    -- the version's random data key, wrapped under the VMK-derived KEK
  body       BLOB NOT NULL,    -- the record JSON sealed under dek, AAD = all the columns above
  PRIMARY KEY (uid, revision)
) WITHOUT ROWID;

CREATE TABLE audit (
  seq        INTEGER PRIMARY KEY,
  at         TEXT NOT NULL,
  action     TEXT NOT NULL,
  record_uid TEXT,
  actor      TEXT NOT NULL,
  details    TEXT NOT NULL,    -- canonical JSON, never secret values
  hash       TEXT NOT NULL     -- HMAC chain, see audit-chain.ts
);
CREATE INDEX audit_by_record ON audit (record_uid, seq);

CREATE TABLE journal (
  id         TEXT PRIMARY KEY,
  record_uid TEXT NOT NULL,
  kind       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  dek        BLOB NOT NULL,
  body       BLOB NOT NULL
);

CREATE TABLE locks (
  record_uid TEXT PRIMARY KEY,
  owner      TEXT NOT NULL,
  expires_at INTEGER NOT NULL  -- epoch milliseconds
) WITHOUT ROWID;
`;

/** Create the tables and the meta entries of a new vault, in one transaction. */
export function createSchema(db: Database.Database, meta: Record<string, string>): void {
  db.transaction(() => {
    db.exec(SCHEMA_V1);
    const put = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    for (const [key, value] of Object.entries(meta)) put.run(key, value);
  }).immediate();
}

const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

export function notAVault(path: string, why?: string) {
  return integrityError(
    `${path} is not a rekey vault${why ? ` (${why})` : ""}`,
    "check REKEY_HOME (or REKEY_VAULT) points at your vault, restore vault.db from a backup, or create a new vault with `rekey init` after moving this file away",
  );
}

/** Cheap checks before SQLite touches the file: it exists and starts like a SQLite database. */
export function assertVaultFile(path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw notAVault(path, "not a regular file");
    size = st.size;
  } catch (err) {
    if (err instanceof RekeyError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw notFound(
        `no vault at ${path}`,
        "create one with `rekey init`, or set REKEY_HOME to the directory that holds your vault.db",
      );
    }
    throw usageError(
      `cannot read vault ${path}: ${(err as Error).message}`,
      "check the file's owner and permissions",
    );
  }
  if (size < 512)
    throw notAVault(path, size === 0 ? "the file is empty" : "too small to be a SQLite database");
  const head = Buffer.alloc(SQLITE_HEADER.length);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    readSync(fd, head, 0, head.length, 0);
  } catch (err) {
    throw usageError(
      `cannot read vault ${path}: ${(err as Error).message}`,
      "check the file's owner and permissions",
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (!head.equals(SQLITE_HEADER)) throw notAVault(path, "not a SQLite database");
}

/** Check the meta table marks this database as a rekey vault this code can read. Returns the meta map. */
export function readVaultMeta(db: Database.Database, path: string): Map<string, string> {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  if (!hasMeta) throw notAVault(path, "a SQLite database without rekey's tables");
  const meta = new Map<string, string>();
  for (const row of db.prepare("SELECT key, value FROM meta").all() as Array<{
    key: unknown;
    value: unknown;
  }>) {
    if (typeof row.key === "string" && typeof row.value === "string") meta.set(row.key, row.value);
  }
  if (meta.get(META.format) !== FORMAT)
    throw notAVault(path, "a SQLite database without rekey's format marker");
  const version = Number(meta.get(META.schemaVersion));
  if (!Number.isInteger(version) || version < 1) throw notAVault(path, "no schema version");
  if (version > SCHEMA_VERSION) {
    throw usageError(
      `vault ${path} has schema version ${version}, written by a newer rekey; this rekey reads up to version ${SCHEMA_VERSION}`,
      "upgrade rekey (npm install -g rekey@latest) and run the command again",
    );
  }
  return meta;
}

/**
 * Translate SQLite's failures into rekey errors naming the vault; anything else passes through unchanged.
 */
export function mapSqliteError(err: unknown, path: string): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  const code = err.code;
  if (code === "SQLITE_NOTADB") return notAVault(path, "not a SQLite database");
  if (code.startsWith("SQLITE_CORRUPT")) {
    return integrityError(
      `vault ${path} is corrupted: ${err.message}`,
      "restore vault.db from a backup (SQLite's `.recover` may save what is left)",
      err,
    );
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new RekeyError("conflict", `vault ${path} is busy: another process kept it locked too long`, {
      hint: "try again in a moment; if it persists, look for a stuck rekey process",
      cause: err,
    });
  }
  if (code.startsWith("SQLITE_READONLY")) {
    return usageError(
      `vault ${path} is read-only: ${err.message}`,
      `make it writable by you: chmod 600 ${path}`,
    );
  }
  if (
    code.startsWith("SQLITE_CANTOPEN") ||
    code.startsWith("SQLITE_PERM") ||
    code.startsWith("SQLITE_IOERR")
  ) {
    return usageError(
      `cannot use vault ${path}: ${err.message}`,
      "check the file and its directory: owner, permissions, free space",
    );
  }
  if (code === "SQLITE_FULL") return usageError(`vault ${path}: the disk is full`, "free some disk space");
  if (code.startsWith("SQLITE_CONSTRAINT")) {
    return conflict(`vault ${path}: ${err.message}`, "re-read the data and try again");
  }
  return err;
}
