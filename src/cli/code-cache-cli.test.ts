/**
 * The CLI through its code cache (code-cache/run.ts), as a user runs it: the cache absent, present, damaged,
 * unwritable; its files private; and no secret ever in it.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { unframeCodeCache } from "../code-cache/format.js";
import { freshHome, rekey } from "../testing/cli.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYcodecache42";
const PASSPHRASE = "correct horse battery staple"; // freshHome's

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A vault with one record holding SECRET, and an empty cache home of its own. */
function setup() {
  const { env } = freshHome();
  const cacheHome = mkdtempSync(join(tmpdir(), "rekey-cli-cache-"));
  roots.push(cacheHome);
  const withCache = { ...env, XDG_CACHE_HOME: cacheHome };
  const add = rekey(["record", "add", "--title", "alice", "--set", "login=alice", "--secret", "password"], {
    env: withCache,
    input: `${SECRET}\n`,
  });
  assert.equal(add.code, 0, add.stderr);
  return { env: withCache, dir: join(cacheHome, "rekey", "code-cache") };
}

const getSecret = (env: NodeJS.ProcessEnv) => {
  const r = rekey(["record", "get", "alice", "password"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${SECRET}\n`);
};

const recordCache = (dir: string) => {
  const files = readdirSync(dir).filter((f) => f.startsWith("cli-record-"));
  assert.equal(files.length, 1, `one cache for \`rekey record\`: ${readdirSync(dir)}`);
  return join(dir, files[0]!);
};

test("the first run writes the cache (0600 in 0700), later runs use it as is; no secret is in it", () => {
  const { env, dir } = setup();
  getSecret(env);
  const file = recordCache(dir);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  assert.ok(unframeCodeCache(readFileSync(file)) !== undefined);

  const before = statSync(file);
  getSecret(env);
  getSecret(env);
  const now = statSync(file);
  assert.equal(now.ino, before.ino, "a cache V8 accepted is not rewritten");
  assert.equal(now.mtimeMs, before.mtimeMs);

  // Compiled code only: neither the record's secret nor the vault's passphrase, in any encoding V8 uses.
  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, f));
    for (const s of [SECRET, PASSPHRASE]) {
      for (const enc of ["utf8", "utf16le"] as const) {
        assert.equal(bytes.indexOf(Buffer.from(s, enc)), -1, `${f} holds a secret (${enc})`);
      }
    }
  }
});

test("a first run that fails leaves a cache marked incomplete; the next successful run replaces it", () => {
  const { env: base } = setup();
  const cacheHome = mkdtempSync(join(tmpdir(), "rekey-cli-cache-"));
  roots.push(cacheHome);
  const env = { ...base, XDG_CACHE_HOME: cacheHome };
  const dir = join(cacheHome, "rekey", "code-cache");
  const miss = rekey(["record", "get", "no such record", "password"], { env });
  assert.notEqual(miss.code, 0);
  const file = recordCache(dir);
  assert.equal(unframeCodeCache(readFileSync(file))?.complete, false);
  const failed = statSync(file);
  getSecret(env);
  const replaced = statSync(file);
  assert.notEqual(replaced.ino, failed.ino, "rewritten by the first successful run");
  assert.equal(unframeCodeCache(readFileSync(file))?.complete, true);
  getSecret(env);
  assert.equal(statSync(file).ino, replaced.ino, "then used as is");
});

test("a truncated or garbage cache: the run succeeds and the cache is rewritten whole", () => {
  const { env, dir } = setup();
  getSecret(env);
  const file = recordCache(dir);
  const size = statSync(file).size;
  for (const damage of [
    () => truncateSync(file, Math.floor(size / 3)),
    () => writeFileSync(file, Buffer.alloc(size, 0x41), { mode: 0o600 }),
  ]) {
    damage();
    getSecret(env);
    assert.ok(unframeCodeCache(readFileSync(file)) !== undefined, "rewritten");
    getSecret(env);
  }
});

test("no cache can be written (under a file, or a read-only directory): rekey runs as before", () => {
  const { env } = setup();
  const root = mkdtempSync(join(tmpdir(), "rekey-cli-cache-"));
  roots.push(root);
  writeFileSync(join(root, "file"), "");
  getSecret({ ...env, XDG_CACHE_HOME: join(root, "file") });
  getSecret({ ...env, XDG_CACHE_HOME: join(root, "file") });

  chmodSync(root, 0o500);
  try {
    const ro = { ...env, XDG_CACHE_HOME: join(root, "ro") };
    getSecret(ro);
    getSecret(ro);
  } finally {
    chmodSync(root, 0o700);
  }
});

test("a cache directory open to others is not used (rekey runs, writes nothing there)", () => {
  const { env, dir } = setup();
  chmodSync(dir, 0o777);
  for (const f of readdirSync(dir)) rmSync(join(dir, f));
  getSecret(env);
  assert.deepEqual(readdirSync(dir), []);
});

test("`rekey --version` (answered before the bundle loads) prints package.json's version, as -V does", () => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as {
    version: string;
  };
  for (const flag of ["--version", "-V"]) {
    const r = rekey([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${pkg.version}\n`);
  }
});
