/**
 * A V8 code cache for rekey's bundles, kept between runs. A cold rekey spent most of its time parsing and
 * compiling its bundle (the AWS SDK most of all), and Node 20 has no `module.enableCompileCache` (Node >= 22.1)
 * nor a code cache for ES modules. So the CLI (dist/cli/main.cjs) and the Keeper script's payload are
 * CommonJS bundles compiled here through `vm.Script` with `cachedData`: the first run compiles from source and,
 * at exit, stores `script.createCachedData()`; taken after the run, it holds the functions the run compiled
 * lazily too. Later runs deserialize it instead of parsing.
 *
 * Which run writes it: one that found none (or a damaged or refused one), and one that succeeded (exit code 0)
 * using a cache from a run that did not: a first run that failed early (bad input, no credentials) compiled
 * little, and its cache would otherwise stay thin for every later rotation.
 *
 * The cache is code, so it is treated as such: it lives in the user's own cache directory (codeCacheDir:
 * created 0700, files 0600), and a directory or file not owned by this user, or open to others, is neither
 * read nor written. Files are written whole (a temp file, then rename) and framed with a digest that is
 * checked before V8 sees them (format.ts). A cache that is missing, damaged, or rejected by V8 (another Node,
 * other V8 flags) only costs speed: the source is compiled and the cache rewritten; a directory that cannot
 * be written costs speed too, never the run. No secret reaches it: V8's data holds compiled code and the
 * source's own literals, not values computed while running.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { Script } from "node:vm";
import {
  type CodeCacheData,
  codeCacheDir,
  codeCacheFileName,
  codeCacheFileNameForDigest,
  frameCodeCache,
  unframeCodeCache,
} from "./format.js";

export interface CodeCacheOptions {
  /** Which bundle (and command): the cache file's name starts with it (format.ts). */
  name: string;
  /** Shown in stack traces. */
  filename: string;
  /** Where the cache directory is found (XDG_CACHE_HOME, else the home directory). */
  env: NodeJS.ProcessEnv;
  /** The parameter names of the function the source is wrapped in (a CommonJS module's, or none). */
  params: readonly string[];
  /** How the source was decoded from its file (start.ts reads the ASCII bundle as latin1): the key's bytes. */
  sourceEncoding?: "utf8" | "latin1" | undefined;
  /** The source's SHA-256 (hex), when the caller has it already: the key is made from it (format.ts). */
  sourceSha256?: string | undefined;
}

/**
 * What the cache did on this run: `used` (V8 took it), `compiled` (none yet: compiled from source),
 * `rejected` (V8 refused it: another Node or other V8 flags), `off` (no cache directory).
 */
export type CodeCacheState = "used" | "compiled" | "rejected" | "off";

/** Whether to write the cache at exit, given what this run found and how it ends. */
export function saveAtExitWanted(state: CodeCacheState, foundComplete: boolean, exitCode: number): boolean {
  if (state === "compiled" || state === "rejected") return true;
  return state === "used" && !foundComplete && exitCode === 0;
}

export interface CompiledWithCache {
  /** The wrapped source as a function: the caller runs it. */
  fn: (...args: unknown[]) => unknown;
  state: CodeCacheState;
  /** Made by a run that succeeded (false when none was found). */
  foundComplete: boolean;
  /** Stores the cache now, marked complete or not (false if it could not); at exit: saveAtExitWanted. */
  save: (complete?: boolean) => boolean;
}

/**
 * `source` compiled as the body of a function taking `params`, through the code cache. The cache is written at
 * exit (saveAtExitWanted): after the run, so that it holds what the run compiled.
 */
export function compileWithCodeCache(
  source: string,
  opts: CodeCacheOptions & { saveAtExit?: boolean },
): CompiledWithCache {
  const dir = codeCacheDir(opts.env, home());
  const file =
    dir === undefined
      ? undefined
      : join(
          dir,
          opts.sourceSha256 !== undefined
            ? codeCacheFileNameForDigest(opts.name, opts.sourceSha256)
            : codeCacheFileName(opts.name, source, opts.sourceEncoding),
        );
  const found = file === undefined ? undefined : readCodeCache(file);
  const cached = found?.data;
  // Wrapped on the source's first line: line numbers in stack traces stay those of the bundle.
  const script = new Script(`(function (${opts.params.join(", ")}) {${source}\n})`, {
    filename: opts.filename,
    ...(cached ? { cachedData: cached } : {}),
  });
  const state: CodeCacheState =
    file === undefined
      ? "off"
      : cached === undefined
        ? "compiled"
        : script.cachedDataRejected
          ? "rejected"
          : "used";
  const foundComplete = state === "used" && found?.complete === true;
  const save = (complete = true) =>
    dir !== undefined && file !== undefined && writeCodeCache(dir, file, script.createCachedData(), complete);
  if (opts.saveAtExit !== false && state !== "off" && !foundComplete) {
    process.once("exit", (code) => {
      if (saveAtExitWanted(state, foundComplete, code)) save(code === 0);
    });
  }
  return { fn: script.runInThisContext() as (...args: unknown[]) => unknown, state, foundComplete, save };
}

function home(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/** Only this user's, and only theirs: another user who could write the cache could run code as this one. */
function ownedAndPrivate(st: Stats): boolean {
  const uid = process.getuid?.();
  return uid === undefined || (st.uid === uid && (st.mode & 0o077) === 0);
}

function privateDir(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && ownedAndPrivate(st);
  } catch {
    return false;
  }
}

function readCodeCache(file: string): CodeCacheData | undefined {
  let fd: number;
  try {
    // No symlink followed: the file must be the one this user wrote.
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedAndPrivate(st) || !privateDir(join(file, ".."))) return undefined;
    return unframeCodeCache(readFileSync(fd));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Writes the cache whole, or not at all; false when it could not (read-only, foreign directory...). */
function writeCodeCache(dir: string, file: string, data: Buffer, complete: boolean): boolean {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!privateDir(dir)) return false;
    writeFileSync(tmp, frameCodeCache(data, complete), { mode: 0o600, flag: "wx" });
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // a directory we cannot write in holds no temp file of ours
    }
    return false;
  }
  pruneOlder(dir, basename(file));
  return true;
}

/**
 * The same bundle's caches for other builds or Node versions, once a day old: an upgrade leaves the old one
 * behind. Not at once: two installs of rekey run in turn by one user would rewrite each other's cache on
 * every run.
 */
function pruneOlder(dir: string, keep: string): void {
  const prefix = keep.slice(0, keep.lastIndexOf("-") + 1);
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  try {
    for (const name of readdirSync(dir)) {
      if (name === keep || !name.startsWith(prefix)) continue;
      if (!/^[0-9a-f]{32}\.v8$/.test(name.slice(prefix.length))) continue;
      const file = join(dir, name);
      if (lstatSync(file).mtimeMs < dayAgo) rmSync(file, { force: true });
    }
  } catch {
    // only disk space
  }
}
