/**
 * What a listing shows of a record (`record list`, `status`): the stored record with every secret value masked
 * and its notes dropped. The listing cache (listing-cache.ts) keeps only these, so no secret, current or
 * rotated away, is ever copied out of the vault into it; and the commands that read through the cache are
 * given summaries with or without it, so they cannot come to depend on a secret by accident.
 */
import { RekeyError } from "../errors.js";
import { isSecretField, type KeeperRecord, type RecordField } from "./record.js";
import type { StoredRecord } from "./store.js";

/** What a secret value becomes in a summary (as `record show` prints it). */
export const MASKED = "********";

export function listingSummary(s: StoredRecord): StoredRecord {
  const r = s.record;
  const record: KeeperRecord = {
    type: r.type,
    title: r.title,
    fields: r.fields.map(maskField),
    custom: r.custom.map(maskField),
    notes: "",
  };
  return {
    uid: s.uid,
    folderUid: s.folderUid,
    revision: s.revision,
    record,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

function maskField(f: RecordField): RecordField {
  return isSecretField(f) ? { ...f, value: f.value.map(() => MASKED) } : f;
}

/**
 * A cache line: where the listing has the summary, its key, type and title (one JSON array: positional, so no
 * key names repeated 100,000 times), a tab, what the listing derives from the record (JSON; null for none),
 * a tab, then the summary record's JSON, or nothing for a record kept as its type and title only (a
 * `ThinRecord`). JSON escapes tabs and newlines inside strings, so neither appears in a line but as a
 * separator.
 */
export function summaryLine(pos: number, s: StoredRecord, derived: unknown): string {
  const head = [pos, s.uid, s.revision, s.updatedAt, s.createdAt, s.folderUid, s.record.type, s.record.title];
  const body = s.record instanceof ThinRecord ? "" : JSON.stringify(s.record);
  return `${JSON.stringify(head)}\t${JSON.stringify(derived ?? null)}\t${body}`;
}

/**
 * A record a listing keeps as its type and title only (what `record list` shows; `status` reads its derived
 * facts): asking it for its fields is a mistake in rekey, reported as one.
 */
export class ThinRecord implements KeeperRecord {
  constructor(
    readonly type: string,
    readonly title: string,
  ) {}

  get fields(): RecordField[] {
    return thin();
  }

  get custom(): RecordField[] {
    return thin();
  }

  get notes(): string {
    return thin();
  }

  toJSON(): { type: string; title: string } {
    return { type: this.type, title: this.title };
  }
}

function thin(): never {
  throw new RekeyError(
    "internal",
    "a listing kept this record as its type and title only, and its fields were asked for",
  );
}

/** A summary as a listing gives it: with what was derived from its record (null: nothing). */
export type ListedRecord = StoredRecord & { readonly derived: unknown };

/** An entry of the cache: the key it is found by (position, UID, revision, saved at) and its summary. */
export interface SummaryEntry {
  pos: number;
  uid: string;
  revision: number;
  savedAt: string;
  summary: ListedRecord;
  /** The line it was read from (written again as it is when the cache is rewritten). */
  line: string;
}

/**
 * A line back to its entry; undefined when it is not one (a cache of another format: it is rebuilt). The
 * derived value and the record's fields are parsed when first read: `record list` shows the type and title
 * only, and parsing every summary in full was most of its time at 100,000 records.
 */
export function parseSummaryLine(line: string): SummaryEntry | undefined {
  const tab1 = line.indexOf("\t");
  const tab2 = tab1 < 0 ? -1 : line.indexOf("\t", tab1 + 1);
  if (tab2 < 0) return undefined;
  let a: unknown;
  try {
    a = JSON.parse(line.slice(0, tab1));
  } catch {
    return undefined;
  }
  if (!Array.isArray(a) || a.length !== 8) return undefined;
  const [pos, uid, revision, savedAt, createdAt, folderUid, type, title] = a as unknown[];
  if (
    typeof pos !== "number" ||
    typeof uid !== "string" ||
    typeof revision !== "number" ||
    typeof savedAt !== "string" ||
    typeof createdAt !== "string" ||
    (folderUid !== null && typeof folderUid !== "string") ||
    typeof type !== "string" ||
    typeof title !== "string"
  ) {
    return undefined;
  }
  const summary = new CachedSummary(
    uid,
    folderUid,
    revision,
    createdAt,
    savedAt,
    tab2 + 1 === line.length ? new ThinRecord(type, title) : new LazyRecord(type, title, line, tab2 + 1),
    line,
    tab1 + 1,
    tab2,
  );
  return { pos, uid, revision, savedAt, summary, line };
}

/**
 * A summary read from the cache: its derived value parsed from its line when first read. A class, not an
 * object literal with closures: 100,000 of them a listing, most never asked for it.
 */
class CachedSummary implements ListedRecord {
  #derived: { value: unknown } | undefined;
  readonly #line: string;
  readonly #from: number;
  readonly #to: number;

  constructor(
    readonly uid: string,
    readonly folderUid: string | null,
    readonly revision: number,
    readonly createdAt: string,
    readonly updatedAt: string,
    readonly record: KeeperRecord,
    line: string,
    from: number,
    to: number,
  ) {
    this.#line = line;
    this.#from = from;
    this.#to = to;
  }

  get derived(): unknown {
    this.#derived ??= { value: JSON.parse(this.#line.slice(this.#from, this.#to)) };
    return this.#derived.value;
  }
}

/** A record whose type and title are known and whose fields are parsed from `line` (at `from`) when read. */
class LazyRecord implements KeeperRecord {
  #parsed: KeeperRecord | undefined;
  readonly #line: string;
  readonly #from: number;

  constructor(
    readonly type: string,
    readonly title: string,
    line: string,
    from: number,
  ) {
    this.#line = line;
    this.#from = from;
  }

  /** As a plain record (JSON.stringify would otherwise see the type and title only). */
  toJSON(): KeeperRecord {
    return this.#full();
  }

  get fields() {
    return this.#full().fields;
  }

  get custom() {
    return this.#full().custom;
  }

  get notes() {
    return this.#full().notes;
  }

  #full(): KeeperRecord {
    if (this.#parsed) return this.#parsed;
    const r: unknown = JSON.parse(this.#line.slice(this.#from));
    if (!isRecordShape(r)) {
      // Sealed by this vault's key, so written by rekey: a summary of another rekey's format.
      throw new RekeyError(
        "internal",
        "the listing cache holds a summary of another format: remove $REKEY_HOME/cache/listing",
      );
    }
    this.#parsed = r;
    return r;
  }
}

function isRecordShape(r: unknown): r is KeeperRecord {
  if (typeof r !== "object" || r === null) return false;
  const o = r as Record<string, unknown>;
  return (
    typeof o.type === "string" &&
    typeof o.title === "string" &&
    Array.isArray(o.fields) &&
    Array.isArray(o.custom) &&
    typeof o.notes === "string"
  );
}
