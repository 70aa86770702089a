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
 * command, each holding the functions that command compiled.
 */
export function codeCacheFileName(name: string, source: string): string {
  const key = createHash("sha256")
    .update(`${process.versions.node} ${process.versions.v8} ${process.arch}\0`)
    .update(source)
    .digest("hex")
    .slice(0, 32);
  return `${name}-${key}.v8`;
}

/** The cache name for one CLI run: `cli-` and the command's first word, or `cli` (options, a typo). */
export function cliCacheName(argv: readonly string[]): string {
  const word = argv[0];
  // Only a word shaped like a command name reaches a file name: never an option's value (a vault URL).
  return word !== undefined && /^[a-z][a-z-]{0,23}$/.test(word) ? `cli-${word}` : "cli";
}

const MAGIC = Buffer.from("rekey-v8-cache-1\n");
const DIGEST_BYTES = 32;

/**
 * V8's data framed as MAGIC, SHA-256(data), data. V8 checks a code cache's version, flags and length but, in
 * release builds, not a checksum of its content: a flipped byte can crash the process (V8_Fatal in the
 * deserializer) or run wrong code. The digest is checked before V8 sees the data.
 */
export function frameCodeCache(data: Buffer): Buffer {
  return Buffer.concat([MAGIC, createHash("sha256").update(data).digest(), data]);
}

/** The data inside a frame, or undefined when the frame is truncated, foreign or damaged. */
export function unframeCodeCache(file: Buffer): Buffer | undefined {
  const head = MAGIC.length + DIGEST_BYTES;
  if (file.length <= head || !file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const data = file.subarray(head);
  const digest = createHash("sha256").update(data).digest();
  return digest.equals(file.subarray(MAGIC.length, head)) ? data : undefined;
}
