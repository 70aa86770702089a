/**
 * File helpers of the Keeper local state (local-state.ts, local-history.ts): atomic writes (temp file, fsync,
 * rename, fsync dir), a cross-process mutex (an exclusive mkdir), tolerant reads.
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

export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(resolve(path, ".."));
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
