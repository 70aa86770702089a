/** `rekey --vault V COMMAND` is REKEY_VAULT=V for that command. The built CLI in child processes. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { rekey } from "../testing/cli.js";

test("--vault picks the vault for one command, before the command name; a bad one is refused", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "rekey-vault-flag-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = join(dir, "k");
  const env = { REKEY_HOME: join(dir, "home"), REKEY_KEY_FILE: keyFile };
  const init = rekey(["--vault", join(dir, "other.db"), "init", "--no-passphrase", "--key-file", keyFile], {
    env,
  });
  assert.equal(init.code, 0, init.stderr);
  const add = rekey(["--vault", join(dir, "other.db"), "record", "add", "--type", "login", "--title", "x"], {
    env,
  });
  assert.equal(add.code, 0, add.stderr);
  const listed = rekey(["--vault", join(dir, "other.db"), "record", "list", "--json"], { env });
  assert.deepEqual(
    JSON.parse(listed.stdout).map((r: { title: string }) => r.title),
    ["x"],
  );
  // Without the flag: REKEY_HOME's vault, which does not exist.
  assert.equal(rekey(["record", "list"], { env }).code, 3);
  const bad = rekey(["--vault", "mysql://db/x", "status"], { env });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /REKEY_VAULT|vault/);
});
