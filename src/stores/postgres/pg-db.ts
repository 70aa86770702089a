/**
 * A thin layer over a `pg` pool: write transactions that serialize on the vault's write lock, plain
 * queries, and PostgreSQL failures translated into rekey errors naming the database (never its password).
 *
 * Why one write lock for the whole vault: every change appends to the audit log, whose hash chain has one
 * end. Taking the lock first (the `audit_head` row, FOR UPDATE) orders writers the way SQLite's BEGIN
 * IMMEDIATE does, so two gateways never deadlock on record rows and the audit head in opposite orders. Leases
 * do not take it: they are single statements on their own rows.
 */
import type { Pool, PoolClient, QueryResultRow } from "pg";
import { conflict, notFound, RekeyError, usageError } from "../../errors.js";
import { META, notAVault } from "./pg-schema.js";

/** What runs a statement: the pool (one statement, autocommit) or a transaction's client. */
export interface Queryable {
  query<R extends QueryResultRow>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

export class PgDb {
  /** The database for messages: `postgres://USER@HOST:PORT/DB`, without the password. */
  readonly where: string;
  readonly pool: Pool;

  constructor(pool: Pool, where: string) {
    this.pool = pool;
    this.where = where;
  }

  /** One statement outside any transaction. */
  async query<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw mapPgError(err, this.where);
    }
  }

  /**
   * `fn` on one connection between `begin` (a BEGIN statement) and COMMIT, rolled back when it throws;
   * failures mapped, the connection returned (or dropped when it broke). The one place a transaction is
   * opened: write and read below, and the copy into an empty database (pg-import-rows.ts).
   */
  async transaction<T>(begin: string, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw mapPgError(err, this.where);
    }
    let broken = false;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true; // the connection is gone: do not give it back to the pool
      }
      throw mapPgError(err, this.where);
    } finally {
      client.release(broken);
    }
  }

  /** A write transaction holding the vault's write lock (see the file comment). */
  write<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T> {
    return this.transaction("BEGIN", async (tx) => {
      const lock = await tx.query("SELECT 1 FROM vault_meta WHERE key = $1 FOR UPDATE", [META.auditHead]);
      if (lock.rowCount !== 1) throw notAVault(this.where, "its audit head is missing");
      return fn(tx);
    });
  }

  /** One consistent snapshot for multi-statement reads. */
  read<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T> {
    return this.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export async function metaValue(q: Queryable, key: string): Promise<string | undefined> {
  const { rows } = await q.query<{ value: string }>("SELECT value FROM vault_meta WHERE key = $1", [key]);
  return rows[0]?.value;
}

export async function setMeta(q: Queryable, key: string, value: string): Promise<void> {
  await q.query(
    "INSERT INTO vault_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [key, value],
  );
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
]);

/**
 * PostgreSQL's failures as rekey errors naming the database; rekey errors and unknown failures pass through.
 * Only the error's code and PostgreSQL's own message go into the text, never its detail (which may quote
 * row values) and never the connection string.
 */
export function mapPgError(err: unknown, where: string): unknown {
  if (err instanceof RekeyError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string") {
    if (/Connection terminated|timeout exceeded when trying to connect/i.test(err.message)) {
      return unreachable(where, err.message, err);
    }
    return err;
  }
  if (CONNECTION_CODES.has(code) || code.startsWith("08") || code === "57P01" || code === "57P03") {
    return unreachable(where, code, err);
  }
  if (code === "28P01" || code === "28000") {
    return new RekeyError("auth", `the vault database ${where} refused the login: ${err.message}`, {
      hint: "check the user and password in REKEY_VAULT (postgres://USER:PASSWORD@HOST:PORT/DB)",
      cause: err,
    });
  }
  if (code === "3D000") {
    return notFound(
      `the vault database ${where} does not exist`,
      "create it (createdb), then run `rekey init`",
    );
  }
  if (code === "42P01") return notAVault(where, "rekey's tables are missing");
  if (code === "23505") return conflict(`vault ${where}: ${err.message}`, "re-read the data and try again");
  if (code === "40001" || code === "40P01" || code === "55P03") {
    return new RekeyError("conflict", `vault ${where} is busy: ${err.message}`, {
      hint: "try again in a moment",
      cause: err,
    });
  }
  if (code === "42501") {
    return usageError(
      `the vault database ${where} refused: ${err.message}`,
      "grant the REKEY_VAULT user the rights on rekey's tables",
    );
  }
  return err;
}

function unreachable(where: string, why: string, cause: unknown) {
  return new RekeyError("usage", `cannot reach the vault database ${where}: ${why}`, {
    hint: "check that PostgreSQL is running and that REKEY_VAULT names the right host and port",
    cause,
  });
}
