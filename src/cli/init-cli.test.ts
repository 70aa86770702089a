/** `rekey init` and `rekey vault add-key-file` at the trust boundary: whose key file, and which passphrase. */
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { rekey } from "../testing/cli.js";

const PASSPHRASE = "correct horse battery staple";
const NOBODY = 65534;
const asRoot = { skip: process.getuid?.() !== 0 ? "chown needs root" : false };

function home() {
  return mkdtempSync(join(tmpdir(), "rekey-init-"));
}

test("init: an existing key file is used only with --use-existing-key-file", () => {
  const h = home();
  const keyFile = join(h, "vault.key");
  const first = rekey(["init", "--key-file", keyFile], {
    env: { REKEY_HOME: join(h, "a"), REKEY_PASSPHRASE: PASSPHRASE },
  });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /created, mode 0600/);
  const before = readFileSync(keyFile, "utf8");

  const env = { REKEY_HOME: join(h, "b"), REKEY_PASSPHRASE: PASSPHRASE };
  const refused = rekey(["init", "--key-file", keyFile], { env });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /key file .*vault\.key already exists/);
  assert.match(refused.stderr, /--use-existing-key-file/);
  assert.equal(existsSync(join(h, "b", "vault.db")), false, "no vault made");
  // Through REKEY_KEY_FILE too.
  const viaEnv = rekey(["init", "--no-passphrase"], {
    env: { REKEY_HOME: join(h, "b"), REKEY_KEY_FILE: keyFile },
  });
  assert.equal(viaEnv.code, 2, viaEnv.stderr);

  const used = rekey(["init", "--key-file", keyFile, "--use-existing-key-file"], { env });
  assert.equal(used.code, 0, used.stderr);
  assert.match(used.stdout, /existing, used as asked/);
  assert.equal(readFileSync(keyFile, "utf8"), before, "never overwritten");
  const list = rekey(["record", "list"], { env: { REKEY_HOME: join(h, "b"), REKEY_KEY_FILE: keyFile } });
  assert.equal(list.code, 0, list.stderr);
});

test("vault add-key-file: an existing key file is used only with --use-existing-key-file", () => {
  const h = home();
  const env = { REKEY_HOME: h, REKEY_PASSPHRASE: PASSPHRASE };
  assert.equal(rekey(["init"], { env }).code, 0);
  const other = home();
  const keyFile = join(other, "other.key");
  const made = rekey(["init", "--key-file", keyFile], {
    env: { REKEY_HOME: other, REKEY_PASSPHRASE: PASSPHRASE },
  });
  assert.equal(made.code, 0, made.stderr);

  const refused = rekey(["vault", "add-key-file", keyFile], { env });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /already exists.*\n.*--use-existing-key-file/);
  assert.equal(rekey(["record", "list"], { env: { REKEY_HOME: h, REKEY_KEY_FILE: keyFile } }).code, 5);

  const used = rekey(["vault", "add-key-file", keyFile, "--use-existing-key-file"], { env });
  assert.equal(used.code, 0, used.stderr);
  assert.equal(rekey(["record", "list"], { env: { REKEY_HOME: h, REKEY_KEY_FILE: keyFile } }).code, 0);
});

test(
  "a key file owned by another user is refused by init, add-key-file and REKEY_KEY_FILE (exit 2)",
  asRoot,
  () => {
    const h = home();
    const keyFile = join(h, "vault.key");
    const env = { REKEY_HOME: join(h, "v"), REKEY_PASSPHRASE: PASSPHRASE };
    assert.equal(rekey(["init", "--key-file", keyFile], { env }).code, 0);
    chownSync(keyFile, NOBODY, NOBODY);

    const open = rekey(["record", "list"], { env: { REKEY_HOME: join(h, "v"), REKEY_KEY_FILE: keyFile } });
    assert.equal(open.code, 2, open.stderr);
    assert.match(open.stderr, /key file .*vault\.key belongs to another user \(uid 65534/);

    const init = rekey(["init", "--key-file", keyFile, "--use-existing-key-file"], {
      env: { REKEY_HOME: join(h, "w"), REKEY_PASSPHRASE: PASSPHRASE },
    });
    assert.equal(init.code, 2, init.stderr);
    assert.match(init.stderr, /belongs to another user/);
    assert.equal(existsSync(join(h, "w", "vault.db")), false);

    const add = rekey(["vault", "add-key-file", keyFile, "--use-existing-key-file"], { env });
    assert.equal(add.code, 2, add.stderr);
    assert.match(add.stderr, /belongs to another user/);
  },
);

test("a key file in a directory others can write is refused; REKEY_KEY_FILE readable by others too", () => {
  const h = home();
  const shared = join(h, "shared");
  mkdirSync(shared, { mode: 0o700 });
  const keyFile = join(shared, "vault.key");
  const env = { REKEY_HOME: join(h, "v"), REKEY_PASSPHRASE: PASSPHRASE };
  assert.equal(rekey(["init", "--key-file", keyFile], { env }).code, 0);
  const byKey = { REKEY_HOME: join(h, "v"), REKEY_KEY_FILE: keyFile };

  chmodSync(shared, 0o777);
  const open = rekey(["record", "list"], { env: byKey });
  assert.equal(open.code, 2, open.stderr);
  assert.match(open.stderr, /in a directory other users can write to .*mode 0777/);
  const init = rekey(["init", "--key-file", join(shared, "new.key")], {
    env: { REKEY_HOME: join(h, "w"), REKEY_PASSPHRASE: PASSPHRASE },
  });
  assert.equal(init.code, 2, init.stderr);
  assert.equal(existsSync(join(shared, "new.key")), false);

  chmodSync(shared, 0o1777); // sticky, like /tmp: a file we own cannot be replaced by others
  assert.equal(rekey(["record", "list"], { env: byKey }).code, 0);

  chmodSync(shared, 0o700);
  chmodSync(keyFile, 0o640);
  const readable = rekey(["record", "list"], { env: byKey });
  assert.equal(readable.code, 2, readable.stderr);
  assert.match(readable.stderr, /accessible by other users \(mode 0640\)[\s\S]*chmod 600/);
});

test("init refuses a trivially weak passphrase (exit 2), from REKEY_PASSPHRASE", () => {
  for (const [weak, why] of [
    ["short pw", /shorter than 12 characters/],
    ["aaaaaaaaaaaaaaaa", /one character repeated/],
    ["12345678901234", /only digits/],
    ["Password1234", /common password/],
  ] as const) {
    const h = home();
    const r = rekey(["init"], { env: { REKEY_HOME: h, REKEY_PASSPHRASE: weak } });
    assert.equal(r.code, 2, `${weak}: ${r.stderr}`);
    assert.match(r.stderr, /passphrase for the new vault .* is too weak/);
    assert.match(r.stderr, why);
    assert.ok(!r.stderr.includes(weak), "the passphrase is not quoted");
    assert.equal(existsSync(join(h, "vault.db")), false);
  }
  const h = home();
  assert.equal(rekey(["init"], { env: { REKEY_HOME: h, REKEY_PASSPHRASE: PASSPHRASE } }).code, 0);
});
