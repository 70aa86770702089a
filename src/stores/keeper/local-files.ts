/**
 * File helpers of the Keeper local state (local-state.ts, local-history.ts): atomic writes (temp file, fsync,
 * rename, fsync dir, each fsync as the caller's crash safety needs it), a cross-process mutex (an exclusive
 * mkdir), tolerant reads.
 */

import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  writeSync,
} from "node:fs";
import { resolve } from "node:path";
import { conflict } from "../../errors.js";
import { parseJsonSafely } from "../../json.js";

const GUARD_STALE_MS = 10_000;
const GUARD_WAIT_MS = 5_000;

export const sha = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * How much of a write must survive a crash (power loss, kernel panic; a killed process loses nothing the
 * kernel was given). Each fsync costs ~1 ms on an idle disk and tens of ms on a busy one, and a Keeper
 * rotation made ~33 of them: each caller says which it needs, and why, where it writes.
 * - "durable": the new content, in place (fsync the file, rename, fsync the directory).
 * - "content": after a crash the file holds either the old content or the whole new one, never a torn or
 *   empty file (fsync the file before the rename), but the rename itself may be lost: the old one may be back.
 * - "none": no fsync. After a crash the file may be missing, empty or torn: for what a crash makes moot.
 * Every kind replaces the file atomically for other processes (temp file, then rename).
 */
export type Durability = "durable" | "content" | "none";

export function writeFileAtomic(path: string, text: string, durability: Durability = "durable"): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, text);
    if (durability !== "none") fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (durability === "durable") fsyncDir(resolve(path, ".."));
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

export function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return parseJsonSafely(text, path, { kind: "integrity", hint: "remove it if no rotation is in progress" });
}

/** Run `fn` holding a cross-process mutex (an exclusive mkdir); a guard left by a dead process goes stale. */
export function withGuard<T>(path: string, fn: () => T): T {
  const deadline = Date.now() + GUARD_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(path, { mode: 0o700 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(path).mtimeMs > GUARD_STALE_MS) rmdirSync(path);
      } catch {
        // gone meanwhile: retry
      }
      if (Date.now() > deadline) {
        throw conflict(
          `${path} stayed busy for ${GUARD_WAIT_MS} ms`,
          "another rekey process is working here; retry",
        );
      }
      sleepSync(5);
    }
  }
  try {
    return fn();
  } finally {
    try {
      rmdirSync(path);
    } catch {
      // already removed as stale by someone else: nothing to do
    }
  }
}

export function readJsonText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
