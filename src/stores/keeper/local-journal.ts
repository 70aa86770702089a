/**
 * The rotation journal on a Keeper vault: one sealed file per in-flight rotation in the local state directory
 * (`journal/`), plus a signed index (`journal.head`) of which entries exist and how new each one is.
 *
 * Invariants:
 * - `journal/<sha256(id)>.json` = {v: 2, id, recordUid, kind, createdAt, updatedAt, n, state}. The state is
 *   AES-256-GCM sealed under a key derived from the local state key; the AAD binds the state id and every
 *   other field, timestamps and counter included, so an edited `updatedAt` or `n` is refused.
 * - `n` is taken from the index's counter at every put (under a cross-process guard), and the index records
 *   each live entry's `n`, MACed. A file older than the index says (an older copy put back), a live entry
 *   whose file is gone, or a file of a deleted entry put back are integrity errors: the journal decides what
 *   `repair` does, so a replayed entry must never be acted on.
 * - Crash safety: a put writes the file (durable), then the index (whole, its rename may be lost: a file newer
 *   than the index is accepted); a delete updates the index (durable), then removes the file (a leftover
 *   matching the index's record of it is dropped).
 * - Upgrade: a directory from before the index (v1 files, no `n`) is converted once when opened: each v1
 *   entry is re-sealed as v2 and indexed. What it cannot show: the index and every journal file deleted
 *   together (it reads as an upgraded empty journal); the audit log still shows the rotations that ran.
 */
import { readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { integrityError } from "../../errors.js";
import { canonicalJson } from "../../vault/audit-chain.js";
import { aad, deriveKey, hmac, open, sameBytes, seal } from "../../vault/crypto.js";
import type { JournalEntry } from "../../vault/store.js";
import { type Durability, readJson, sha, withGuard, writeFileAtomic } from "./local-files.js";

interface JournalFile {
  v: 2;
  id: string;
  recordUid: string;
  kind: string;
  createdAt: string;
  updatedAt: string;
  n: number;
  state: string;
}

/** What an older rekey wrote: no counter, an AAD without the timestamps. */
interface JournalFileV1 extends Omit<JournalFile, "v" | "n"> {
  v: 1;
}

interface JournalIndex {
  /** The next entry's counter. */
  next: number;
  /** id → counter of every live entry. */
  live: Record<string, number>;
  /** id → counter of recently deleted entries: a leftover file from an interrupted delete is dropped. */
  gone: Record<string, number>;
}

const GONE_KEPT = 64;

const tampered = (dir: string, what: string) =>
  integrityError(
    `the rotation journal in ${dir} was modified outside rekey: ${what}`,
    "restore the state directory from a backup and check the IAM user's keys by hand (`rekey status`); the Keeper record is unaffected",
  );

export class KeeperLocalJournal {
  readonly #dir: string;
  readonly #stateDir: string;
  readonly #key: Buffer;
  readonly #indexKey: Buffer;
  readonly #id: string;

  /** `stateDir/journal` must exist; `key` is the local state key, `id` the state id. */
  constructor(stateDir: string, key: Buffer, id: string) {
    this.#stateDir = stateDir;
    this.#dir = join(stateDir, "journal");
    this.#key = deriveKey(key, "rekey.keeper.journal.v1");
    this.#indexKey = deriveKey(key, "rekey.keeper.journal-index.v1");
    this.#id = id;
  }

  get #indexFile(): string {
    return join(this.#stateDir, "journal.head");
  }

  #guard<T>(fn: () => T): T {
    return withGuard(join(this.#stateDir, "journal.guard"), fn);
  }

  #path(id: string): string {
    return join(this.#dir, `${sha(id)}.json`);
  }

  #aad(f: Omit<JournalFile, "v" | "state">): string {
    return aad("rekey.keeper.journal.v2", this.#id, f.id, f.recordUid, f.kind, f.createdAt, f.updatedAt, f.n);
  }

  #mac(index: JournalIndex): Buffer {
    return hmac(this.#indexKey, "rekey.keeper.journal-index.v1", this.#id, canonicalJson(index));
  }

  /**
   * `durability`: a delete's index must be durable before its file is unlinked (an unlink that survived a
   * crash beside an index still listing the entry reads as tampering). A put's index need only be whole
   * ("content"): losing its rename in a crash leaves the previous index, which accepts the put's file as
   * newer than the index says (see list), so the entry stays live; and the next durable index write carries
   * it. What a lost put index weakens, for that crash only, is the replay check of that entry.
   */
  #writeIndex(index: JournalIndex, durability: Durability): void {
    writeFileAtomic(
      this.#indexFile,
      JSON.stringify({ ...index, mac: this.#mac(index).toString("hex") }),
      durability,
    );
  }

  #readIndex(): JournalIndex {
    const raw = readJson(this.#indexFile) as (JournalIndex & { mac?: string }) | undefined;
    if (!raw) throw tampered(this.#stateDir, "its signed index journal.head is missing");
    const { mac, ...index } = raw;
    if (typeof mac !== "string" || !sameBytes(this.#mac(index), Buffer.from(mac, "hex"))) {
      throw tampered(this.#stateDir, "its signed index journal.head was modified");
    }
    return index;
  }

  #files(): Array<JournalFile | JournalFileV1> {
    return readdirSync(this.#dir)
      .filter((n) => n.endsWith(".json"))
      .sort()
      .map((n) => readJson(join(this.#dir, n)) as JournalFile | JournalFileV1 | undefined)
      .filter((f): f is JournalFile | JournalFileV1 => f !== undefined);
  }

  /**
   * A new state directory gets an empty index; one from before the index is upgraded (v1 entries re-sealed
   * as v2). An index missing beside v2 files was deleted: refused.
   */
  init(): void {
    this.#guard(() => {
      if (readJson(this.#indexFile) !== undefined) return;
      const index: JournalIndex = { next: 1, live: {}, gone: {} };
      const files = this.#files();
      if (files.some((f) => f.v !== 1))
        throw tampered(this.#stateDir, "its signed index journal.head is missing");
      for (const f of files as JournalFileV1[]) {
        const v1Aad = aad("rekey.keeper.journal.v1", this.#id, f.id, f.recordUid, f.kind);
        const plain = open(this.#key, Buffer.from(f.state, "base64"), v1Aad, `journal entry ${f.id}`);
        const meta = { ...f, v: 2 as const, n: index.next++ };
        const sealed = seal(this.#key, plain, this.#aad(meta)).toString("base64");
        writeFileAtomic(this.#path(f.id), JSON.stringify({ ...meta, state: sealed }));
        index.live[f.id] = meta.n;
      }
      this.#writeIndex(index, "durable"); // once per directory: the upgrade is not redone
    });
  }

  put(entry: Omit<JournalEntry, "createdAt" | "updatedAt">): JournalEntry {
    const { id, recordUid, kind, state } = entry;
    return this.#guard(() => {
      const index = this.#readIndex();
      const prev = readJson(this.#path(id)) as JournalFile | undefined;
      const now = new Date().toISOString();
      const meta = { id, recordUid, kind, createdAt: prev?.createdAt ?? now, updatedAt: now, n: index.next };
      const sealed = seal(this.#key, Buffer.from(JSON.stringify(state)), this.#aad(meta)).toString("base64");
      // Durable before put returns: the rotation's next AWS call (create, delete) relies on this entry to be
      // found and repaired after a crash.
      writeFileAtomic(this.#path(id), JSON.stringify({ v: 2, ...meta, state: sealed } satisfies JournalFile));
      index.next++;
      index.live[id] = meta.n;
      delete index.gone[id];
      this.#writeIndex(index, "content");
      return {
        id,
        recordUid,
        kind,
        state: structuredClone(state),
        createdAt: meta.createdAt,
        updatedAt: now,
      };
    });
  }

  list(filter: { recordUid?: string; kind?: string } = {}): JournalEntry[] {
    const { index, files } = this.#guard(() => ({ index: this.#readIndex(), files: this.#files() }));
    const out: JournalEntry[] = [];
    const seen = new Set<string>();
    for (const f of files) {
      if (f.v !== 2 || typeof f.n !== "number") {
        throw tampered(this.#stateDir, `entry ${f.id} is in an old format the index never held (put back)`);
      }
      const live = index.live[f.id];
      if (live === undefined) {
        if (index.gone[f.id] === f.n) continue; // a delete interrupted between the index and the unlink
        if (f.n < index.next) throw tampered(this.#stateDir, `entry ${f.id} was deleted and put back`);
      } else if (f.n < live) {
        throw tampered(
          this.#stateDir,
          `entry ${f.id} is an older copy (counter ${f.n}, the index holds ${live})`,
        );
      }
      const plain = open(this.#key, Buffer.from(f.state, "base64"), this.#aad(f), `journal entry ${f.id}`);
      seen.add(f.id);
      if (filter.recordUid && f.recordUid !== filter.recordUid) continue;
      if (filter.kind && f.kind !== filter.kind) continue;
      out.push({
        id: f.id,
        recordUid: f.recordUid,
        kind: f.kind,
        state: JSON.parse(plain.toString("utf8")) as Record<string, unknown>,
        createdAt: f.createdAt,
        updatedAt: f.updatedAt,
      });
    }
    const missing = Object.keys(index.live).filter((id) => !seen.has(id));
    if (missing.length) throw tampered(this.#stateDir, `entry ${missing.join(", ")} was deleted`);
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Remove an entry; removing one that is already gone is fine. */
  delete(id: string): void {
    this.#guard(() => {
      const index = this.#readIndex();
      const n = index.live[id];
      if (n !== undefined) {
        delete index.live[id];
        index.gone[id] = n;
        const gone = Object.entries(index.gone);
        index.gone = Object.fromEntries(gone.slice(Math.max(0, gone.length - GONE_KEPT)));
        this.#writeIndex(index, "durable");
      }
      try {
        // No fsync: an unlink lost in a crash leaves a file the durable index lists as gone (dropped by list).
        unlinkSync(this.#path(id));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    });
  }
}
