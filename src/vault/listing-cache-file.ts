/**
 * The listing cache's file: a header (magic, format, a random file id) and then chunks, each a length and
 * one sealed block of up to CHUNK_LINES summary lines (listing-summary.ts) in listing order. A chunk is sealed
 * under the vault's listing key (vault-cipher.ts) and bound to the vault, the file id and its index, so a
 * chunk moved to another place or file does not open. The file is a cache: whatever is wrong with it (gone,
 * cut short, another format, not this vault's, modified) makes the reader stop there, and the records it
 * would have given are read from the vault instead.
 *
 * Rewritten only when the listing differs from it, and then from where it first differs: the chunks before
 * are copied as they are (same file id, same indexes), so a listing that changed near its end re-seals
 * little. Written to a temporary file beside it (mode 0600, in a 0700 directory) and renamed over it: a
 * reader sees the old file or the new one, never half of one.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { ListingCacheSource } from "./async-store.js";
import { parseSummaryLine, type SummaryEntry } from "./listing-summary.js";

const MAGIC = Buffer.from("rekey-listing-2\n", "latin1");
const ID_BYTES = 16;
const HEADER_BYTES = MAGIC.length + ID_BYTES;
/** Lines a chunk: big enough that sealing and parsing are a few large calls, small enough to stream. */
export const CHUNK_LINES = 1000;
/** A chunk larger than this is not one of ours (a damaged length): stop reading. */
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

type Sealer = Pick<ListingCacheSource, "name" | "seal" | "open">;

const chunkAad = (name: string, id: Buffer, index: number) =>
  JSON.stringify([name, id.toString("hex"), index]);

/** What a new file keeps of the old one: its first `bytes` (header and whole chunks) and some lines. */
export interface CachePrefix {
  id: Buffer;
  fd: number;
  bytes: number;
  /** The index of the next chunk. */
  index: number;
  /** The lines of the next chunk that the new file keeps (the old chunk's first ones). */
  lines: string[];
}

/** Reads a cache file's entries in order, a chunk at a time; stops (no more entries) at the first bad chunk. */
export class ListingCacheReader {
  readonly #fd: number;
  readonly #source: Sealer;
  readonly #id: Buffer;
  #offset = HEADER_BYTES;
  /** Each chunk read: where it starts, how many lines it holds. */
  readonly #chunks: Array<{ offset: number; lines: number }> = [];
  #entries: SummaryEntry[] = [];
  #at = 0;
  #ended = false;
  /** Why the reader stopped before the file's end, if it did ("cut short", "does not open", ...). */
  problem: string | undefined;
  /** Entries `take` went past (records deleted since) or gave, from the file's start. */
  consumed = 0;

  private constructor(fd: number, source: Sealer, id: Buffer) {
    this.#fd = fd;
    this.#source = source;
    this.#id = id;
  }

  /** The file's reader, or undefined when there is no file or it is not a listing cache of this format. */
  static open(file: string, source: Sealer): ListingCacheReader | undefined {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch {
      return undefined;
    }
    const header = Buffer.alloc(HEADER_BYTES);
    if (
      readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES ||
      !header.subarray(0, MAGIC.length).equals(MAGIC)
    ) {
      closeSync(fd);
      return undefined;
    }
    return new ListingCacheReader(fd, source, Buffer.from(header.subarray(MAGIC.length)));
  }

  /**
   * The entry at listing position `pos`, if the file has one there. Entries before it are passed over (records
   * deleted since); `consumed` counts both.
   */
  take(pos: number): SummaryEntry | undefined {
    for (;;) {
      const e = this.#peek();
      if (e === undefined || e.pos > pos) return undefined;
      this.#at++;
      this.consumed++;
      if (e.pos === pos) return e;
    }
  }

  /** Entries left after the last `take` (records deleted since, at the end of the listing). */
  get hasMore(): boolean {
    return this.#peek() !== undefined;
  }

  /**
   * What a new file may keep of this one when its first `entries` entries are this file's first ones: the
   * whole chunks they fill, as sealed, and the lines of the chunk they end in (read again if need be).
   */
  prefix(entries: number): CachePrefix | undefined {
    let index = 0;
    let left = entries;
    while (index < this.#chunks.length && left >= this.#chunks[index]!.lines) {
      left -= this.#chunks[index]!.lines;
      index++;
    }
    const bytes = this.#chunks[index]?.offset ?? this.#offset;
    if (left === 0) return { id: this.#id, fd: this.#fd, bytes, index, lines: [] };
    const lines = this.#chunkLines(index);
    if (!lines || lines.length < left) return undefined;
    return { id: this.#id, fd: this.#fd, bytes, index, lines: lines.slice(0, left) };
  }

  close(): void {
    closeSync(this.#fd);
  }

  #peek(): SummaryEntry | undefined {
    while (this.#at >= this.#entries.length) {
      if (this.#ended || !this.#readChunk()) return undefined;
    }
    return this.#entries[this.#at];
  }

  /** The next chunk's entries; false at the end or at a bad chunk (then `problem` says which). */
  #readChunk(): boolean {
    const stop = (problem?: string) => {
      this.#ended = true;
      this.problem = problem;
      this.#entries = [];
      this.#at = 0;
      return false;
    };
    const index = this.#chunks.length;
    const read = this.#readLines(this.#offset, index);
    if (typeof read === "string") return stop(read || undefined);
    const entries: SummaryEntry[] = [];
    for (const line of read.lines) {
      const e = parseSummaryLine(line);
      if (!e) return stop(`chunk ${index} holds a line of another format`);
      entries.push(e);
    }
    this.#chunks.push({ offset: this.#offset, lines: entries.length });
    this.#offset = read.next;
    this.#entries = entries;
    this.#at = 0;
    return true;
  }

  #chunkLines(index: number): string[] | undefined {
    const chunk = this.#chunks[index];
    if (!chunk) return undefined;
    const read = this.#readLines(chunk.offset, index);
    return typeof read === "string" ? undefined : read.lines;
  }

  /** The lines of the chunk at `offset`, or why not ("" at the file's end). */
  #readLines(offset: number, index: number): { lines: string[]; next: number } | string {
    const len = Buffer.alloc(4);
    const got = readSync(this.#fd, len, 0, 4, offset);
    if (got === 0) return "";
    if (got !== 4) return "cut short";
    const size = len.readUInt32BE(0);
    if (size > MAX_CHUNK_BYTES) return "a chunk of an impossible size";
    const sealed = Buffer.alloc(size);
    if (readSync(this.#fd, sealed, 0, size, offset + 4) !== size) return "cut short";
    let text: string;
    try {
      text = this.#source.open(sealed, chunkAad(this.#source.name, this.#id, index)).toString("utf8");
    } catch {
      return `chunk ${index} does not open`;
    }
    return { lines: text.split("\n"), next: offset + 4 + size };
  }
}

/** Writes a new cache file next to `file`; `commit` puts it in place, `abort` throws it away. */
export class ListingCacheWriter {
  readonly #fd: number;
  readonly #tmp: string;
  readonly #source: Sealer;
  readonly #id: Buffer;
  #lines: string[];
  #index: number;
  #closed = false;

  private constructor(fd: number, tmp: string, source: Sealer, from: CachePrefix | undefined) {
    this.#fd = fd;
    this.#tmp = tmp;
    this.#source = source;
    this.#id = from?.id ?? randomBytes(ID_BYTES);
    this.#index = from?.index ?? 0;
    this.#lines = from ? [...from.lines] : [];
  }

  /**
   * A writer, starting from what it keeps of the old file (`from`) or empty; undefined when the directory
   * cannot be made or written (then nothing is cached).
   */
  static create(dir: string, source: Sealer, from?: CachePrefix): ListingCacheWriter | undefined {
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    let fd: number;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      fd = openSync(tmp, "wx", 0o600);
    } catch {
      return undefined;
    }
    prune(dir, tmp);
    const w = new ListingCacheWriter(fd, tmp, source, from);
    try {
      // A directory made by someone else with looser modes: the file is sealed, but keep it private too.
      if ((fstatSync(fd).mode & 0o077) !== 0) throw new Error("mode");
      if (from) copyBytes(from.fd, fd, from.bytes);
      else writeSync(fd, Buffer.concat([MAGIC, w.#id]));
    } catch {
      w.abort();
      return undefined;
    }
    return w;
  }

  /** Add a line; a write that fails (a full disk) gives the file up, never the listing. */
  add(line: string): void {
    if (this.#closed) return;
    this.#lines.push(line);
    if (this.#lines.length < CHUNK_LINES) return;
    try {
      this.#flush();
    } catch {
      this.abort();
    }
  }

  /** Flush, close and rename over `file`. False (and nothing changed) when it could not be written. */
  commit(file: string): boolean {
    if (this.#closed) return false;
    try {
      this.#flush();
      closeSync(this.#fd);
      this.#closed = true;
      renameSync(this.#tmp, file);
      return true;
    } catch {
      this.abort();
      return false;
    }
  }

  abort(): void {
    this.#lines = [];
    if (!this.#closed) {
      this.#closed = true;
      try {
        closeSync(this.#fd);
      } catch {
        // already closed
      }
    }
    try {
      unlinkSync(this.#tmp);
    } catch {
      // already gone
    }
  }

  #flush(): void {
    if (this.#lines.length === 0) return;
    const plain = Buffer.from(this.#lines.join("\n"), "utf8");
    this.#lines = [];
    const sealed = this.#source.seal(plain, chunkAad(this.#source.name, this.#id, this.#index++));
    plain.fill(0);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(sealed.length, 0);
    writeSync(this.#fd, Buffer.concat([len, sealed]));
  }
}

/** The first `bytes` of file `from` into file `to` (at its start). */
function copyBytes(from: number, to: number, bytes: number): void {
  const buf = Buffer.allocUnsafe(Math.min(bytes, 4 * 1024 * 1024));
  for (let at = 0; at < bytes; ) {
    const n = readSync(from, buf, 0, Math.min(buf.length, bytes - at), at);
    if (n === 0) throw new Error("the old cache file is shorter than it was");
    writeSync(to, buf, 0, n); // at the file position: the chunks written next follow
    at += n;
  }
}

/** A temporary file older than this was left by a listing that was killed: removed. */
const STALE_TMP_MS = 3_600_000;
/** A cache file not written for this long belongs to a vault gone or to an older rekey: removed. */
const STALE_CACHE_MS = 30 * 86_400_000;

/** Remove what killed listings and other vaults left in `dir` (never `keep`, the file being written). */
function prune(dir: string, keep: string): void {
  const now = Date.now();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (path === keep) continue;
    const limit = name.startsWith(".tmp-")
      ? STALE_TMP_MS
      : name.endsWith(".cache")
        ? STALE_CACHE_MS
        : undefined;
    if (limit === undefined) continue;
    try {
      if (now - statSync(path).mtimeMs > limit) unlinkSync(path);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}
