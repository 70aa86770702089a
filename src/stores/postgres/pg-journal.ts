/**
 * The PostgreSQL vault's journal of in-flight work: each entry's state sealed under its own data key, AAD =
 * its clear columns (vault-cipher.ts), as in the SQLite vault. Functions run in the caller's transaction.
 */
import { usageError } from "../../errors.js";
import type { JournalEntry } from "../../vault/store.js";
import { type JournalMeta, toJsonBytes, type VaultCipher } from "../../vault/vault-cipher.js";
import type { Queryable } from "./pg-db.js";

const nowIso = () => new Date().toISOString();

interface JournalRow {
  id: string;
  record_uid: string;
  kind: string;
  created_at: string;
  updated_at: string;
  dek: Buffer;
  body: Buffer;
}

const JOURNAL_COLUMNS = "id, record_uid, kind, created_at, updated_at, dek, body";

const journalMeta = (j: JournalRow): JournalMeta => ({
  id: j.id,
  recordUid: j.record_uid,
  kind: j.kind,
  createdAt: j.created_at,
  updatedAt: j.updated_at,
});

/** A journal entry checked and serialized before its transaction starts. */
export interface PreparedJournal {
  entry: Omit<JournalEntry, "createdAt" | "updatedAt">;
  plain: Buffer;
  stored: Record<string, unknown>;
}

/** Check and serialize an entry before its transaction starts. */
export function prepareJournal(entry: Omit<JournalEntry, "createdAt" | "updatedAt">): PreparedJournal {
  const { id, recordUid, kind, state } = entry;
  if (!id || !recordUid || !kind) {
    throw usageError("a journal entry needs an id, a recordUid and a kind", "set all three");
  }
  if (typeof state !== "object" || state === null || Array.isArray(state)) {
    throw usageError(`journal entry ${id}: state must be a JSON object`, "pass an object");
  }
  const plain = toJsonBytes(state, `journal entry ${id}`);
  return { entry, plain, stored: JSON.parse(plain.toString("utf8")) as Record<string, unknown> };
}

/** Insert or replace inside the caller's write transaction (createdAt kept on replace). Consumes p.plain. */
export async function putJournal(
  tx: Queryable,
  cipher: VaultCipher,
  p: PreparedJournal,
): Promise<JournalEntry> {
  const { id, recordUid, kind } = p.entry;
  const { rows } = await tx.query<{ created_at: string }>("SELECT created_at FROM journal WHERE id = $1", [
    id,
  ]);
  const updatedAt = nowIso();
  const m = { id, recordUid, kind, createdAt: rows[0]?.created_at ?? updatedAt, updatedAt };
  const { dek, body } = cipher.sealJournal(m, p.plain);
  await tx.query(
    `INSERT INTO journal (${JOURNAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ` +
      "ON CONFLICT (id) DO UPDATE SET record_uid = excluded.record_uid, kind = excluded.kind, " +
      "updated_at = excluded.updated_at, dek = excluded.dek, body = excluded.body",
    [id, recordUid, kind, m.createdAt, updatedAt, dek, body],
  );
  return { ...m, state: p.stored };
}

export async function listJournal(
  q: Queryable,
  cipher: VaultCipher,
  filter: { recordUid?: string; kind?: string },
): Promise<JournalEntry[]> {
  const { rows } = await q.query<JournalRow>(
    `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE ($1::text IS NULL OR record_uid = $1) ` +
      "AND ($2::text IS NULL OR kind = $2) ORDER BY pos",
    [filter.recordUid ?? null, filter.kind ?? null],
  );
  return rows.map((j) => {
    const m = journalMeta(j);
    return { ...m, state: cipher.openJournal(m, j) };
  });
}
