import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freshHome, rekey } from "../testing/cli.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1";

function ok(r: { code: number; stderr: string; stdout: string }, what: string) {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

test("template → import → convert → show/get: the seed's PAM User flow", () => {
  const { home, env } = freshHome();
  const tpl = ok(rekey(["template", "aws-user", "--login", "alice"], { env }), "template");
  const csvFile = join(home, "template.csv");
  writeFileSync(csvFile, tpl.stdout);
  ok(rekey(["import", "csv", csvFile], { env }), "import");
  const title = "AWS IAM user access key (template)";
  ok(rekey(["record", "convert", title, "--type", "pamUser"], { env }), "convert");
  const shown = JSON.parse(ok(rekey(["record", "show", title, "--json"], { env }), "show").stdout);
  assert.equal(shown.type, "pamUser");
  assert.equal(rekey(["record", "get", title, "login"], { env }).stdout, "alice\n");
  assert.equal(rekey(["record", "get", title, "NOOP"], { env }).stdout, "True\n");
  assert.equal(rekey(["record", "get", title, "Private Key Type"], { env }).stdout, "rsa-ssh\n");
  const labels = shown.custom.map((f: { label: string; type: string }) => `${f.label}:${f.type}`);
  for (const l of [
    "aws_access_key_id:text",
    "aws_secret_access_key:secret",
    "CreateDate:text",
    "Access_Key_ID_Removed_during_previous_rotation:text",
    "delete_all_keys_before_rotating:text",
  ]) {
    assert.ok(labels.includes(l), `${l} in ${labels}`);
  }
});

test("secrets come from stdin, are masked by show, revealed on request, kept in history", () => {
  const { env } = freshHome();
  ok(
    rekey(
      [
        "record",
        "add",
        "--title",
        "alice (AWS)",
        "--set",
        "login=alice",
        "--secret",
        "aws_secret_access_key",
      ],
      {
        env,
        input: `${SECRET}\n`,
      },
    ),
    "add",
  );
  const masked = ok(rekey(["record", "show", "alice (AWS)"], { env }), "show");
  assert.ok(!masked.stdout.includes(SECRET), "show masks secrets");
  assert.match(masked.stdout, /aws_secret_access_key \(secret\): \*+/);
  const revealed = ok(rekey(["record", "show", "alice (AWS)", "--reveal"], { env }), "reveal");
  assert.ok(revealed.stdout.includes(SECRET));
  assert.equal(
    rekey(["record", "get", "alice (AWS)", "aws_secret_access_key"], { env }).stdout,
    `${SECRET}\n`,
  );
  ok(
    rekey(["record", "edit", "alice (AWS)", "--secret", "aws_secret_access_key"], {
      env,
      input: "NEWSECRET-2\n",
    }),
    "edit",
  );
  const hist = JSON.parse(
    ok(rekey(["record", "history", "alice (AWS)", "--json"], { env }), "history").stdout,
  );
  assert.deepEqual(
    hist.map((h: { version: number }) => h.version),
    [1, 2],
  );
  const v1 = JSON.parse(
    ok(rekey(["record", "history", "alice (AWS)", "--version", "1", "--reveal", "--json"], { env }), "v1")
      .stdout,
  );
  assert.ok(JSON.stringify(v1).includes(SECRET), "the rotated-out secret is kept in history");
  const v1masked = ok(rekey(["record", "history", "alice (AWS)", "--version", "1"], { env }), "v1 masked");
  assert.ok(!v1masked.stdout.includes(SECRET));
});

test("a secret on the command line is refused", () => {
  const { env } = freshHome();
  const r = rekey(["record", "add", "--title", "x", "--set", "aws_secret_access_key=abc"], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not accepted on the command line/);
  assert.match(r.stderr, /--secret aws_secret_access_key/);
});

test("bad input: clear error, non-zero exit, nothing changed", () => {
  const { home, env } = freshHome();
  ok(rekey(["record", "add", "--title", "dup"], { env }), "add 1");
  ok(rekey(["record", "add", "--title", "dup"], { env }), "add 2");
  const before = ok(rekey(["record", "list", "--json"], { env }), "list").stdout;

  const unknown = rekey(["record", "show", "nope"], { env });
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /no record with UID or title "nope"/);
  assert.match(unknown.stderr, /rekey record list/);

  const ambiguous = rekey(["record", "show", "dup"], { env });
  assert.equal(ambiguous.code, 4);
  assert.match(ambiguous.stderr, /ambiguous: 2 records/);
  assert.match(ambiguous.stderr, /by its UID/);

  const csv = join(home, "bad.csv");
  writeFileSync(csv, ",good,u,p,,,\n,,u,p,,,\n");
  const badCsv = rekey(["import", "csv", csv], { env });
  assert.equal(badCsv.code, 2);
  assert.match(badCsv.stderr, /line 2: the title .* is empty; nothing was imported/);

  const second = rekey(["init"], { env: { ...env, REKEY_PASSPHRASE: "x" } });
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, /already exists/);

  assert.equal(ok(rekey(["record", "list", "--json"], { env }), "list").stdout, before, "nothing changed");
});

test("wrong passphrase, no passphrase without a TTY, not a vault", () => {
  const home = mkdtempSync(join(tmpdir(), "rekey-cli-"));
  const env = { REKEY_HOME: home, REKEY_PASSPHRASE: "right passphrase" };
  ok(rekey(["init"], { env }), "init");
  assert.equal(statSync(join(home, "vault.db")).mode & 0o777, 0o600, "vault file is 0600");
  const wrong = rekey(["record", "list"], { env: { REKEY_HOME: home, REKEY_PASSPHRASE: "wrong" } });
  assert.equal(wrong.code, 5);
  assert.match(wrong.stderr, /wrong passphrase/i);
  const none = rekey(["record", "list"], { env: { REKEY_HOME: home } });
  assert.equal(none.code, 5);
  assert.match(none.stderr, /REKEY_PASSPHRASE/);

  const other = mkdtempSync(join(tmpdir(), "rekey-cli-"));
  writeFileSync(join(other, "vault.db"), "this is not a database at all, just text ".repeat(100));
  chmodSync(join(other, "vault.db"), 0o600);
  const notVault = rekey(["record", "list"], { env: { REKEY_HOME: other, REKEY_PASSPHRASE: "x" } });
  assert.notEqual(notVault.code, 0);
  assert.match(notVault.stderr, /not a rekey vault/);
  assert.equal(readFileSync(join(other, "vault.db"), "utf8").slice(0, 12), "this is not ", "left untouched");
});

test("export csv writes a 0600 file and round-trips through import", () => {
  const { home, env } = freshHome();
  ok(rekey(["folder", "add", "Ops"], { env }), "folder");
  ok(
    rekey(
      [
        "record",
        "add",
        "--title",
        "bob",
        "--folder",
        "Ops",
        "--set",
        "login=bob",
        "--secret",
        "aws_secret_access_key",
      ],
      {
        env,
        input: `${SECRET}\n`,
      },
    ),
    "add",
  );
  const out = join(home, "export.csv");
  ok(rekey(["export", "csv", "--out", out], { env }), "export");
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.ok(readFileSync(out, "utf8").includes(SECRET));
  const again = rekey(["export", "csv", "--out", out], { env });
  assert.equal(again.code, 4, "never overwrites");

  const other = freshHome();
  ok(rekey(["import", "csv", out], { env: other.env }), "import");
  const a = JSON.parse(rekey(["record", "show", "bob", "--json", "--reveal"], { env }).stdout);
  const b = JSON.parse(rekey(["record", "show", "bob", "--json", "--reveal"], { env: other.env }).stdout);
  for (const k of ["uid", "revision", "folderUid"]) {
    delete a[k];
    delete b[k];
  }
  assert.deepEqual(b, a);
  const folders = JSON.parse(rekey(["folder", "list", "--json"], { env: other.env }).stdout);
  assert.deepEqual(
    folders.map((f: { name: string; shared: boolean }) => [f.name, f.shared]),
    [["Ops", true]],
  );
});

test("audit list shows events without secrets, and verify passes", () => {
  const { env } = freshHome();
  ok(rekey(["record", "add", "--title", "t", "--secret", "password"], { env, input: `${SECRET}\n` }), "add");
  const list = ok(rekey(["audit", "list", "--json"], { env }), "audit list");
  assert.ok(!list.stdout.includes(SECRET));
  const actions = JSON.parse(list.stdout).map((e: { action: string }) => e.action);
  assert.ok(actions.includes("record.create"), String(actions));
  assert.match(ok(rekey(["audit", "verify"], { env }), "verify").stdout, /OK/);
});

test("tampered ciphertext and an edited audit entry: integrity errors (exit 6), the file is left as it is", async () => {
  const { home, env } = freshHome();
  ok(rekey(["record", "add", "--title", "t", "--secret", "password"], { env, input: `${SECRET}\n` }), "add");
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(join(home, "vault.db"));
  const row = db.prepare("SELECT uid, revision, body FROM record_versions").get() as {
    uid: string;
    revision: number;
    body: Buffer;
  };
  const body = Buffer.from(row.body);
  body[body.length - 20] = (body[body.length - 20] ?? 0) ^ 0xff;
  db.prepare("UPDATE record_versions SET body = ? WHERE uid = ? AND revision = ?").run(
    body,
    row.uid,
    row.revision,
  );
  db.close();
  const shown = rekey(["record", "show", row.uid], { env });
  assert.equal(shown.code, 6, shown.stderr);
  assert.match(shown.stderr, new RegExp(row.uid));
  assert.ok(!shown.stderr.includes(SECRET));

  const other = freshHome();
  ok(rekey(["record", "add", "--title", "a"], { env: other.env }), "add");
  const db2 = new Database(join(other.home, "vault.db"));
  db2.exec("UPDATE audit SET actor = 'mallory' WHERE seq = (SELECT MIN(seq) FROM audit)");
  db2.close();
  const verify = rekey(["audit", "verify"], { env: other.env });
  assert.equal(verify.code, 6);
  assert.match(verify.stderr, /audit log is broken at entry \d+/);
});

test("vault add-key-file: a passphrase vault gains a 0600 key file that unlocks it alone; twice (asked to use it) changes nothing", () => {
  const home = mkdtempSync(join(tmpdir(), "rekey-cli-"));
  const env = { REKEY_HOME: home, REKEY_PASSPHRASE: "right passphrase" };
  ok(rekey(["init"], { env }), "init");
  ok(rekey(["record", "add", "--title", "kf", "--set", "login=kf"], { env }), "add");
  const keyFile = join(home, "keys", "vault.key");
  const noKeyFile = { REKEY_HOME: home, REKEY_KEY_FILE: keyFile };
  assert.equal(rekey(["record", "list"], { env: noKeyFile }).code, 5, "the key file does not unlock it yet");

  const added = ok(rekey(["vault", "add-key-file", keyFile], { env }), "add-key-file");
  assert.match(added.stdout, /created \(mode 0600\) now unlocks the vault: set REKEY_KEY_FILE=/);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.match(ok(rekey(["record", "list"], { env: noKeyFile }), "list by key file").stdout, /kf/);
  assert.match(ok(rekey(["record", "list"], { env }), "list by passphrase").stdout, /kf/);

  const again = ok(
    rekey(["vault", "add-key-file", keyFile, "--use-existing-key-file", "--json"], { env }),
    "again",
  );
  assert.deepEqual(JSON.parse(again.stdout), { keyFile, created: false, added: false });
  const audit = JSON.parse(ok(rekey(["audit", "list", "--json"], { env }), "audit").stdout) as Array<{
    action: string;
  }>;
  assert.equal(
    audit.filter((e) => e.action === "vault.keyslot.add").length,
    1,
    "one slot added, audited once",
  );

  // A key file others can read is refused, and nothing is added.
  const loose = join(home, "loose.key");
  writeFileSync(loose, "x".repeat(64));
  chmodSync(loose, 0o644);
  const refused = rekey(["vault", "add-key-file", loose, "--use-existing-key-file"], { env });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /chmod 600/);
});
