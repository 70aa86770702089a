/**
 * The gateway's rotation history on a Keeper vault: one sealed file per attempt in the local state directory
 * (`history/`), beside the journal, leases and audit log of local-state.ts. Keeper has no place for it: a
 * record field would add a revision per attempt to the record's own history, and the entries may hold script
 * output.
 *
 * Invariants (the same as the local vault's sqlite-history.ts, with files for rows):
 * - `history/<seq, 10 digits>-<sha256(id)>.json` = {v, seq, id, recordUid, startedAt, savedAt, body}. The body
 *   is the entry JSON, AES-256-GCM sealed under a key derived for this purpose only from the local state key
 *   (as the journal's state is), with an AAD binding it to the state id and every other field of the file. A
 *   file edited, swapped with another or renamed is an integrity error when read.
 * - Append-only; seq is taken and the file written under a cross-process guard, so two gateways of this host
 *   never reuse a seq or an id. Files 0600, each written atomically (temp file, fsync, rename, fsync dir).
 * - The entry and its audit-log copy are written together: the audit details are checked first, and an entry
 *   whose audit append fails is removed again, so a deleted history file still shows as a gap in the audit log.
 */

import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { conflict, integrityError } from "../../errors.js";
import { parseJsonSafely } from "../../json.js";
import { checkAuditDetails } from "../../vault/audit-chain.js";
import { aad, deriveKey, open, seal } from "../../vault/crypto.js";
import { checkHistoryAudit, checkHistoryEntry, checkHistoryLimit } from "../../vault/history-entry.js";
import type { AuditEntry, AuditEvent, RotationHistoryEntry } from "../../vault/store.js";
import { toJsonBytes } from "../../vault/vault-cipher.js";
import { fsyncDir, sha, withGuard, writeFileAtomic } from "./local-files.js";

interface HistoryFile {
  v: 1;
  seq: number;
  id: string;
  recordUid: string;
  startedAt: string;
  savedAt: string;
  /** The entry JSON, sealed (base64). */
  body: string;
}

const NAME_RE = /^(\d{10})-([0-9a-f]{32})\.json$/;
const fileName = (seq: number, id: string) => `${String(seq).padStart(10, "0")}-${sha(id)}.json`;

export class KeeperLocalHistory {
  readonly dir: string;
  readonly #key: Buffer;
  readonly #id: string;

  /** `dir` must exist (KeeperLocalState.open creates it); `key` is the local state key, `id` the state id. */
  constructor(dir: string, key: Buffer, id: string) {
    this.dir = dir;
    this.#key = deriveKey(key, "rekey.keeper.history.v1");
    this.#id = id;
  }

  #aad(f: Omit<HistoryFile, "v" | "body">): string {
    return aad("rekey.keeper.history.v1", this.#id, f.seq, f.id, f.recordUid, f.startedAt, f.savedAt);
  }

  /** Append `entry`, then its audit copy through `appendAudit`; both or neither. Returns the entry as stored. */
  append(
    entry: RotationHistoryEntry,
    audit: AuditEvent,
    appendAudit: (event: AuditEvent) => AuditEntry,
  ): RotationHistoryEntry {
    checkHistoryEntry(entry);
    const plain = toJsonBytes(entry, `history entry ${entry.id}`);
    const stored = JSON.parse(plain.toString("utf8")) as RotationHistoryEntry;
    checkHistoryAudit(entry, audit);
    // Refused before anything is written (the audit log would refuse it after).
    checkAuditDetails(audit.details ?? {});
    const path = withGuard(join(this.dir, "..", "history.guard"), () => {
      const names = readdirSync(this.dir);
      const idHash = sha(entry.id);
      let last = 0;
      for (const n of names) {
        const m = NAME_RE.exec(n);
        if (!m) continue;
        if (m[2] === idHash) {
          throw conflict(`history entry ${entry.id} already exists`, "give each entry a new id");
        }
        last = Math.max(last, Number(m[1]));
      }
      const meta = {
        seq: last + 1,
        id: entry.id,
        recordUid: entry.recordUid,
        startedAt: entry.startedAt,
        savedAt: new Date().toISOString(),
      };
      const file: HistoryFile = {
        v: 1,
        ...meta,
        body: seal(this.#key, plain, this.#aad(meta)).toString("base64"),
      };
      const p = join(this.dir, fileName(meta.seq, meta.id));
      writeFileAtomic(p, JSON.stringify(file));
      return p;
    });
    try {
      appendAudit({ ...audit, recordUid: entry.recordUid });
    } catch (err) {
      unlinkSync(path);
      fsyncDir(this.dir);
      throw err;
    }
    return stored;
  }

  /** Entries oldest first; with `limit`, the most recent `limit` of them. */
  list(filter: { recordUid?: string; limit?: number } = {}): RotationHistoryEntry[] {
    checkHistoryLimit(filter.limit);
    const files: HistoryFile[] = [];
    for (const name of readdirSync(this.dir).sort()) {
      if (!NAME_RE.test(name)) continue;
      const f = this.#read(name);
      if (!filter.recordUid || f.recordUid === filter.recordUid) files.push(f);
    }
    files.sort((a, b) => a.seq - b.seq);
    const picked = filter.limit === undefined ? files : files.slice(-filter.limit);
    return picked.map((f) => {
      const what = `history entry ${f.id} (record ${f.recordUid})`;
      const plain = open(this.#key, Buffer.from(f.body, "base64"), this.#aad(f), what);
      return JSON.parse(plain.toString("utf8")) as RotationHistoryEntry;
    });
  }

  #read(name: string): HistoryFile {
    const path = join(this.dir, name);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw integrityError(
        `the rotation history file ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
        "restore it from a backup, or move it away to drop that entry",
      );
    }
    const f = parseJsonSafely(text, `the rotation history file ${path}`, {
      kind: "integrity",
      hint: "restore it from a backup, or move it away to drop that entry",
    }) as HistoryFile;
    const sound =
      f &&
      f.v === 1 &&
      Number.isInteger(f.seq) &&
      typeof f.id === "string" &&
      typeof f.recordUid === "string" &&
      typeof f.startedAt === "string" &&
      typeof f.savedAt === "string" &&
      typeof f.body === "string" &&
      fileName(f.seq, f.id) === name;
    if (!sound) {
      throw integrityError(
        `the rotation history file ${path} was modified (its fields do not match its name)`,
        "restore it from a backup, or move it away to drop that entry",
      );
    }
    return f;
  }
}
