/**
 * A thin layer over one better-sqlite3 connection: statements prepared on first use and cached (opening the
 * vault prepares nothing), transactions, and SQLite failures translated into rekey errors naming the vault.
 */
import type Database from "better-sqlite3";
import { mapSqliteError } from "./sqlite-schema.js";

export class SqlDb {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();
  readonly #rawStmts = new Map<string, Database.Statement>();

  constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.path = path;
  }

  /** Run `fn`, turning SQLite failures (busy, corrupt, not a database, ...) into rekey errors. */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw mapSqliteError(err, this.path);
    }
  }

  /**
   * A write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so two
   * processes never both read-then-write on a stale snapshot. Nested calls become savepoints.
   */
  write<T>(fn: () => T): T {
    return this.guard(() => this.#db.transaction(fn).immediate());
  }

  /** A read transaction: one consistent snapshot for multi-statement reads. */
  read<T>(fn: () => T): T {
    return this.guard(() => this.#db.transaction(fn).deferred());
  }

  /** True inside write()/read(): a write is committed only when the outermost one returns. */
  get inTransaction(): boolean {
    return this.#db.inTransaction;
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  run(sql: string, ...params: unknown[]): { changes: number } {
    return this.#stmt(sql).run(...params);
  }

  get<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.#stmt(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: unknown[]): T[] {
    return this.#stmt(sql).all(...params) as T[];
  }

  /** Rows one at a time; no other statement may run on this connection until the iteration ends. */
  /** Rows as arrays of their columns (no object a row): for the reads of every live row. */
  allRaw<T extends unknown[]>(sql: string, ...params: unknown[]): T[] {
    let s = this.#rawStmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql).raw(true);
      this.#rawStmts.set(sql, s);
    }
    return s.all(...params) as T[];
  }

  iterate<T>(sql: string, ...params: unknown[]): IterableIterator<T> {
    return this.#stmt(sql).iterate(...params) as IterableIterator<T>;
  }

  meta(key: string): string | undefined {
    return this.get<{ value: string }>("SELECT value FROM meta WHERE key = ?", key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.run(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  close(): void {
    this.#stmts.clear();
    this.#db.close();
  }
}
