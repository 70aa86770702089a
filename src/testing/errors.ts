/**
 * Test helpers for what a failure looks like and how tests tamper with a vault file.
 */
import Database from "better-sqlite3";
import { RekeyError } from "../errors.js";

/**
 * A predicate for assert.rejects/throws: a RekeyError of `kind` whose message and hint hold every `text`.
 * @example await assert.rejects(open(), isKind("integrity", "audit log"));
 */
export const isKind =
  (kind: string, ...texts: string[]) =>
  (err: unknown): boolean =>
    err instanceof RekeyError &&
    err.kind === kind &&
    texts.every((t) => `${err.message} ${err.hint}`.includes(t));

/** Edit a SQLite vault file behind rekey's back, as an attacker with write access to the file would. */
export function editVaultFile(path: string, fn: (db: Database.Database) => void): void {
  const db = new Database(path);
  try {
    fn(db);
  } finally {
    db.close();
  }
}
