import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Script } from "node:vm";
import {
  cliCacheName,
  codeCacheDir,
  codeCacheFileName,
  codeCacheFileNameForDigest,
  frameCodeCache,
  keeperCacheName,
  unframeCodeCache,
} from "./format.js";
import { compileWithCodeCache, saveAtExitWanted } from "./run.js";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
function tempRoot(): string {
  const r = mkdtempSync(join(tmpdir(), "rekey-code-cache-"));
  roots.push(r);
  return r;
}

// A source with enough functions for V8 to have something to cache, different per test (no shared file).
let n = 0;
function source(): string {
  n++;
  const fns = Array.from({ length: 50 }, (_, i) => `function f${i}(x) { return x * ${i} + ${n}; }`).join(
    "\n",
  );
  return `${fns}\nmodule.exports.sum = (x) => [${Array.from({ length: 50 }, (_, i) => `f${i}(x)`).join(", ")}].reduce((a, b) => a + b, 0);`;
}

function compile(src: string, env: NodeJS.ProcessEnv) {
  const c = compileWithCodeCache(src, {
    name: "test",
    filename: "test.cjs",
    env,
    params: ["module"],
    saveAtExit: false,
  });
  const module = { exports: {} as { sum?: (x: number) => number } };
  c.fn(module);
  return { ...c, sum: module.exports.sum! };
}

const expectedSum = (x: number, k: number) =>
  Array.from({ length: 50 }, (_, i) => x * i + k).reduce((a, b) => a + b);

describe("format", () => {
  test("the cache directory: XDG_CACHE_HOME when absolute, else ~/.cache, else none", () => {
    assert.equal(codeCacheDir({ XDG_CACHE_HOME: "/x/cache" }, "/home/a"), "/x/cache/rekey/code-cache");
    assert.equal(codeCacheDir({ XDG_CACHE_HOME: "relative" }, "/home/a"), "/home/a/.cache/rekey/code-cache");
    assert.equal(codeCacheDir({}, "/home/a"), "/home/a/.cache/rekey/code-cache");
    assert.equal(codeCacheDir({}, undefined), undefined);
    assert.equal(codeCacheDir({}, ""), undefined);
  });

  test("a file name per source: same source same name, any change another", () => {
    const a = codeCacheFileName("cli-rotate", "var a = 1;");
    assert.match(a, /^cli-rotate-[0-9a-f]{32}\.v8$/);
    assert.equal(codeCacheFileName("cli-rotate", "var a = 1;"), a);
    assert.notEqual(codeCacheFileName("cli-rotate", "var a = 2;"), a); // same length: V8 alone would accept it
  });

  test("a name from a digest computed beforehand (the Keeper script's build): one name per digest", () => {
    const digest = createHash("sha256").update("var a = 1;").digest("hex");
    const a = codeCacheFileNameForDigest("keeper-script", digest);
    assert.match(a, /^keeper-script-[0-9a-f]{32}\.v8$/);
    assert.equal(codeCacheFileNameForDigest("keeper-script", digest), a);
    const other = createHash("sha256").update("var a = 2;").digest("hex");
    assert.notEqual(codeCacheFileNameForDigest("keeper-script", other), a);
    assert.notEqual(codeCacheFileNameForDigest("keeper-script-check", digest), a);
  });

  test("the cache is keyed by sourceSha256 when given: a source hashed once, at build time", () => {
    const env = { XDG_CACHE_HOME: join(tempRoot(), "cache") };
    const src = "return 40 + 2;";
    const digest = createHash("sha256").update(src).digest("hex");
    const compile = () =>
      compileWithCodeCache(src, {
        name: "test",
        filename: "t.js",
        env,
        params: [],
        sourceSha256: digest,
        saveAtExit: false,
      });
    const first = compile();
    assert.equal(first.fn(), 42);
    assert.ok(first.save());
    assert.deepEqual(readdirSync(codeCacheDir(env, undefined)!), [
      codeCacheFileNameForDigest("test", digest),
    ]);
    const again = compile();
    assert.equal(again.state, "used");
    assert.equal(again.fn(), 42);
  });

  test("the name is the hash of the file's bytes: the same whether its text was read as utf8 or latin1", () => {
    const bytes = Buffer.from('var s = "\u00e9t\u00e9";\n', "utf8"); // a non-ASCII file
    const utf8 = codeCacheFileName("cli", bytes.toString("utf8"));
    assert.equal(codeCacheFileName("cli", bytes.toString("latin1"), "latin1"), utf8);
    const ascii = Buffer.from("var a = 1;\n");
    assert.equal(
      codeCacheFileName("cli", ascii.toString("latin1"), "latin1"),
      codeCacheFileName("cli", "var a = 1;\n"),
    );
  });

  test("one cache per command word; anything else (an option, a value, a title) shares `cli`", () => {
    assert.equal(cliCacheName(["rotate", "alice"]), "cli-rotate");
    assert.equal(cliCacheName(["record", "get", "x"]), "cli-record");
    assert.equal(cliCacheName(["--vault", "postgres://u:pw@h/db", "rotate"]), "cli");
    assert.equal(cliCacheName(["Alice's key"]), "cli");
    assert.equal(cliCacheName(["../../etc"]), "cli");
    assert.equal(cliCacheName([]), "cli");
    // help compiles little: its own cache, not the command's
    assert.equal(cliCacheName(["rotate", "--help"]), "cli-help");
    assert.equal(cliCacheName(["help", "rotate"]), "cli-help");
  });

  test("the Keeper script's rotation has its own cache name, apart from --help and --check", () => {
    assert.equal(keeperCacheName([]), "keeper-script");
    assert.equal(keeperCacheName(["--ksm-config", "/x.json", "--json"]), "keeper-script");
    assert.equal(keeperCacheName(["--help"]), "keeper-script-help");
    assert.equal(keeperCacheName(["-h"]), "keeper-script-help");
    assert.equal(keeperCacheName(["--check", "--record", "UID"]), "keeper-script-check");
  });

  test("written at exit: when none was usable, or when a run succeeds on a failed run's cache", () => {
    for (const code of [0, 1, 2]) {
      assert.equal(saveAtExitWanted("compiled", false, code), true);
      assert.equal(saveAtExitWanted("rejected", false, code), true);
      assert.equal(saveAtExitWanted("used", true, code), false);
      assert.equal(saveAtExitWanted("off", false, code), false);
    }
    assert.equal(saveAtExitWanted("used", false, 0), true);
    assert.equal(saveAtExitWanted("used", false, 1), false);
  });

  test("a frame round-trips; truncated, foreign or flipped frames are refused", () => {
    const data = Buffer.from("some compiled code".repeat(100));
    const framed = frameCodeCache(data);
    assert.deepEqual(unframeCodeCache(framed), { data, complete: true });
    assert.deepEqual(unframeCodeCache(frameCodeCache(data, false)), { data, complete: false });
    const flagFlipped = frameCodeCache(data, false);
    flagFlipped["rekey-v8-cache-2\n".length]! ^= 1; // "incomplete" turned "complete" by damage: refused
    assert.equal(unframeCodeCache(flagFlipped), undefined);
    assert.equal(unframeCodeCache(framed.subarray(0, framed.length - 1)), undefined);
    assert.equal(unframeCodeCache(framed.subarray(0, 10)), undefined);
    assert.equal(unframeCodeCache(Buffer.from("garbage".repeat(50))), undefined);
    assert.equal(unframeCodeCache(data), undefined);
    const flipped = Buffer.from(framed);
    flipped[flipped.length - 5]! ^= 0xff;
    assert.equal(unframeCodeCache(flipped), undefined);
  });
});

describe("compileWithCodeCache", () => {
  test("compiled, saved 0600 in a 0700 directory, then used", () => {
    const env = { XDG_CACHE_HOME: join(tempRoot(), "cache") };
    const src = source();
    const first = compile(src, env);
    assert.equal(first.state, "compiled");
    assert.equal(first.sum(2), expectedSum(2, n));
    assert.equal(first.save(), true);
    const dir = codeCacheDir(env, undefined)!;
    const files = readdirSync(dir);
    assert.deepEqual(files, [codeCacheFileName("test", src)]);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);

    const second = compile(src, env);
    assert.equal(second.state, "used");
    assert.equal(second.sum(3), expectedSum(3, n));
  });

  test("a truncated or garbage cache file is not used, the run succeeds, the cache is rewritten", () => {
    const env = { XDG_CACHE_HOME: join(tempRoot(), "cache") };
    const src = source();
    assert.equal(compile(src, env).save(), true);
    const file = join(codeCacheDir(env, undefined)!, codeCacheFileName("test", src));
    const good = readFileSync(file);
    for (const damage of [
      () => truncateSync(file, Math.floor(good.length / 2)),
      () => writeFileSync(file, Buffer.alloc(good.length, 0x5a)),
      () => {
        const flipped = Buffer.from(good);
        flipped[Math.floor(flipped.length * 0.8)]! ^= 0xff; // V8 alone would crash on some such flips
        writeFileSync(file, flipped);
      },
    ]) {
      damage();
      const run = compile(src, env);
      assert.equal(run.state, "compiled");
      assert.equal(run.sum(1), expectedSum(1, n));
      assert.equal(run.save(), true);
      assert.ok(unframeCodeCache(readFileSync(file)) !== undefined, "rewritten whole");
      assert.equal(compile(src, env).state, "used");
    }
  });

  test("a cache V8 refuses (another script's, under this one's name) is replaced", () => {
    const env = { XDG_CACHE_HOME: join(tempRoot(), "cache") };
    const src = source();
    const dir = codeCacheDir(env, undefined)!;
    const file = join(dir, codeCacheFileName("test", src));
    // Another script's valid V8 cache, framed, under this file's name: V8 checks its own fields and refuses it.
    // (Written before `src` is first compiled: V8 reuses a script compiled earlier in the same process.)
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, frameCodeCache(new Script("var zz = 1;").createCachedData()), { mode: 0o600 });
    const run = compile(src, env);
    assert.equal(run.state, "rejected");
    assert.equal(run.sum(4), expectedSum(4, n));
    assert.equal(run.save(), true);
    assert.notEqual(
      unframeCodeCache(readFileSync(file))?.data.length,
      new Script("var zz = 1;").createCachedData().length,
    );
  });

  test("saving prunes the same name's caches for other builds once a day old, not younger ones", () => {
    const env = { XDG_CACHE_HOME: join(tempRoot(), "cache") };
    const dir = codeCacheDir(env, undefined)!;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const old = join(dir, `test-${"a".repeat(32)}.v8`);
    const recent = join(dir, `test-${"b".repeat(32)}.v8`);
    const otherName = join(dir, `test-more-${"c".repeat(32)}.v8`);
    for (const f of [old, recent, otherName]) writeFileSync(f, "x", { mode: 0o600 });
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    utimesSync(otherName, twoDaysAgo, twoDaysAgo);
    const src = source();
    assert.equal(compile(src, env).save(), true);
    assert.deepEqual(
      readdirSync(dir).sort(),
      [codeCacheFileName("test", src), `test-${"b".repeat(32)}.v8`, `test-more-${"c".repeat(32)}.v8`].sort(),
    );
  });

  test("an unwritable cache location costs only the cache", () => {
    const root = tempRoot();
    writeFileSync(join(root, "a-file"), "");
    const env = { XDG_CACHE_HOME: join(root, "a-file", "cache") }; // under a regular file: cannot be created
    const run = compile(source(), env);
    assert.equal(run.state, "compiled");
    assert.equal(run.sum(5), expectedSum(5, n));
    assert.equal(run.save(), false);
  });

  test("a read-only cache directory: the run succeeds, the cache is used when present", () => {
    const env = { XDG_CACHE_HOME: join(tempRoot(), "cache") };
    const src = source();
    assert.equal(compile(src, env).save(), true);
    const dir = codeCacheDir(env, undefined)!;
    chmodSync(dir, 0o500);
    try {
      assert.equal(compile(src, env).state, "used");
      const other = compile(source(), env);
      assert.equal(other.sum(6), expectedSum(6, n));
      // root writes anyway; anyone else cannot, and is not stopped by it
      if (process.getuid?.() !== 0) assert.equal(other.save(), false);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  test("a cache directory or file open to others is neither read nor written", () => {
    const env = { XDG_CACHE_HOME: join(tempRoot(), "cache") };
    const src = source();
    assert.equal(compile(src, env).save(), true);
    const dir = codeCacheDir(env, undefined)!;
    const file = join(dir, codeCacheFileName("test", src));
    chmodSync(file, 0o644);
    assert.equal(compile(src, env).state, "compiled");
    chmodSync(file, 0o600);
    chmodSync(dir, 0o777);
    assert.equal(compile(src, env).state, "compiled");
    assert.equal(compile(src, env).save(), false);
    chmodSync(dir, 0o700);
    assert.equal(compile(src, env).state, "used");
  });

  test("a cache directory owned by another user is neither read nor written", {
    skip: process.getuid?.() !== 0 && "needs root to chown",
  }, () => {
    const env = { XDG_CACHE_HOME: join(tempRoot(), "cache") };
    const src = source();
    assert.equal(compile(src, env).save(), true);
    const dir = codeCacheDir(env, undefined)!;
    chownSync(dir, 12345, 12345);
    assert.equal(compile(src, env).state, "compiled");
    assert.equal(compile(src, env).save(), false);
  });
});
