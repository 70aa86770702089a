/**
 * The Keeper script's code cache (script-loader.ts): written in the user's cache directory and never beside
 * the script, used when present, and only a matter of speed when absent, damaged or unwritable.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
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
import { after, before, test } from "node:test";
import { unframeCodeCache } from "../code-cache/format.js";
import { bundleInTempDir } from "../testing/keeper-script.js";

let bundle: ReturnType<typeof bundleInTempDir>;
const homes: string[] = [];
before(() => {
  bundle = bundleInTempDir();
});
after(() => {
  bundle?.cleanup();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

function freshUserHome(): string {
  const h = mkdtempSync(join(tmpdir(), "rekey-script-home-"));
  homes.push(h);
  return h;
}

/** `--help` (the whole script compiled and run, no Keeper needed) and a bad line (exit 2), as the Gateway. */
function runBoth(home: string) {
  const env = { PATH: process.env.PATH, HOME: home };
  const help = spawnSync(process.execPath, [bundle.script, "--help"], {
    cwd: bundle.dir,
    env,
    encoding: "utf8",
  });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: node rekey-aws-access-key\.cjs/);
  const bad = spawnSync(process.execPath, [bundle.script], {
    cwd: bundle.dir,
    env,
    input: "%%% not base64 %%%\n",
    encoding: "utf8",
  });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /^rekey: the Gateway input on stdin is not base64[^\n]*\n$/);
}

/** The rotation's cache (the bad-line run's: --help has its own, keeper-script-help-...). */
const cacheFile = (home: string) => {
  const dir = join(home, ".cache", "rekey", "code-cache");
  const files = readdirSync(dir);
  assert.deepEqual(files.map((f) => f.replace(/-[0-9a-f]{32}\.v8$/, "")).sort(), [
    "keeper-script",
    "keeper-script-help",
  ]);
  return { dir, file: join(dir, files.find((f) => /^keeper-script-[0-9a-f]{32}\.v8$/.test(f))!) };
};

test("the cache goes to ~/.cache/rekey/code-cache (0600 in 0700), nothing beside the script; then it is used", () => {
  const home = freshUserHome();
  runBoth(home);
  const { dir, file } = cacheFile(home);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(bundle.dir), ["rekey-aws-access-key.cjs"]);
  // The bad line's run exited 2: its cache is marked incomplete, used, and kept until a run succeeds.
  assert.equal(unframeCodeCache(readFileSync(file))?.complete, false);
  const first = statSync(file);
  runBoth(home);
  assert.equal(statSync(file).mtimeMs, first.mtimeMs, "used, not rewritten by another failed run");
});

test("XDG_CACHE_HOME, when set, is the cache's place", () => {
  const home = freshUserHome();
  const xdg = freshUserHome();
  const r = spawnSync(process.execPath, [bundle.script, "--help"], {
    cwd: bundle.dir,
    env: { PATH: process.env.PATH, HOME: home, XDG_CACHE_HOME: xdg },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(readdirSync(join(xdg, "rekey", "code-cache")).join(), /^keeper-script-help-[0-9a-f]{32}\.v8$/);
  assert.deepEqual(readdirSync(home), []);
});

test("a damaged cache: the script runs and the cache is rewritten whole", () => {
  const home = freshUserHome();
  runBoth(home);
  const { file } = cacheFile(home);
  const size = statSync(file).size;
  truncateSync(file, Math.floor(size / 2));
  runBoth(home);
  assert.ok(unframeCodeCache(readFileSync(file)) !== undefined);
  writeFileSync(file, Buffer.alloc(size, 0x7f), { mode: 0o600 });
  runBoth(home);
  assert.ok(unframeCodeCache(readFileSync(file)) !== undefined);
});

test("no usable cache directory (no home, a read-only one): the script runs", () => {
  runBoth("/nonexistent");
  const home = freshUserHome();
  chmodSync(home, 0o500);
  try {
    runBoth(home);
  } finally {
    chmodSync(home, 0o700);
  }
});
