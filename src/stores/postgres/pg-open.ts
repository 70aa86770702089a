/**
 * Opening and creating a PostgreSQL vault (the store itself is postgres-store.ts).
 *
 * - `REKEY_VAULT=postgres://USER:PASSWORD@HOST:PORT/DB` (or postgresql://): the URL is handed to `pg` and
 *   never printed; messages name `postgres://USER@HOST:PORT/DB` (postgresDisplayName).
 * - Opening applies pending schema migrations (pg-schema.ts: once, whoever comes first), then unlocks the
 *   vault master key from the key slots in `vault_meta` with the key file or passphrase, as for SQLite.
 * - `initPostgresVault` makes the schema and the key slots in a database that holds no vault yet; two
 *   concurrent inits cannot both win (the meta table is locked while one checks and writes).
 */
import { randomBytes } from "node:crypto";
import { unlinkSync } from "node:fs";
import { resolve } from "node:path";
import pg from "pg";
import { conflict, usageError } from "../../errors.js";
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
import { mapPgError, metaValue, PgDb } from "./pg-db.js";
import { FORMAT, LATEST_VERSION, META, migrate, notAVault } from "./pg-schema.js";
import { postgresDisplayName } from "./pg-url.js";
import { PostgresVaultStore } from "./postgres-store.js";

/**
 * A pool for the vault at `url` (small: a gateway runs a few rotations at once; a copy uses one connection).
 */
export function connectPg(url: string, opts: { max?: number; applicationName?: string } = {}): PgDb {
  const where = postgresDisplayName(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 4,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? "rekey",
  });
  // An idle connection that breaks emits here; without a listener it would end the process. The next
  // query reports the failure (mapPgError) to whoever runs it.
  pool.on("error", () => {});
  return new PgDb(pool, where);
}

/** Apply pending migrations on one connection of `db`. Returns the versions applied now. */
async function migrateDb(db: PgDb): Promise<number[]> {
  let client: pg.PoolClient;
  try {
    client = await db.pool.connect();
  } catch (err) {
    throw mapPgError(err, db.where);
  }
  try {
    return await migrate(client, db.where);
  } catch (err) {
    throw mapPgError(err, db.where);
  } finally {
    client.release();
  }
}

/**
 * Bring the database at `url` to this rekey's schema (nothing else): what every open does first.
 * Returns the migration versions this call applied.
 */
export async function migratePostgresVault(url: string): Promise<number[]> {
  const db = connectPg(url);
  try {
    return await migrateDb(db);
  } finally {
    await db.close();
  }
}

/**
 * Open the vault at `url` and unlock it. `unlock` may be a function, so the passphrase is asked for only once
 * the database is known to hold a vault.
 *
 * @example
 * const store = await openPostgresVault(process.env.REKEY_VAULT!, { keyFile: "/etc/rekey/vault.key" });
 */
export async function openPostgresVault(
  url: string,
  unlock: UnlockSource | (() => Promise<UnlockSource>),
): Promise<PostgresVaultStore> {
  const db = connectPg(url);
  let vmk: Buffer | undefined;
  try {
    await migrateDb(db);
    const meta = new Map(
      (await db.query<{ key: string; value: string }>("SELECT key, value FROM vault_meta")).map((r) => [
        r.key,
        r.value,
      ]),
    );
    if (meta.get(META.format) !== FORMAT) {
      throw notAVault(db.where, "the database holds no vault yet: create one with `rekey init`");
    }
    const vaultId = meta.get(META.vaultId);
    const slots = parseKeySlots(meta.get(META.keySlots) ?? "");
    if (!vaultId || !slots || slots.length === 0)
      throw notAVault(db.where, "its key slots are missing or damaged");
    const source = typeof unlock === "function" ? await unlock() : unlock;
    vmk = await unlockMasterKey(slots, source, { id: vaultId, path: db.where });
    return new PostgresVaultStore(db, vaultId, vmk);
  } catch (err) {
    zeroize(vmk);
    await db.close().catch(() => {});
    throw mapPgError(err, db.where);
  }
}

export interface InitPostgresVaultOptions {
  /** Protect the vault with a passphrase (scrypt). */
  passphrase?: Secret;
  /** Also (or only) unlock with this key file: created (0600) if missing, used if it exists. */
  keyFile?: string;
  /** scrypt cost; defaults to DEFAULT_SCRYPT. Only tests should lower it. */
  kdf?: Partial<ScryptParams>;
  /** Recorded in the vault.init audit entry. */
  actor?: string;
}

/**
 * `rekey init` for REKEY_VAULT=postgres://...: the schema and the key slots in a database without a vault.
 * A key file created here is removed again when the init fails.
 *
 * @example
 * const store = await initPostgresVault(url, { passphrase, keyFile: "/etc/rekey/vault.key" });
 */
export async function initPostgresVault(
  url: string,
  opts: InitPostgresVaultOptions,
): Promise<PostgresVaultStore> {
  if (!opts.passphrase && !opts.keyFile) {
    throw usageError(
      "a new vault needs a passphrase, a key file, or both",
      "set REKEY_PASSPHRASE (or answer the prompt), or give --key-file PATH",
    );
  }
  const where = postgresDisplayName(url);
  const vaultId = randomBytes(16).toString("base64url");
  const vmk = randomKey();
  const slots: KeySlot[] = [];
  let keyFileCreated = false;
  let db: PgDb | undefined;
  try {
    // The slow part (scrypt) and the key file come first: nothing is written if they fail.
    if (opts.passphrase) slots.push(await makePassphraseSlot(vmk, opts.passphrase, vaultId, opts.kdf));
    if (opts.keyFile) {
      const { key, created } = loadOrCreateKeyFile(resolve(opts.keyFile));
      keyFileCreated = created;
      slots.push(makeKeyFileSlot(vmk, key, vaultId));
      zeroize(key);
    }
    db = connectPg(url);
    await migrateDb(db);
    const tmp = new VaultCipher(Buffer.from(vmk)); // a copy, for the audit key of the genesis head
    const auditHead = JSON.stringify(signHead(tmp.auditKey, 0, genesisHash(tmp.auditKey, vaultId)));
    tmp.destroy();
    await writeMeta(db, {
      [META.format]: FORMAT,
      [META.vaultId]: vaultId,
      [META.createdAt]: new Date().toISOString(),
      [META.keySlots]: JSON.stringify(slots),
      [META.auditHead]: auditHead,
    });
    const store = new PostgresVaultStore(db, vaultId, vmk);
    db = undefined; // the store owns it now
    try {
      await store.appendAudit({
        action: "vault.init",
        recordUid: null,
        actor: opts.actor ?? "rekey init",
        details: { schemaVersion: LATEST_VERSION, keySlots: slots.map((s) => s.kind) },
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  } catch (err) {
    if (db) await db.close().catch(() => {});
    if (keyFileCreated && opts.keyFile) unlinkQuietly(resolve(opts.keyFile));
    zeroize(vmk);
    throw mapPgError(err, where);
  }
}

/** Write the meta rows of a new vault, refusing a database that already holds one (atomically). */
async function writeMeta(db: PgDb, meta: Record<string, string>): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("LOCK TABLE vault_meta IN EXCLUSIVE MODE");
    if ((await metaValue(client, META.format)) !== undefined) {
      throw conflict(
        `a vault already exists in ${db.where}`,
        "use it (REKEY_VAULT with its key file or passphrase), or give rekey init an empty database",
      );
    }
    for (const [key, value] of Object.entries(meta)) {
      await client.query("INSERT INTO vault_meta (key, value) VALUES ($1, $2)", [key, value]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
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
