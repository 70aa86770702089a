/**
 * The commands that read one record open the local vault with the scoped check (sqlite-open.ts): another
 * record rolled back behind rekey's back does not stop `record get` of an untouched one, while every command
 * that enumerates the vault (list, status, audit verify) still refuses it (exit 6). The bundled CLI, a real
 * vault file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { freshHome, rekey } from "../testing/cli.js";

test("record get/show read an untouched record; list, status and audit verify refuse a vault with another one rolled back", () => {
  const { home, env } = freshHome();
  const run = (args: string[]) => rekey(args, { env });
  for (const name of ["alice", "bob"]) {
    const r = run(["record", "add", "--title", name, "--set", `login=${name}`]);
    assert.equal(r.code, 0, r.stderr);
  }
  const db = new Database(join(home, "vault.db"));
  const before = db.prepare("SELECT * FROM records WHERE rowid = (SELECT MIN(rowid) FROM records)").get();
  db.close();
  assert.equal(run(["record", "edit", "alice", "--set", "login=alice2"]).code, 0);
  // alice's records row put back to revision 1 (as an older copy of the file holds it).
  const db2 = new Database(join(home, "vault.db"));
  db2
    .prepare(
      "INSERT OR REPLACE INTO records (uid, revision, title_mac, created_at, row_mac) VALUES (@uid, @revision, @title_mac, @created_at, @row_mac)",
    )
    .run(before as Record<string, unknown>);
  db2.close();

  const get = run(["record", "get", "bob", "login"]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, "bob\n");
  assert.equal(run(["record", "show", "bob"]).code, 0);
  const alice = run(["record", "get", "alice", "login"]);
  assert.equal(alice.code, 6, alice.stderr);
  assert.match(alice.stderr, /rolled back/);
  for (const args of [["record", "list"], ["status"], ["audit", "verify"]]) {
    const r = run(args);
    assert.equal(r.code, 6, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /failed its integrity check/);
  }
});
