/**
 * `rekey vault copy` into a local vault file: the copied rows (stores/copy-rows.ts) written to a new file
 * beside the target, checked there, then put in place in one rename (or hard link, when nothing was there).
 *
 * Invariants:
 * - Nothing half-written: the target path only ever names the old file or the finished, verified copy.
 * - The new file is a vault like one `rekey init` makes (same schema, mode 0600, directory 0700), holding the
 *   source's vault id and key slots, so the source's key file or passphrase opens it; its signed head starts at
 *   generation 0 (a REKEY_EXPECT_HEAD_FILE kept for another file does not apply to it).
 * - A file in use (a -wal, -shm or -journal beside it), a file that is not a vault, a different vault and a
 *   vault with a live lease are never replaced (copy-plan.ts).
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { conflict, RekeyError, usageError } from "../../errors.js";
import { zeroize } from "../../vault/crypto.js";
import { parseKeySlots, unlockMasterKey } from "../../vault/keys.js";
import { holderMayBeAlive } from "../../vault/lease-owner.js";
import type { AuditEvent } from "../../vault/store.js";
import type { CopySource, CopyTarget, VaultView } from "../copy-backend.js";
import { checkTarget, type TargetState } from "../copy-plan.js";
import type { VaultRows } from "../copy-rows.js";
import { asyncVaultStore } from "./async-adapter.js";
import { createPrivateFile, openVaultReadOnly, placeFile } from "./sqlite-backup.js";
import { openVault } from "./sqlite-open.js";
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

/**
 * What is at `file` now, read without unlocking it. A read-write connection on purpose: a read-only one on a
 * WAL-mode file leaves its -wal and -shm behind, which would then read as "in use" (refuseInUse).
 */
export function inspectSqliteTarget(file: string): TargetState {
  if (!existsSync(file)) return { kind: "empty" };
  try {
    assertVaultFile(file);
  } catch (err) {
    if (err instanceof RekeyError && err.kind === "integrity")
      return { kind: "not-a-vault", why: reason(err) };
    throw err;
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    let vaultId: string | undefined;
    try {
      vaultId = readVaultMeta(db, file).get(META.vaultId);
    } catch (err) {
      if (err instanceof RekeyError && err.kind === "integrity") {
        return { kind: "not-a-vault", why: reason(err) };
      }
      throw err;
    }
    if (!vaultId) return { kind: "not-a-vault", why: "it has no vault id" };
    const records = (db.prepare("SELECT COUNT(*) AS n FROM records").get() as { n: number }).n;
    const now = Date.now();
    const leases = (
      db.prepare("SELECT record_uid, owner, expires_at FROM locks").all() as Array<{
        record_uid: string;
        owner: string;
        expires_at: number;
      }>
    )
      .filter((l) => l.expires_at > now && holderMayBeAlive(l.owner))
      .map((l) => ({
        recordUid: l.record_uid,
        owner: l.owner,
        expiresAt: new Date(l.expires_at).toISOString(),
      }));
    return { kind: "vault", vaultId, records, leases };
  } catch (err) {
    const mapped = mapSqliteError(err, file);
    if (mapped instanceof RekeyError && mapped.kind === "integrity") {
      return { kind: "not-a-vault", why: reason(mapped) };
    }
    throw mapped;
  } finally {
    db?.close();
  }
}

const reason = (err: RekeyError) => /\(([^)]*)\)/.exec(err.message)?.[1] ?? err.message;

/** A file SQLite still uses beside `file`: replacing it under that file would damage the copy. */
function refuseInUse(file: string): void {
  for (const side of [`${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(side)) {
      throw conflict(
        `${side} exists: ${file} is open in another process (or was not closed cleanly), and replacing it under that process would damage the copy`,
        "stop whatever uses the target vault (a gateway, rekey credential-process), then copy again",
      );
    }
  }
}

/** A local vault as the copy's source: opened as every command opens it (REKEY_EXPECT_HEAD_FILE included). */
export const sqliteCopySource: CopySource<{ path: string }> = {
  async open(l, unlock, env) {
    const store = await openVault(
      l.path,
      unlock,
      env.REKEY_EXPECT_HEAD_FILE ? { expectHeadFile: env.REKEY_EXPECT_HEAD_FILE } : {},
    );
    return {
      store: asyncVaultStore(store),
      description: store.description,
      exportRows: async () => store.exportRows(),
      close: async () => store.close(),
    };
  },
};

/**
 * The local-vault side of `rekey vault copy` (see the file comment). `verify` sees the staged file opened
 * read-only with `unlock`, before it is put in place.
 */
export const sqliteCopyTarget: CopyTarget<{ path: string }> = {
  describe: (t) => `local vault ${resolve(t.path)}`,

  async write(t, rows, opts) {
    const file = resolve(t.path);
    const where = `local vault ${file}`;
    checkTarget(inspectSqliteTarget(file), rows.meta, where, opts);
    if (existsSync(file)) {
      if (!statSync(file).isFile())
        throw usageError(`${file} is not a regular file`, "give --to a file path");
      refuseInUse(file);
    }
    const slots = parseKeySlots(rows.meta.keySlots);
    if (!slots || slots.length === 0) throw notAVault(where, "the source's key slots are damaged");
    // Unlocked from the copied slots: proof, before anything is written, that the source's key opens the copy.
    const vmk = await unlockMasterKey(slots, opts.unlock, { id: rows.meta.vaultId, path: where });
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    } catch (err) {
      zeroize(vmk);
      throw usageError(
        `cannot create the directory ${dirname(file)}: ${(err as Error).message}`,
        "give --to a path in a directory you can write",
      );
    }
    let tmp: string | undefined;
    try {
      tmp = createPrivateFile(dirname(file), basename(file));
      stage(tmp, rows, vmk, opts.event);
      const view = await openVaultReadOnly(tmp, opts.unlock, file);
      try {
        await opts.verify({
          store: asyncVaultStore(view.store),
          rows: view.store.exportRows(),
          description: where,
        } satisfies VaultView);
      } finally {
        view.store.close();
      }
      // Checked again: the target may have changed while the copy was written and verified.
      if (existsSync(file)) refuseInUse(file);
      const now = inspectSqliteTarget(file);
      checkTarget(now, rows.meta, where, opts);
      placeFile(tmp, file, now.kind !== "empty");
    } finally {
      zeroize(vmk);
      if (tmp) for (const p of [tmp, `${tmp}-journal`]) if (existsSync(p)) unlinkQuietly(p);
    }
  },
};

/** Write the new vault into the empty file `tmp` (one transaction after the schema). `vmk` is only read. */
function stage(tmp: string, rows: VaultRows, vmk: Buffer, event: AuditEvent): void {
  let db: Database.Database | undefined;
  let store: SqliteVaultStore | undefined;
  try {
    db = new Database(tmp, { fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("synchronous = FULL");
    store = new SqliteVaultStore(db, tmp, rows.meta.vaultId, Buffer.from(vmk)); // the store zeroizes its copy
    createSchema(db, {
      [META.format]: FORMAT,
      [META.schemaVersion]: String(SCHEMA_VERSION),
      [META.vaultId]: rows.meta.vaultId,
      [META.createdAt]: rows.meta.createdAt,
      [META.keySlots]: rows.meta.keySlots,
      [META.auditHead]: rows.meta.auditHead,
    });
    store.importRows(rows, event);
  } catch (err) {
    throw mapSqliteError(err, tmp);
  } finally {
    if (store) store.close();
    else db?.close();
  }
}
