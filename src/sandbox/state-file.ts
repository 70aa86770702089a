/**
 * Reading seed and state files, and persisting the state across restarts.
 *
 * Invariants (the state file holds secret access keys and session tokens):
 * - it is written to a temporary file in the same directory, created with mode 0600, fsynced, then
 *   renamed over the old one, so a crash leaves either the old or the new state, never half of one;
 * - writes are serialised and coalesced: a burst of mutations costs one write, not one each.
 */

import { randomBytes } from "node:crypto";
import { chmod, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { RekeyError } from "../errors.js";
import { parseJsonSafely } from "../json.js";
import { parseDocument, type SandboxDocument } from "./document.js";

/** Reads and validates a sandbox document; undefined when `missingOk` and the file does not exist. */
export async function readDocumentFile(
  path: string,
  missingOk = false,
): Promise<SandboxDocument | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (missingOk && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new RekeyError("usage", `cannot read sandbox file ${path}: ${(err as Error).message}`, {
      hint: "check the path given to --seed / --state",
      cause: err,
    });
  }
  const json = parseJsonSafely(text, `sandbox file ${path}`, {
    hint: "fix the JSON syntax, or delete a corrupted state file to start afresh",
  });
  return parseDocument(json, `sandbox file ${path}`);
}

/** Writes `text` to `path` atomically with mode 0600. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    // The umask cannot widen 0600, but be explicit: the file holds secrets.
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Persists snapshots to `path`: `schedule()` after a change, `flush()` before exit. A write starts
 * at most every `intervalMs`; a change during a write triggers one more.
 */
export class StatePersister {
  readonly path: string;
  readonly #snapshot: () => SandboxDocument;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;

  constructor(
    path: string,
    snapshot: () => SandboxDocument,
    opts: { intervalMs?: number; onError?: (err: unknown) => void } = {},
  ) {
    this.path = path;
    this.#snapshot = snapshot;
    this.#intervalMs = opts.intervalMs ?? 50;
    this.#onError = opts.onError ?? (() => {});
  }

  schedule(): void {
    this.#dirty = true;
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#write();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  #write(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      try {
        await writeFileAtomic(this.path, `${JSON.stringify(this.#snapshot(), null, 2)}\n`);
      } catch (err) {
        this.#onError(err);
      }
    });
    return this.#writing;
  }

  /** Writes any pending change now and waits for it. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.#write();
  }
}
