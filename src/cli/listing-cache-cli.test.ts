/**
 * The listing cache through the real CLI: `record list` and `status` write it under $REKEY_HOME/cache/listing
 * (0700 directory, 0600 file, nothing readable in it), a change made by another command shows at once, the
 * answers are the bytes of a run without the cache, and REKEY_LISTING_CACHE=0 writes nothing.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freshHome, rekey } from "../testing/cli.js";

test("record list and status through the listing cache: same bytes, changes seen at once, off with REKEY_LISTING_CACHE=0", () => {
  const { home, env } = freshHome();
  const ok = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = rekey(args, { env: { ...env, ...extra } });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  ok(["record", "add", "--type", "pamUser", "--title", "cache-alice", "--set", "login=cache-login-alice"]);
  ok(["record", "add", "--type", "pamUser", "--title", "cache-bob", "--set", "login=cache-login-bob"]);
  ok(["record", "add", "--type", "login", "--title", "cache-web", "--set", "login=cache-login-web"]);

  // A copy of the vault as it is, to list it without any cache afterwards.
  const plain = mkdtempSync(join(tmpdir(), "rekey-nocache-"));
  cpSync(home, plain, { recursive: true });
  const plainEnv = { REKEY_HOME: plain, REKEY_KEY_FILE: join(plain, "vault.key"), REKEY_LISTING_CACHE: "0" };

  const dir = join(home, "cache", "listing");
  const first = ok(["record", "list", "--json"]);
  const files = readdirSync(dir);
  assert.equal(files.length, 1, "one cache file for the vault");
  const file = join(dir, files[0]!);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const bytes = readFileSync(file);
  for (const needle of ["cache-alice", "cache-login-alice", "cache-web"]) {
    assert.equal(bytes.includes(needle), false, `${needle} is sealed`);
  }
  const second = ok(["record", "list", "--json"]);
  assert.equal(second, first, "from the cache: the same bytes");
  assert.ok(readFileSync(file).equals(bytes), "an unchanged listing does not rewrite the file");

  const list = (e: NodeJS.ProcessEnv, args: string[]) => {
    const r = rekey(args, { env: e });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  assert.equal(first, list(plainEnv, ["record", "list", "--json"]), "the bytes of a listing without cache");
  const status = ok(["status", "--json"]);
  assert.equal(ok(["status", "--json"]), status);
  assert.equal(
    status.replace(/"keyAgeDays": \d+/g, ""),
    list(plainEnv, ["status", "--json"]).replace(/"keyAgeDays": \d+/g, ""),
    "status: the bytes of a status without cache",
  );
  assert.equal(existsSync(join(plain, "cache")), false, "REKEY_LISTING_CACHE=0 writes no cache");

  // Another command changes a record: the next listing shows it (read from the vault, not the cache).
  ok(["record", "edit", "cache-bob", "--title", "cache-robert", "--set", "login=cache-login-robert"]);
  const after = JSON.parse(ok(["record", "list", "--json"])) as Array<{ title: string; revision: number }>;
  assert.deepEqual(
    after.map((r) => [r.title, r.revision]),
    [
      ["cache-alice", 1],
      ["cache-robert", 2],
      ["cache-web", 1],
    ],
  );
  const users = JSON.parse(ok(["status", "--json"])) as Array<{ title: string; user: string }>;
  assert.deepEqual(
    users.map((u) => [u.title, u.user]),
    [
      ["cache-alice", "cache-login-alice"],
      ["cache-robert", "cache-login-robert"],
    ],
  );
  ok(["record", "rm", "cache-alice"]);
  const left = JSON.parse(ok(["record", "list", "--json"])) as Array<{ title: string }>;
  assert.deepEqual(
    left.map((r) => r.title),
    ["cache-robert", "cache-web"],
  );

  // A bad value is refused before anything runs, naming the variable.
  const bad = rekey(["record", "list"], { env: { ...env, REKEY_LISTING_CACHE: "sometimes" } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /REKEY_LISTING_CACHE/);
});

test("import csv leaves the listing cache up to date: the next listing does not rewrite it", () => {
  const { home, env } = freshHome();
  const csv = join(home, "users.csv");
  writeFileSync(
    csv,
    Array.from({ length: 30 }, (_, i) => `,imported-${i},svc-imported-${i},dummy,,,,$type,pamUser\n`).join(
      "",
    ),
  );
  const imported = rekey(["import", "csv", csv], { env });
  assert.equal(imported.code, 0, imported.stderr);
  const dir = join(home, "cache", "listing");
  const files = readdirSync(dir);
  assert.equal(files.length, 1, "import csv wrote the cache");
  const before = readFileSync(join(dir, files[0]!));
  const list = rekey(["record", "list", "--json"], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.equal((JSON.parse(list.stdout) as unknown[]).length, 30);
  assert.ok(readFileSync(join(dir, files[0]!)).equals(before), "the listing found it current");
});
