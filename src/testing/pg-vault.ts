/**
 * A PostgreSQL server for the tests of one file or `describe` (started before them, stopped after), and new
 * vaults on it, each with its key file in a temp directory removed at the end.
 *
 * @example
 * describe("... on PostgreSQL", () => {
 *   const pg = pgTestServer();
 *   test("...", async () => { const { store } = await pg.vault(); ... });
 * });
 */
import { join } from "node:path";
import { after, before } from "node:test";
import { Secret } from "../secret.js";
import { initPostgresVault } from "../stores/postgres/pg-open.js";
import type { PostgresVaultStore } from "../stores/postgres/postgres-store.js";
import { type PgServer, startPostgres } from "./postgres.js";
import { TEST_KDF, TEST_PASSPHRASE, tempDir } from "./vault.js";

export interface PgTestVault {
  store: PostgresVaultStore;
  url: string;
  /** The database's name (for `server().sql`). */
  db: string;
  /** The vault's key file (it also opens with TEST_PASSPHRASE). */
  keyFile: string;
  /** The temp directory holding the key file, removed after the tests. */
  dir: string;
}

export interface PgTestServer {
  /** The running server (inside a test). */
  server(): PgServer;
  /** A new vault (passphrase and key file) in a new database. The caller closes the store. */
  vault(): Promise<PgTestVault>;
  /** A temp directory removed after the tests. */
  dir(prefix?: string): string;
}

export function pgTestServer(): PgTestServer {
  let pg: PgServer | undefined;
  const dirs: Array<{ cleanup(): void }> = [];
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
    for (const d of dirs) d.cleanup();
  });
  const server = () => {
    if (!pg) throw new Error("the PostgreSQL server is started before the tests");
    return pg;
  };
  const dir = (prefix = "rekey-pg-key-") => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d.dir;
  };
  return {
    server,
    dir,
    async vault() {
      const url = await server().createDatabase();
      const db = decodeURIComponent(new URL(url).pathname.slice(1));
      const home = dir();
      const keyFile = join(home, "vault.key");
      const store = await initPostgresVault(url, {
        passphrase: new Secret(TEST_PASSPHRASE),
        keyFile,
        kdf: TEST_KDF,
        actor: "test",
      });
      return { store, url, db, keyFile, dir: home };
    },
  };
}
