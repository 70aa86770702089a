/**
 * `rekey vault backup`, `rekey vault restore` and `rekey record restore`, run as a user runs them (the bundled
 * CLI in child processes) on real vaults in temp dirs, with other processes writing to or locking the vault.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { newLockOwner } from "../stores/sqlite/sqlite-locks.js";
import { openVault } from "../stores/sqlite/sqlite-open.js";
import { freshHome, rekey, rekeyAsync, spawnNode } from "../testing/cli.js";

interface Home {
  home: string;
  env: NodeJS.ProcessEnv;
  vault: string;
  keyFile: string;
}

function home(titles: string[] = ["alice", "bob", "carol"]): Home {
  const h = freshHome();
  for (const title of titles) {
    const r = rekey(["record", "add", "--type", "login", "--title", title, "--set", `login=${title}`], {
      env: h.env,
    });
    assert.equal(r.code, 0, r.stderr);
  }
  return { ...h, vault: join(h.home, "vault.db"), keyFile: h.env.REKEY_KEY_FILE! };
}

function cleanup(t: { after(fn: () => void): void }, ...homes: Home[]) {
  t.after(() => {
    for (const h of homes) rmSync(h.home, { recursive: true, force: true });
  });
}

const mode = (path: string) => statSync(path).mode & 0o777;

function backup(h: Home, file: string, ...extra: string[]) {
  const r = rekey(["vault", "backup", file, "--json", ...extra], { env: h.env });
  return {
    ...r,
    json:
      r.code === 0
        ? (JSON.parse(r.stdout) as { generation: number; records: number; head: string })
        : undefined,
  };
}

/** Run a rekey command on another vault file (a backup), unlocked as `h`'s vault. */
const onFile = (h: Home, file: string, args: string[]) =>
  rekey(args, { env: { ...h.env, REKEY_VAULT: `sqlite:${file}` } });

const get = (h: Home, record: string, field: string, env: NodeJS.ProcessEnv = h.env) =>
  rekey(["record", "get", record, field], { env });

test("backup while another process keeps writing: each copy is consistent, verifies, has the records, mode 0600", async (t) => {
  const h = home();
  cleanup(t, h);
  const uid = (
    JSON.parse(rekey(["record", "list", "--json"], { env: h.env }).stdout) as Array<{ uid: string }>
  )[0]!.uid;
  // A second process saving a record as fast as it can (each save is one write transaction + fsync).
  const writerCode = `
    const { openVault } = await import(process.env.OPEN_URL);
    const store = await openVault(process.env.VAULT, { keyFile: process.env.KEY_FILE });
    let n = 0;
    const tick = () => {
      for (let i = 0; i < 5; i++) {
        const s = store.getRecord(process.env.UID);
        store.saveRecord(s.uid, { ...s.record, notes: "edit " + ++n }, { expectedRevision: s.revision, actor: "writer" });
      }
      process.stdout.write(n + "\\n");
      setImmediate(tick);
    };
    tick();`;
  const writer = spawnNode(["--import", "tsx", "--input-type=module", "-e", writerCode], {
    env: {
      PATH: process.env.PATH,
      OPEN_URL: pathToFileURL(resolve(import.meta.dirname, "../stores/sqlite/sqlite-open.ts")).href,
      VAULT: h.vault,
      KEY_FILE: h.keyFile,
      UID: uid,
    },
    cwd: resolve(import.meta.dirname, "../.."),
    timeoutMs: 120_000,
  });
  const saves = () => Number(writer.output().stdout.trim().split("\n").at(-1) || 0);
  const files = [0, 1, 2].map((i) => join(h.home, `backup-${i}.db`));
  let during: number[];
  try {
    while (saves() === 0) {
      assert.equal(writer.child.exitCode, null, writer.output().stderr);
      await new Promise((ok) => setTimeout(ok, 20));
    }
    const results = [];
    during = [saves()];
    for (const f of files) {
      const r = await rekeyAsync(["vault", "backup", f, "--json"], { env: h.env });
      assert.equal(r.code, 0, r.stderr);
      results.push(JSON.parse(r.stdout) as { generation: number; records: number; file: string });
      during.push(saves());
    }
    assert.ok(during.at(-1)! > during[0]!, `the writer saved during the backups (${during.join(" → ")})`);
    for (const [i, r] of results.entries()) {
      assert.equal(r.file, files[i]);
      assert.equal(r.records, 3);
      if (i > 0) assert.ok(r.generation > results[i - 1]!.generation, "each copy is a later snapshot");
    }
    // A restore while the writer writes: its writes must not be lost, so the restore is refused whole.
    const restore = await rekeyAsync(["vault", "restore", files[0]!], { env: h.env });
    assert.equal(restore.code, 4, restore.stderr);
    assert.match(restore.stderr, /changed while it was being restored .*nothing was replaced/);
    assert.deepEqual(
      readdirSync(h.home).filter((n) => n.includes("before-restore") || n.endsWith(".tmp")),
      [],
    );
    const before = saves();
    while (saves() === before) await new Promise((ok) => setTimeout(ok, 20));
  } finally {
    writer.child.kill("SIGTERM");
    await writer.exited;
  }
  for (const f of files) {
    assert.equal(mode(f), 0o600, f);
    assert.ok(!existsSync(`${f}-wal`), "a copy is one file");
    const verify = onFile(h, f, ["audit", "verify"]);
    assert.equal(verify.code, 0, verify.stderr);
    const list = onFile(h, f, ["record", "list", "--json"]);
    assert.deepEqual(
      (JSON.parse(list.stdout) as Array<{ title: string }>).map((r) => r.title),
      ["alice", "bob", "carol"],
    );
  }
  const audit = JSON.parse(rekey(["audit", "list", "--json"], { env: h.env }).stdout) as Array<{
    action: string;
    details: { file?: string };
  }>;
  assert.deepEqual(
    audit.filter((e) => e.action === "vault.backup").map((e) => e.details.file),
    files,
  );
});

test("backup refuses an existing file unless --force, which replaces it whole; the live vault itself is refused", (t) => {
  const h = home(["alice"]);
  cleanup(t, h);
  const file = join(h.home, "b.db");
  const first = backup(h, file);
  assert.equal(first.code, 0, first.stderr);
  const bytes = readFileSync(file);
  const again = backup(h, file);
  assert.equal(again.code, 4, again.stderr);
  assert.match(again.stderr, /already exists; not overwriting it/);
  assert.ok(readFileSync(file).equals(bytes), "the existing file is untouched");
  assert.equal(rekey(["record", "edit", "alice", "--set", "login=alice2"], { env: h.env }).code, 0);
  const forced = backup(h, file, "--force");
  assert.equal(forced.code, 0, forced.stderr);
  assert.ok(forced.json!.generation > first.json!.generation);
  assert.equal(mode(file), 0o600);
  assert.equal(get(h, "alice", "login", { ...h.env, REKEY_VAULT: `sqlite:${file}` }).stdout, "alice2\n");
  assert.deepEqual(
    readdirSync(h.home).filter((n) => n.endsWith(".tmp")),
    [],
    "no temporary file is left",
  );
  const self = backup(h, h.vault, "--force");
  assert.equal(self.code, 2, self.stderr);
  assert.match(self.stderr, /is the live vault itself/);
});

test("restore refuses a tampered file, a corrupt file, a non-vault and a backup another key unlocks; nothing changes", (t) => {
  const h = home(["alice", "bob"]);
  const other = home(["mallory"]);
  cleanup(t, h, other);
  const good = join(h.home, "good.db");
  assert.equal(backup(h, good).code, 0);
  const vaultBytes = readFileSync(h.vault);

  const tampered = join(h.home, "tampered.db");
  writeFileSync(tampered, readFileSync(good));
  const db = new Database(tampered);
  db.exec("DELETE FROM records WHERE rowid = (SELECT MAX(rowid) FROM records)");
  db.close();
  const corrupt = join(h.home, "corrupt.db");
  const bytes = readFileSync(good);
  bytes.fill(0x5a, 4096, bytes.length - 4096); // the pages, not the header
  writeFileSync(corrupt, bytes);
  const notVault = join(h.home, "notes.txt");
  writeFileSync(notVault, "not a vault\n".repeat(100));
  const foreign = join(other.home, "other.db");
  assert.equal(backup(other, foreign).code, 0);

  const cases: Array<[string, string, number, RegExp]> = [
    ["tampered", tampered, 6, /failed its integrity check: .*records \(1 live, the head signed 2\)/],
    ["corrupt", corrupt, 6, /corrupt|not a rekey vault|integrity/],
    ["not a vault", notVault, 6, /is not a rekey vault/],
    [
      "another vault's backup",
      foreign,
      5,
      /does not unlock vault .*other\.db: the backup must open with the passphrase or key file given/,
    ],
  ];
  for (const [name, file, code, message] of cases) {
    const r = rekey(["vault", "restore", file], { env: h.env });
    assert.equal(r.code, code, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
  }
  assert.deepEqual(
    readdirSync(h.home).filter((n) => n.includes("before-restore") || n.endsWith(".tmp")),
    [],
    "nothing was kept or staged",
  );
  assert.equal(get(h, "bob", "login").stdout, "bob\n");
  assert.equal(rekey(["audit", "verify"], { env: h.env }).code, 0);
  assert.ok(readFileSync(h.vault).length >= vaultBytes.length);
});

test("restore while a gateway holds a lease is refused; --force restores and says what it overrode", async (t) => {
  const h = home(["alice"]);
  cleanup(t, h);
  const file = join(h.home, "b.db");
  assert.equal(backup(h, file).code, 0);
  const store = await openVault(h.vault, { keyFile: h.keyFile });
  const alice = store.findByTitle("alice")[0]!;
  // Held by this (live) test process, as the gateway's runner names its leases.
  const lease = store.tryLock(`gateway:${alice.uid}`, newLockOwner("rekey-gateway"), 60_000);
  assert.ok(lease);
  try {
    const refused = rekey(["vault", "restore", file], { env: h.env });
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`1 lock\\(s\\) held: gateway:${alice.uid} \\(held by rekey-gateway@`),
    );
    assert.match(refused.stderr, /Nothing was changed/);
    const forced = rekey(["vault", "restore", file, "--force"], { env: h.env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /warning: restored with --force although a gateway or a rotation is working/);
    // The lease is process state, not vault content: the holder still has it.
    assert.doesNotThrow(() => lease.renew());
  } finally {
    lease.release();
    store.close();
  }
});

test("restore refuses when the live vault holds a rotation journal the backup lacks; --force names its keys", async (t) => {
  const h = home(["alice"]);
  cleanup(t, h);
  const file = join(h.home, "b.db");
  assert.equal(backup(h, file).code, 0);
  const store = await openVault(h.vault, { keyFile: h.keyFile });
  const alice = store.findByTitle("alice")[0]!;
  const now = new Date().toISOString();
  const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYJOURNALSECRET";
  // A rotation between CreateAccessKey and the save: its new secret exists only in this journal entry.
  store.putJournal({
    id: "rot-1",
    recordUid: alice.uid,
    kind: "rotation",
    state: {
      v: 1,
      phase: "created",
      strategy: "create-then-delete",
      userName: "alice",
      actor: "test",
      startedAt: now,
      knownKeyIds: ["AKIAOLDKEY0000000001"],
      previousCurrentKeyId: "AKIAOLDKEY0000000001",
      deleteBefore: [],
      deleteAfter: [{ keyId: "AKIAOLDKEY0000000001", reason: "replaced" }],
      deactivateAfter: [],
      verify: false,
      removed: [],
      deactivated: [],
      newKey: { accessKeyId: "AKIANEWKEY0000000002", secret, createDate: now },
    },
  });
  store.close();
  const refused = rekey(["vault", "restore", file], { env: h.env });
  assert.equal(refused.code, 4, refused.stderr);
  assert.match(
    refused.stderr,
    /rotation journal entry rot-1 of record .* naming key\(s\) AKIANEWKEY0000000002, AKIAOLDKEY0000000001/,
  );
  assert.match(refused.stderr, /restoring would lose it/);
  const forced = rekey(["vault", "restore", file, "--force", "--json"], { env: h.env });
  assert.equal(forced.code, 0, forced.stderr);
  const out = JSON.parse(forced.stdout) as {
    lostJournalKeyIds: string[];
    forced: string[];
    beforeRestore: string;
  };
  assert.deepEqual(out.forced, ["journal-missing"]);
  assert.deepEqual(out.lostJournalKeyIds, ["AKIANEWKEY0000000002", "AKIAOLDKEY0000000001"]);
  for (const text of [refused.stdout, refused.stderr, forced.stdout, forced.stderr])
    assert.ok(!text.includes(secret));
  // The secret is still in the kept copy of the replaced vault.
  const kept = await openVault(out.beforeRestore, { keyFile: h.keyFile });
  try {
    assert.equal(kept.listJournal()[0]?.id, "rot-1");
  } finally {
    kept.close();
  }
});

test("restore keeps the replaced vault, lists records newer than the backup, audits, and resets REKEY_EXPECT_HEAD_FILE", (t) => {
  const h = home(["alice", "bob"]);
  cleanup(t, h);
  const anchor = join(h.home, "anchor.head");
  const env = { ...h.env, REKEY_EXPECT_HEAD_FILE: anchor };
  const file = join(h.home, "b.db");
  assert.equal(
    rekey(["record", "edit", "alice", "--set", "aws_access_key_id=AKIAKEYINBACKUP00001"], { env }).code,
    0,
  );
  assert.equal(rekey(["vault", "backup", file], { env }).code, 0);
  // After the backup: alice's key "rotates", bob is edited, carol is created.
  assert.equal(
    rekey(["record", "edit", "alice", "--set", "aws_access_key_id=AKIAKEYAFTERBACKUP02"], { env }).code,
    0,
  );
  assert.equal(rekey(["record", "edit", "bob", "--set", "login=bob2"], { env }).code, 0);
  assert.equal(rekey(["record", "add", "--type", "login", "--title", "carol"], { env }).code, 0);
  const oldHead = rekey(["audit", "head"], { env }).stdout.trim();

  const r = rekey(["vault", "restore", file], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /restored .*b\.db into .*vault\.db: 2 record\(s\)/);
  const before = /kept as (\S+) \(mode 0600\)/.exec(r.stdout)?.[1];
  assert.ok(before && existsSync(before), r.stdout);
  assert.match(before, /vault\.db\.before-restore-\d{8}T\d{6}Z$/);
  assert.equal(mode(before), 0o600);
  assert.match(r.stderr, /keys rotated after the backup was taken are not in the restored vault/);
  assert.match(r.stderr, /"alice" \S+: revision 3 replaced by backup revision 2; its key changed since/);
  assert.match(r.stderr, /"bob" \S+: revision 2 replaced by backup revision 1\n/);
  assert.match(r.stderr, /"carol" \S+: revision 1 replaced by not in the backup/);
  assert.match(r.stdout, /REKEY_EXPECT_HEAD_FILE .*anchor\.head now holds the restored head/);

  // The restored vault opens (with the reset head file), holds the backup's content, and passes audit verify.
  assert.equal(get(h, "alice", "aws_access_key_id", env).stdout, "AKIAKEYINBACKUP00001\n");
  assert.equal(get(h, "bob", "login", env).stdout, "bob\n");
  assert.equal(rekey(["record", "get", "carol", "login"], { env }).code, 3);
  assert.equal(rekey(["audit", "verify"], { env }).code, 0);
  // A head line taken before the restore sees the rollback, as it should.
  const rolled = rekey(["audit", "verify", "--expect-head", oldHead], { env: h.env });
  assert.equal(rolled.code, 6, rolled.stderr);
  const audit = JSON.parse(rekey(["audit", "list", "--json"], { env }).stdout) as Array<{
    action: string;
    details: Record<string, unknown>;
  }>;
  const restoreEvent = audit.find((e) => e.action === "vault.restore");
  assert.equal(restoreEvent?.details.beforeRestore, before);
  assert.equal(restoreEvent?.details.file, file);
  // The replaced vault is whole: it opens with the same key file and holds the newer key.
  const keptEnv = { ...h.env, REKEY_VAULT: `sqlite:${before}` };
  assert.equal(get(h, "alice", "aws_access_key_id", keptEnv).stdout, "AKIAKEYAFTERBACKUP02\n");
  assert.equal(rekey(["record", "show", "carol"], { env: keptEnv }).code, 0);
});

test("record restore brings back an old version as a new revision and keeps the current key state", (t) => {
  const h = home([]);
  cleanup(t, h);
  const add = rekey(
    [
      "record",
      "add",
      "--title",
      "alice",
      "--set",
      "login=alice",
      "--set",
      "aws_access_key_id=AKIAVERSIONONE000001",
      "--set",
      "rotation_strategy=graceful",
      "--set",
      "old_key_grace=7d",
      "--secret",
      "aws_secret_access_key",
    ],
    { env: h.env, input: "secret-one\n" },
  );
  assert.equal(add.code, 0, add.stderr);
  const edit = rekey(
    [
      "record",
      "edit",
      "alice",
      "--set",
      "rotation_strategy=create-then-delete",
      "--unset",
      "old_key_grace",
      "--set",
      "aws_access_key_id=AKIAVERSIONTWO000002",
      "--set",
      "aws_previous_access_key_id=AKIAVERSIONONE000001",
      "--set",
      "CreateDate=2025-06-01T00:00:00.000Z",
      "--secret",
      "aws_secret_access_key",
    ],
    { env: h.env, input: "secret-two\n" },
  );
  assert.equal(edit.code, 0, edit.stderr);

  const r = rekey(["record", "restore", "alice", "--version", "1"], { env: h.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /restored version 1 of "alice" \S+ as revision 3 \(revision 2 stays in its history\)/,
  );
  assert.match(r.stdout, /^changed: rotation_strategy, old_key_grace$/m);
  assert.match(
    r.stdout,
    /kept the current key state \(version 1 held older values\): aws_access_key_id, aws_secret_access_key, aws_previous_access_key_id, CreateDate/,
  );
  assert.ok(!r.stdout.includes("secret-"), "no value is printed");
  assert.equal(get(h, "alice", "rotation_strategy").stdout, "graceful\n");
  assert.equal(get(h, "alice", "old_key_grace").stdout, "7d\n");
  assert.equal(get(h, "alice", "aws_access_key_id").stdout, "AKIAVERSIONTWO000002\n");
  assert.equal(get(h, "alice", "aws_secret_access_key").stdout, "secret-two\n");
  assert.equal(get(h, "alice", "aws_previous_access_key_id").stdout, "AKIAVERSIONONE000001\n");
  const history = JSON.parse(
    rekey(["record", "history", "alice", "--json"], { env: h.env }).stdout,
  ) as Array<{
    version: number;
    actor: string;
  }>;
  assert.deepEqual(
    history.map((v) => [v.version, v.actor]),
    [
      [1, "rekey record add"],
      [2, "rekey record edit"],
      [3, "rekey record restore"],
    ],
  );

  const json = rekey(["record", "restore", "alice", "--version", "2", "--json"], { env: h.env });
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { revision: number; fieldsChanged: string[] };
  assert.equal(out.revision, 4);
  assert.deepEqual(out.fieldsChanged, ["rotation_strategy", "old_key_grace"]);

  const missing = rekey(["record", "restore", "alice"], { env: h.env });
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /--version is required/);
  const unknown = rekey(["record", "restore", "alice", "--version", "9"], { env: h.env });
  assert.equal(unknown.code, 3, unknown.stderr);
  assert.match(unknown.stderr, /has no version 9/);
  const bad = rekey(["record", "restore", "alice", "--version", "two"], { env: h.env });
  assert.equal(bad.code, 2, bad.stderr);
});
