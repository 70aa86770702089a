/**
 * The rotation history's rows, sealed the same way by every backend (stores/sqlite/sqlite-history.ts,
 * stores/postgres/pg-history.ts), so that `rekey vault copy` moves them as stored: each entry under its own
 * random data key, wrapped under a key derived from the vault master key for this purpose only, the AAD
 * binding the body to its row (seq, id, record, times).
 */
import { aad, deriveKey, open, randomKey, seal, unwrapKey, wrapKey, zeroize } from "./crypto.js";
import type { RotationHistoryEntry } from "./store.js";

export interface HistoryRow {
  seq: number;
  id: string;
  record_uid: string;
  started_at: string;
  saved_at: string;
  dek: Buffer;
  body: Buffer;
}

type RowMeta = Omit<HistoryRow, "dek" | "body">;

const bodyAad = (m: RowMeta) => aad("rekey.history.v1", m.seq, m.id, m.record_uid, m.started_at, m.saved_at);
const dekAad = (m: RowMeta) => aad("rekey.dek.v1", "history", m.id, m.seq);

export class HistorySealer {
  readonly #kek: Buffer;

  /** `vmk` is only read: a purpose key is derived from it. */
  constructor(vmk: Buffer) {
    this.#kek = deriveKey(vmk, "rekey.history-wrap.v1");
  }

  /** The row that follows `lastSeq` for `entry`, its JSON `plain` sealed (`plain` is not consumed). */
  seal(entry: RotationHistoryEntry, lastSeq: number, plain: Buffer): HistoryRow {
    const m: RowMeta = {
      seq: lastSeq + 1,
      id: entry.id,
      record_uid: entry.recordUid,
      started_at: entry.startedAt,
      saved_at: new Date().toISOString(),
    };
    const dek = randomKey();
    try {
      return { ...m, body: seal(dek, plain, bodyAad(m)), dek: wrapKey(this.#kek, dek, dekAad(m)) };
    } finally {
      zeroize(dek);
    }
  }

  open(r: HistoryRow): RotationHistoryEntry {
    const what = `history entry ${r.id} (record ${r.record_uid})`;
    const dek = unwrapKey(this.#kek, r.dek, dekAad(r), what);
    try {
      const plain = open(dek, r.body, bodyAad(r), what);
      try {
        return JSON.parse(plain.toString("utf8")) as RotationHistoryEntry;
      } finally {
        zeroize(plain);
      }
    } finally {
      zeroize(dek);
    }
  }

  destroy(): void {
    zeroize(this.#kek);
  }
}
