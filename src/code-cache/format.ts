/**
 * The code cache's pure decisions: where it lives, what a cache file is named, and the frame around V8's
 * data. See run.ts for why rekey keeps one and how it is used.
 */
import { createHash } from "node:crypto";
import { isAbsolute, join } from "node:path";

/**
 * The per-user cache directory: $XDG_CACHE_HOME/rekey/code-cache, else ~/.cache/rekey/code-cache; undefined
 * without a usable home (then nothing is cached). A relative XDG_CACHE_HOME is ignored, as the spec says.
 */
export function codeCacheDir(env: NodeJS.ProcessEnv, home: string | undefined): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "rekey", "code-cache");
  if (home && isAbsolute(home)) return join(home, ".cache", "rekey", "code-cache");
  return undefined;
}

/**
 * A cache file's name: `<name>-<key>.v8`, the key a hash of the source and of what V8's data depends on (Node
 * and V8 versions, architecture). V8 itself checks only the source's LENGTH: a rebuilt bundle of the same
 * length would run the old code. `name` says which bundle and which command (e.g. `cli-rotate`): one cache per
 * command, each holding the functions that command compiled. `encoding`: how `source` was read from its file
 * (latin1 for an ASCII bundle, start.ts), so that the key is the hash of the file's bytes either way.
 */
export function codeCacheFileName(
  name: string,
  source: string,
  encoding: "utf8" | "latin1" = "utf8",
): string {
  const key = createHash("sha256")
    .update(`${process.versions.node} ${process.versions.v8} ${process.arch}\0`)
    .update(source, encoding)
    .digest("hex")
    .slice(0, 32);
  return `${name}-${key}.v8`;
}

/**
 * The same name from the source's SHA-256 (hex) computed beforehand: the Keeper script's build hashes its
 * payload once (scripts/build.mjs) and writes the digest beside it, so that a start does not hash the 1.1 MB
 * payload again. Any rebuild that changes the payload changes the digest, hence the name, as with
 * codeCacheFileName.
 */
export function codeCacheFileNameForDigest(name: string, sourceSha256: string): string {
  const key = createHash("sha256")
    .update(`${process.versions.node} ${process.versions.v8} ${process.arch}\0sha256:${sourceSha256}`)
    .digest("hex")
    .slice(0, 32);
  return `${name}-${key}.v8`;
}

const HELP = new Set(["--help", "-h", "help"]);

/**
 * The cache name for one CLI run: `cli-` and the command's first word, or `cli` (options, a typo), or
 * `cli-help`: a help run compiles little of a command, and would leave its cache thin for the real runs.
 */
export function cliCacheName(argv: readonly string[]): string {
  if (argv.some((a) => HELP.has(a))) return "cli-help";
  const word = argv[0];
  // Only a word shaped like a command name reaches a file name: never an option's value (a vault URL).
  return word !== undefined && /^[a-z][a-z-]{0,23}$/.test(word) ? `cli-${word}` : "cli";
}

/** The Keeper script's cache name: the rotation (what the Gateway runs) apart from --help and --check. */
export function keeperCacheName(argv: readonly string[]): string {
  if (argv.some((a) => a === "--help" || a === "-h")) return "keeper-script-help";
  if (argv.includes("--check")) return "keeper-script-check";
  return "keeper-script";
}

const MAGIC = Buffer.from("rekey-v8-cache-2\n");
const DIGEST_BYTES = 32;

/** A cache's data, and whether the run that made it succeeded (see run.ts). */
export interface CodeCacheData {
  data: Buffer;
  /** Made by a run that exited 0: it compiled all a successful run needs. */
  complete: boolean;
}

function digestOf(flag: Buffer, data: Buffer): Buffer {
  return createHash("sha256").update(flag).update(data).digest();
}

/**
 * V8's data framed as MAGIC, a flag byte (complete), SHA-256(flag, data), data. V8 checks a code cache's
 * version, flags and length but, in release builds, not a checksum of its content: a flipped byte can crash
 * the process (V8_Fatal in the deserializer) or run wrong code. The digest is checked before V8 sees it.
 */
export function frameCodeCache(data: Buffer, complete = true): Buffer {
  const flag = Buffer.from([complete ? 1 : 0]);
  return Buffer.concat([MAGIC, flag, digestOf(flag, data), data]);
}

/** What a frame holds, or undefined when it is truncated, foreign or damaged. */
export function unframeCodeCache(file: Buffer): CodeCacheData | undefined {
  const head = MAGIC.length + 1 + DIGEST_BYTES;
  if (file.length <= head || !file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const flag = file.subarray(MAGIC.length, MAGIC.length + 1);
  const data = file.subarray(head);
  if (!digestOf(flag, data).equals(file.subarray(MAGIC.length + 1, head))) return undefined;
  return { data, complete: flag[0] === 1 };
}
