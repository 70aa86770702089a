/** `rekey audit head` / `audit verify` against a vault edited or rolled back behind rekey's back (real processes). */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { freshHome, rekey } from "../testing/cli.js";

const HEAD_RE = /^rekey-head-v1:\d+:\d+:[0-9a-f]{64}:[0-9a-f]{64}:[0-9a-f]{64}$/;

function homeWithTwoRecords() {
  const h = freshHome();
  for (const title of ["alice", "bob"]) {
    const r = rekey(["record", "add", "--type", "login", "--title", title, "--set", `login=${title}`], {
      env: h.env,
    });
    assert.equal(r.code, 0, r.stderr);
  }
  return { ...h, vault: join(h.home, "vault.db") };
}

test("a record row deleted with plain SQL: audit verify and every command exit 6 (it used to say OK)", (t) => {
  const h = homeWithTwoRecords();
  t.after(() => rmSync(h.home, { recursive: true, force: true }));
  assert.equal(rekey(["audit", "verify"], { env: h.env }).code, 0);
  const db = new Database(h.vault);
  db.exec("DELETE FROM records WHERE rowid = (SELECT MAX(rowid) FROM records)");
  db.close();
  const verify = rekey(["audit", "verify"], { env: h.env });
  assert.equal(verify.code, 6, verify.stderr);
  assert.match(verify.stderr, /failed its integrity check: .*records \(1 live, the head signed 2\)/);
  assert.equal(rekey(["record", "get", "alice", "login"], { env: h.env }).code, 6);
});

test("audit head, then the whole file rolled back: --expect-head, --head-file and REKEY_EXPECT_HEAD_FILE exit 6", (t) => {
  const h = homeWithTwoRecords();
  t.after(() => rmSync(h.home, { recursive: true, force: true }));
  const old = readFileSync(h.vault);
  const edit = rekey(["record", "edit", "alice", "--set", "login=alice2"], { env: h.env });
  assert.equal(edit.code, 0, edit.stderr);
  const head = rekey(["audit", "head"], { env: h.env });
  assert.equal(head.code, 0, head.stderr);
  const line = head.stdout.trim();
  assert.match(line, HEAD_RE);
  const ok = rekey(["audit", "verify", "--expect-head", line], { env: h.env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /vault OK: every row matches the signed head/);

  writeFileSync(h.vault, old); // the older copy: consistent in itself, so only the anchor shows it
  assert.equal(rekey(["audit", "verify"], { env: h.env }).code, 0);
  const rolled = rekey(["audit", "verify", "--expect-head", line], { env: h.env });
  assert.equal(rolled.code, 6, rolled.stderr);
  assert.match(rolled.stderr, /older than the expected head's/);
  const headFile = join(h.home, "kept-elsewhere.head");
  writeFileSync(headFile, `${line}\n`);
  const byFile = rekey(["audit", "verify", "--head-file", headFile], { env: h.env });
  assert.equal(byFile.code, 6, byFile.stderr);
  assert.match(byFile.stderr, /does not match head file/);
  const env = { ...h.env, REKEY_EXPECT_HEAD_FILE: headFile };
  const get = rekey(["record", "get", "alice", "login"], { env });
  assert.equal(get.code, 6, get.stderr);
  assert.equal(get.stdout, "");
});

test("REKEY_EXPECT_HEAD_FILE follows every write", (t) => {
  const h = homeWithTwoRecords();
  t.after(() => rmSync(h.home, { recursive: true, force: true }));
  const anchor = join(h.home, "anchor.head");
  const env = { ...h.env, REKEY_EXPECT_HEAD_FILE: anchor };
  assert.equal(rekey(["record", "edit", "bob", "--set", "login=bob2"], { env }).code, 0);
  const line = readFileSync(anchor, "utf8").trim();
  assert.equal(line, rekey(["audit", "head"], { env: h.env }).stdout.trim());
  assert.equal(rekey(["record", "get", "bob", "login"], { env }).stdout, "bob2\n");
});
