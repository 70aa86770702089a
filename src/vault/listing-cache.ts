/**
 * The listing cache: what `record list` and `status` read instead of decrypting every record each time.
 *
 * Why: a listing of 100,000 records opened each one (its row MAC, its data key, its body: three keyed
 * operations and a JSON parse a record), about 4 s on a 2-core machine. The cache keeps each record's summary
 * (listing-summary.ts: no secret, no notes) in a file sealed under a key of the vault's own
 * (listing-cache-file.ts), a thousand to a sealed chunk, so a listing costs a few large decryptions.
 *
 * Why it can never show something the vault does not hold: an entry is found by the record's position,
 * UID, revision and saved-at time, read from the vault's clear columns at every listing (`iterateHeads`),
 * and a record version never changes once saved. A record saved, created or deleted since is a miss (or is
 * passed over), read from the vault as a listing reads it, and the file is written anew. The cache is
 * sealed, so it cannot be forged without the vault key; an older copy put back only holds summaries of
 * versions that are no longer current, which miss. The vault's own checks stay: the open check of the live
 * rows against the signed head (SQLite) runs before any listing, and a record that misses is opened in full.
 *
 * Where: `$REKEY_HOME/cache/listing/`, one file per vault (named by a hash of its id and location).
 * REKEY_LISTING_CACHE=0 turns it off (every record is opened, nothing is written).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type ListingCacheSource, type RecordHead, type RecordStore, recordPages } from "./async-store.js";
import { ListingCacheReader, ListingCacheWriter } from "./listing-cache-file.js";
import { type ListedRecord, listingSummary, summaryLine, ThinRecord } from "./listing-summary.js";
import type { StoredRecord } from "./store.js";

export interface ListingOptions {
  /** The cache directory (`listingCacheDir`); undefined: no cache (every record is opened). */
  dir: string | undefined;
  /** Only records of this type (the cache still holds them all). */
  type?: string | undefined;
  /**
   * A value computed from each summary and kept with it (`derived` of each listed record; null or undefined:
   * none). Its `version` names what `of` computes: a cache made with another version is another file.
   */
  derive?: Derivation | undefined;
  /** Called once, at the end of a complete listing: what came from where. */
  onDone?: ((stats: ListingStats) => void) | undefined;
}

export interface ListingStats {
  /** Records whose summary came from the cache. */
  cached: number;
  /** Records opened from the vault (misses, or all of them without a cache). */
  opened: number;
  /** The cache file was written anew. */
  written: boolean;
  /** Why the old cache file was not used in full, when it was not ("none", "chunk 3 does not open", ...). */
  problem: string | undefined;
}

export interface Derivation {
  version: string;
  of(summary: StoredRecord): unknown;
  /**
   * Whether the listing keeps the summary's fields (default: yes). No: it keeps the type, the title and the
   * derived value only (a ThinRecord), and the cache file is that much smaller.
   */
  keepFields?(summary: StoredRecord): boolean;
}

/** `$REKEY_HOME/cache/listing`, or undefined when REKEY_LISTING_CACHE turns the cache off. */
export function listingCacheDir(home: string, enabled: boolean): string | undefined {
  return enabled ? join(home, "cache", "listing") : undefined;
}

/**
 * The cache file of a vault and derivation: a hash of the vault's name (id and location) and the derivation's
 * version, so that no path or id is readable in it.
 */
export function listingCacheFile(
  dir: string,
  source: Pick<ListingCacheSource, "name">,
  derive?: Derivation,
): string {
  const hash = createHash("sha256")
    .update(`${source.name}\n${derive?.version ?? ""}`)
    .digest("base64url");
  return join(dir, `${hash.slice(0, 32)}.cache`);
}

/**
 * The records' summaries, in listing order, a page at a time (the pages `recordPages` gives, masked): from
 * the cache where it holds the current version, else opened from the vault; the cache file is then written
 * anew. A listing stopped before its end (an error, or the consumer breaks off) writes nothing.
 *
 * @example
 * for await (const page of listingPages(store, { dir: listingCacheDir(home, true) })) show(page);
 */
export async function* listingPages(
  store: RecordStore & { readonly listingCache?: ListingCacheSource | undefined },
  opts: ListingOptions,
): AsyncGenerator<ListedRecord[]> {
  const source = store.listingCache;
  const wanted = (s: StoredRecord) => opts.type === undefined || s.record.type === opts.type;
  const listed = (s: StoredRecord): ListedRecord => {
    const summary = listingSummary(s);
    const derived = opts.derive?.of(summary) ?? null;
    if (opts.derive?.keepFields?.(summary) ?? true) return { ...summary, derived };
    return { ...summary, record: new ThinRecord(summary.record.type, summary.record.title), derived };
  };
  if (!source || opts.dir === undefined) {
    let opened = 0;
    for await (const page of recordPages(store, opts.type === undefined ? undefined : { type: opts.type })) {
      opened += page.length;
      yield page.map(listed);
    }
    opts.onDone?.({ cached: 0, opened, written: false, problem: undefined });
    return;
  }
  const file = listingCacheFile(opts.dir, source, opts.derive);
  const dir = opts.dir;
  const reader = ListingCacheReader.open(file, source);
  const stats: ListingStats = { cached: 0, opened: 0, written: false, problem: reader ? undefined : "none" };
  // The new file is started at the listing's first difference from the old one (never, when none), keeping
  // the `kept` entries before it as they are.
  let kept = 0;
  let writing = false;
  let writer: ListingCacheWriter | undefined;
  const startWriting = () => {
    writing = true;
    const from = reader?.prefix(kept);
    // The old file could not be read again where it differs (changed meanwhile): not cached this time.
    if (reader && !from) return;
    writer = ListingCacheWriter.create(dir, source, from);
  };
  let complete = false;
  try {
    if (!reader) startWriting();
    for await (const heads of source.iterateHeads()) {
      const page = await summariesOf(heads, reader, source, stats, listed);
      for (const { pos, listed: s, line, seq } of page) {
        if (!writing && line !== undefined && seq === kept + 1) kept++;
        else {
          if (!writing) startWriting();
          writer?.add(line ?? summaryLine(pos, s, s.derived));
        }
      }
      const out = page.map((p) => p.listed).filter(wanted);
      if (out.length > 0) yield out;
    }
    // Entries read and not kept (records deleted or changed since, at the end of the listing): shorter now.
    if (!writing && reader && (reader.consumed !== kept || reader.hasMore)) startWriting();
    complete = true;
  } finally {
    if (reader) {
      stats.problem = reader.problem;
    }
    if (complete && writer) stats.written = writer.commit(file);
    else writer?.abort();
    reader?.close();
  }
  opts.onDone?.(stats);
}

interface PageItem {
  pos: number;
  listed: ListedRecord;
  /** The cached line, when the summary came from the cache. */
  line: string | undefined;
  /** How many entries of the cache file were read up to this one (in order: its index + 1). */
  seq: number;
}

/** One page of heads as items (summary, and where it came from), in head order. */
async function summariesOf(
  heads: readonly RecordHead[],
  reader: ListingCacheReader | undefined,
  source: ListingCacheSource,
  stats: ListingStats,
  listed: (s: StoredRecord) => ListedRecord,
): Promise<PageItem[]> {
  const out: Array<PageItem | undefined> = [];
  const misses: number[] = [];
  heads.forEach((h, i) => {
    const e = reader?.take(h.pos);
    if (e && e.uid === h.uid && e.revision === h.revision && e.savedAt === h.savedAt) {
      out[i] = { pos: h.pos, listed: e.summary, line: e.line, seq: reader!.consumed };
      stats.cached++;
    } else {
      misses.push(i);
    }
  });
  if (misses.length > 0) {
    const read = await source.readRecords(misses.map((i) => heads[i]!.uid));
    stats.opened += read.length;
    const byUid = new Map(read.map((s) => [s.uid, s]));
    for (const i of misses) {
      const s = byUid.get(heads[i]!.uid);
      // Gone since its head was read (deleted meanwhile): not listed, as a later page read would not list it.
      if (s) out[i] = { pos: heads[i]!.pos, listed: listed(s), line: undefined, seq: 0 };
    }
  }
  return out.filter((p) => p !== undefined);
}
