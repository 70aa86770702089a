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
import { after, before } from "node:test";
import { initPostgresVault } from "../stores/postgres/pg-open.js";
import type { PostgresVaultStore } from "../stores/postgres/postgres-store.js";
import { type PgServer, startPostgres } from "./postgres.js";
import { TEST_KDF, tempDir } from "./vault.js";

export interface PgTestServer {
  /** The running server (inside a test). */
  server(): PgServer;
  /** A new, empty vault in a new database; `dir` holds its key file. The caller closes the store. */
  vault(): Promise<{ store: PostgresVaultStore; url: string; dir: string }>;
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
  return {
    server,
    async vault() {
      const d = tempDir();
      dirs.push(d);
      const url = await server().createDatabase();
      const store = await initPostgresVault(url, { keyFile: `${d.dir}/vault.key`, kdf: TEST_KDF });
      return { store, url, dir: d.dir };
    },
  };
}
