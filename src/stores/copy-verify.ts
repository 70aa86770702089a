/**
 * `rekey vault copy`, the check after the copy: the target, opened afresh with the source's key, against the
 * source. Two views of each:
 * - the stored rows: the same vault id, key slots, folders, record pointers, versions, journal and history
 *   rows byte for byte, and the source's audit entries as the first entries of the target's log;
 * - what the stores decrypt through their normal read path: the same live records (UID, folder, revision,
 *   content), every record's versions (deleted records included), folders, journal entries and rotation
 *   history; the target's audit chain verifies, with at least the source's entries; a store with a signed
 *   head (SQLite) checks every row against it.
 * The first difference is an integrity error naming it (never a value: only UIDs, ids and counts).
 */
import { isDeepStrictEqual } from "node:util";
import { integrityError } from "../errors.js";
import { capabilitiesOf } from "../vault/store-capabilities.js";
import type { VaultView } from "./copy-backend.js";
import { allRecordUids, type VaultRows } from "./copy-rows.js";

export interface Verified {
  /** The target's audit entries (the source's, then the copy's own). */
  auditEntries: number;
}

/** Compare the stored rows (pure); returns the first difference, or undefined. */
export function rowDifference(source: VaultRows, target: VaultRows): string | undefined {
  const s = source.meta;
  const t = target.meta;
  if (s.vaultId !== t.vaultId) return "the vault id";
  if (s.keySlots !== t.keySlots) return "the key slots";
  if (s.createdAt !== t.createdAt) return "the vault's creation time";
  const tables = ["folders", "records", "versions", "journal", "history"] as const;
  for (const table of tables) {
    const a = source[table];
    const b = target[table];
    if (a.length !== b.length)
      return `the number of ${table} rows (${a.length} in the source, ${b.length} in the copy)`;
    const i = a.findIndex((row, n) => !isDeepStrictEqual(row, b[n]));
    if (i >= 0) return `${table} row ${i + 1} (${rowName(a[i]!)})`;
  }
  if (target.audit.length < source.audit.length) {
    return `the audit log (${source.audit.length} entries in the source, ${target.audit.length} in the copy)`;
  }
  const i = source.audit.findIndex((e, n) => !isDeepStrictEqual(e, target.audit[n]));
  if (i >= 0) return `audit entry ${source.audit[i]!.seq}`;
  return undefined;
}

function rowName(row: object): string {
  const r = row as { uid?: string; id?: string; revision?: number };
  if (r.revision !== undefined) return `record ${r.uid} revision ${r.revision}`;
  return r.uid !== undefined ? `UID ${r.uid}` : `id ${r.id}`;
}

/** The check (see the file comment). Throws an integrity error at the first difference. */
export async function verifyCopy(source: VaultView, target: VaultView): Promise<Verified> {
  const differs = (what: string) =>
    integrityError(
      `the copy in ${target.description} does not match ${source.description}: ${what} differs`,
      "was the source written to during the copy? Stop everything that writes to it, then copy again with --force; until then do not use the copy",
    );
  const rows = rowDifference(source.rows, target.rows);
  if (rows) throw differs(rows);

  const [s, t] = [source.store, target.store];
  const same = async <T>(what: string, read: (store: typeof s) => Promise<T>) => {
    if (!isDeepStrictEqual(await read(s), await read(t))) throw differs(what);
  };
  await same("the live records (UIDs, folders, revisions, content)", (x) => x.listRecords());
  await same("the folders", (x) => x.listFolders());
  await same("the journal", (x) => x.listJournal());
  await same("the rotation history", (x) => x.listRotationHistory());
  for (const uid of allRecordUids(source.rows)) {
    await same(`the versions of record ${uid}`, (x) => x.history(uid));
  }
  const audit = await t.verifyAudit();
  if (!audit.ok) {
    throw integrityError(
      `the audit log of the copy in ${target.description} does not verify at entry ${audit.problem?.seq}: ${audit.problem?.reason}`,
      "do not use the copy; run rekey audit verify on the source, then copy again with --force",
    );
  }
  if (audit.entries < source.rows.audit.length) throw differs("the number of audit entries");
  if (capabilitiesOf(t).integrityHead && t.checkIntegrity) await t.checkIntegrity();
  return { auditEntries: audit.entries };
}
