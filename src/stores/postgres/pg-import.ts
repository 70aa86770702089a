/**
 * `rekey vault copy` into PostgreSQL: the schema brought up to date (numbered migrations, as any open does),
 * the copied rows written in one transaction (pg-import-rows.ts), then the copy opened afresh, on a new
 * connection pool and through the normal open path, for verification.
 *
 * The database must be empty (no vault: a new database, or one whose rekey tables hold no vault) or hold an
 * earlier copy of the same vault (replaced with --force); copy-plan.ts decides, inside the transaction.
 */
import type pg from "pg";
import { zeroize } from "../../vault/crypto.js";
import { parseKeySlots, unlockMasterKey } from "../../vault/keys.js";
import type { CopySource, CopyTarget } from "../copy-backend.js";
import { checkTarget } from "../copy-plan.js";
import { mapPgError, type PgDb } from "./pg-db.js";
import { connectPg, openPostgresVault } from "./pg-open.js";
import { migrate, notAVault } from "./pg-schema.js";
import { PostgresVaultStore } from "./postgres-store.js";

async function migrateDb(db: PgDb): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await db.pool.connect();
  } catch (err) {
    throw mapPgError(err, db.where);
  }
  try {
    await migrate(client, db.where);
  } catch (err) {
    throw mapPgError(err, db.where);
  } finally {
    client.release();
  }
}

/** A PostgreSQL vault as the copy's source, opened as every command opens it. */
export const postgresCopySource: CopySource<{ url: string }> = {
  async open(l, unlock) {
    const store = await openPostgresVault(l.url, unlock);
    return {
      store,
      description: store.description,
      exportRows: () => store.exportRows(),
      close: () => store.close(),
    };
  },
};

/** `url` goes to the client only; `path` is the URL without its password (what messages name). */
export const postgresCopyTarget: CopyTarget<{ url: string; path: string }> = {
  describe: (t) => `PostgreSQL vault ${t.path}`,

  async write(t, rows, opts) {
    const where = `PostgreSQL vault ${t.path}`;
    const slots = parseKeySlots(rows.meta.keySlots);
    if (!slots || slots.length === 0) throw notAVault(where, "the source's key slots are damaged");
    // Unlocked from the copied slots: proof, before anything is written, that the source's key opens the copy.
    const vmk = await unlockMasterKey(slots, opts.unlock, { id: rows.meta.vaultId, path: where });
    const db = connectPg(t.url, { max: 2, applicationName: "rekey vault copy" });
    let store: PostgresVaultStore | undefined;
    try {
      await migrateDb(db);
      store = new PostgresVaultStore(db, rows.meta.vaultId, vmk); // owns db and vmk from here
      await store.importRows(rows, opts.event, (state) => checkTarget(state, rows.meta, where, opts));
    } finally {
      if (store) await store.close();
      else {
        zeroize(vmk);
        await db.close().catch(() => {});
      }
    }
    const copy = await openPostgresVault(t.url, opts.unlock);
    try {
      await opts.verify({ store: copy, rows: await copy.exportRows(), description: where });
    } finally {
      await copy.close();
    }
  },
};
