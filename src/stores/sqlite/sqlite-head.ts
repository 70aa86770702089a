/**
 * The signed vault head in the SQLite file (meta key `vault_head`; the pure part is vault-head.ts): load and
 * save it inside the caller's transaction, compute it from the live rows (init and migration only), and
 * check the live rows against it.
 *
 * Cost: the check run at open reads only small columns: records (uid, revision) with one HMAC per live
 * record, COUNT(*) of versions, folders and history rows, MAX(seq) of the audit and history tables, the
 * journal rows (a handful of in-flight rotations), and one walk of the versions in their stored order that
 * counts them and finds a record not at its newest version (versionsWalk). No decryption. `full` (audit verify) adds the newest version of every UID, deleted records included.
 *
 * Scoped (`rows: "counts"`): what costs per record (the HMAC per live record and the walk of every version
 * row; about 0.5 s at 100,000 records) is left out.
 * A store opened that way checks each record it reads instead (sqlite-store.ts, `check: "scoped"`), and
 * runs the rest before anything reads or writes beyond those records (sqlite-open.ts says what that
 * leaves to the full check).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { integrityError, usageError } from "../../errors.js";
import { genesisHash, headIsValid, parseHead } from "../../vault/audit-chain.js";
import {
  compareHeads,
  emptyState,
  formatHeadLine,
  type HeadKey,
  type JournalRow,
  parseHeadLine,
  parseStoredHead,
  serializeHead,
  type VaultHead,
  type VaultState,
  xorHex,
} from "../../vault/vault-head.js";
import type { SqlDb } from "./sqlite-db.js";
import { META } from "./sqlite-schema.js";

export const tampered = (path: string, what: string) =>
  integrityError(
    `vault ${path} failed its integrity check: ${what}`,
    "rows were deleted, added or rolled back outside rekey: restore the vault file from a backup, and run `rekey audit verify` to see what else changed",
  );

/** The audit log's signed head {count, hash} as stored beside the log (checked by its own MAC). */
export function auditHeadOf(sql: SqlDb, auditKey: Buffer): { count: number; hash: string } {
  const head = parseHead(sql.meta(META.auditHead));
  if (!head || !headIsValid(auditKey, head)) {
    throw tampered(sql.path, "the signed head of the audit log is missing or was modified");
  }
  return { count: head.count, hash: head.hash };
}

export function loadHead(sql: SqlDb, key: HeadKey): VaultHead {
  const head = parseStoredHead(key, sql.meta(META.vaultHead));
  if (!head) throw tampered(sql.path, "its signed head is missing or was modified");
  return head;
}

export function saveHead(sql: SqlDb, key: HeadKey, head: VaultHead): void {
  sql.setMeta(META.vaultHead, serializeHead(key, head));
}

function historyTableExists(sql: SqlDb): boolean {
  return Boolean(sql.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rotation_history'"));
}

/** The state of the live rows (records, journal, counts); the audit part is the log's own signed head. */
export function computeState(
  sql: SqlDb,
  key: HeadKey,
  auditKey: Buffer,
  opts: { countVersions?: boolean } = {},
): VaultState {
  const s = emptyState(auditHeadOf(sql, auditKey));
  // xorHex per record, in place: at 100,000 records its hex round trips cost a quarter of this loop.
  const records = Buffer.from(s.records.x, "hex");
  // All rows at once, as arrays: at 100,000 records a row-by-row iterator cost a third of this loop.
  for (const [uid, revision] of sql.allRaw<[string, number]>("SELECT uid, revision FROM records")) {
    s.records.n++;
    const mac = key.recordMac(uid, revision);
    for (let i = 0; i < records.length; i++) records[i] = records[i]! ^ (mac[i] ?? 0);
  }
  s.records.x = records.toString("hex");
  for (const j of sql.iterate<JournalRow>("SELECT * FROM journal")) {
    s.journal.n++;
    s.journal.x = xorHex(s.journal.x, key.journalMac(j));
  }
  if (opts.countVersions !== false) s.versions = count(sql, "record_versions");
  s.folders = count(sql, "folders");
  if (historyTableExists(sql)) {
    s.history.n = count(sql, "rotation_history");
    s.history.last = sql.get<{ m: number | null }>("SELECT MAX(seq) AS m FROM rotation_history")?.m ?? 0;
  }
  return s;
}

function count(sql: SqlDb, table: string): number {
  return sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)?.n ?? 0;
}

/**
 * Check the live rows against the signed head; throws an integrity error naming what differs. Call inside a
 * read transaction (one snapshot).
 * `rows: "counts"` checks the head, the audit log's tail, the journal and every count but the versions', and
 * leaves out the per-record part (the records' MACs and revisions, the versions count, the stale join).
 */
export function checkLiveRows(
  sql: SqlDb,
  key: HeadKey,
  auditKey: Buffer,
  opts: { full: boolean; rows?: "all" | "counts" },
): VaultHead {
  const head = loadHead(sql, key);
  const want = head.state;
  const audit = auditHeadOf(sql, auditKey);
  if (audit.count !== want.audit.count || audit.hash !== want.audit.hash) {
    throw tampered(
      sql.path,
      `the audit log's head (${audit.count} entries) is not the one the vault head signed (${want.audit.count} entries)`,
    );
  }
  const last = sql.get<{ seq: number; hash: string }>(
    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
  );
  if ((last?.seq ?? 0) !== audit.count || (last && last.hash !== audit.hash)) {
    throw tampered(sql.path, `the audit log does not end at its signed head (entry ${audit.count})`);
  }
  if (opts.rows === "counts") {
    checkCounts(sql, key, want);
    return head;
  }
  const live = computeState(sql, key, auditKey, { countVersions: false });
  const versions = versionsWalk(sql);
  live.versions = versions.count;
  const differs: string[] = [];
  if (live.records.n !== want.records.n || live.records.x !== want.records.x) {
    differs.push(
      `records (${live.records.n} live, the head signed ${want.records.n}${live.records.n === want.records.n ? " with other revisions" : ""})`,
    );
  }
  if (live.versions !== want.versions)
    differs.push(`saved versions (${live.versions}, the head signed ${want.versions})`);
  if (live.folders !== want.folders)
    differs.push(`folders (${live.folders}, the head signed ${want.folders})`);
  if (live.history.n !== want.history.n || live.history.last !== want.history.last) {
    differs.push(
      `rotation history (${live.history.n} rows up to seq ${live.history.last}, the head signed ${want.history.n} up to ${want.history.last})`,
    );
  }
  if (live.journal.n !== want.journal.n || live.journal.x !== want.journal.x) {
    differs.push(`journal (${live.journal.n} entries, the head signed ${want.journal.n}, or their content)`);
  }
  if (differs.length)
    throw tampered(sql.path, `these rows differ from its signed head: ${differs.join("; ")}`);
  if (versions.stale === 0 && versions.pointed === live.records.n) {
    if (opts.full) checkNewestVersions(sql);
    return head;
  }
  // Which record: one join walked in UID order (records' key, then record_versions' range for that UID).
  const stale = sql.get<{ uid: string; revision: number; newest: number }>(
    `SELECT r.uid, r.revision, MAX(v.revision) AS newest
     FROM records r LEFT JOIN record_versions v ON v.uid = r.uid
     GROUP BY r.uid HAVING newest IS NULL OR newest <> r.revision LIMIT 1`,
  );
  if (stale) {
    throw tampered(
      sql.path,
      `record ${stale.uid} is at revision ${stale.revision} but its newest saved version is ${stale.newest ?? "missing"} (rolled back)`,
    );
  }
  // The walk found what the join did not: never expected, refused all the same.
  throw tampered(sql.path, "the saved versions do not match the live records (rolled back)");
}

/**
 * One walk of record_versions in the order it is stored (its key: UID, revision), each UID's newest revision
 * looked up against its live row: the number of versions, how many live records have versions (all of them
 * should), and how many of those point at something other than their newest version (none should). It
 * replaces COUNT(*) plus the stale-version join, which walked the versions twice (about 60 ms less at
 * 100,000 records, every time the vault opens); the join still names the record when this finds one.
 */
function versionsWalk(sql: SqlDb): { count: number; pointed: number; stale: number } {
  const r = sql.get<{ count: number | null; pointed: number; stale: number | null }>(
    `SELECT SUM(g.n) AS count, COUNT(r.uid) AS pointed, SUM(r.revision <> g.newest) AS stale
     FROM (SELECT uid, MAX(revision) AS newest, COUNT(*) AS n FROM record_versions GROUP BY uid) g
     LEFT JOIN records r ON r.uid = g.uid`,
  );
  return { count: r?.count ?? 0, pointed: r?.pointed ?? 0, stale: r?.stale ?? 0 };
}

/**
 * The scoped open's part: the number of live records (COUNT(*) answered from the small title index), the
 * folders, the rotation history and the journal (a handful of rows, checked whole), against the head.
 */
function checkCounts(sql: SqlDb, key: HeadKey, want: VaultState): void {
  const differs: string[] = [];
  const records = count(sql, "records");
  if (records !== want.records.n)
    differs.push(`records (${records} live, the head signed ${want.records.n})`);
  const folders = count(sql, "folders");
  if (folders !== want.folders) differs.push(`folders (${folders}, the head signed ${want.folders})`);
  const history = { n: 0, last: 0 };
  if (historyTableExists(sql)) {
    history.n = count(sql, "rotation_history");
    history.last = sql.get<{ m: number | null }>("SELECT MAX(seq) AS m FROM rotation_history")?.m ?? 0;
  }
  if (history.n !== want.history.n || history.last !== want.history.last) {
    differs.push(
      `rotation history (${history.n} rows up to seq ${history.last}, the head signed ${want.history.n} up to ${want.history.last})`,
    );
  }
  const journal = { n: 0, x: emptyState(want.audit).journal.x };
  for (const j of sql.iterate<JournalRow>("SELECT * FROM journal")) {
    journal.n++;
    journal.x = xorHex(journal.x, key.journalMac(j));
  }
  if (journal.n !== want.journal.n || journal.x !== want.journal.x) {
    differs.push(`journal (${journal.n} entries, the head signed ${want.journal.n}, or their content)`);
  }
  if (differs.length)
    throw tampered(sql.path, `these rows differ from its signed head: ${differs.join("; ")}`);
}

/**
 * One record read by a scoped store: it must point at its newest saved version (a records row put back to an
 * older revision, or a deleted record's row put back, is a rollback). Its row MAC and its version's
 * ciphertext are checked where it is decrypted.
 */
export function checkNewest(sql: SqlDb, uid: string, revision: number): void {
  const newest = sql.get<{ r: number | null }>(
    "SELECT MAX(revision) AS r FROM record_versions WHERE uid = ?",
    uid,
  )?.r;
  if (newest !== revision) {
    throw tampered(
      sql.path,
      `record ${uid} is at revision ${revision} but its newest saved version is ${newest ?? "missing"} (rolled back)`,
    );
  }
}

/** Every UID's newest version: a live record must point at it, a deleted one must have no live row. */
function checkNewestVersions(sql: SqlDb): void {
  const live = new Map<string, number>();
  for (const r of sql.iterate<{ uid: string; revision: number }>("SELECT uid, revision FROM records")) {
    live.set(r.uid, r.revision);
  }
  for (const v of sql.iterate<{ uid: string; revision: number; deleted: number }>(
    "SELECT uid, MAX(revision) AS revision, deleted FROM record_versions GROUP BY uid",
  )) {
    const current = live.get(v.uid);
    if (v.deleted === 1 && current !== undefined) {
      throw tampered(sql.path, `record ${v.uid} was deleted at revision ${v.revision} but is live again`);
    }
    if (v.deleted === 0 && current !== v.revision) {
      throw tampered(
        sql.path,
        current === undefined
          ? `record ${v.uid} (revision ${v.revision}) has no live row: it was deleted outside rekey`
          : `record ${v.uid} is at revision ${current}, older than its newest version ${v.revision}`,
      );
    }
  }
}

/** The audit hash after entry `seq` (0: the genesis hash), for comparing with an expected head. */
export function auditHashAt(sql: SqlDb, auditKey: Buffer, vaultId: string, seq: number): string | undefined {
  if (seq === 0) return genesisHash(auditKey, vaultId);
  return sql.get<{ hash: string }>("SELECT hash FROM audit WHERE seq = ?", seq)?.hash;
}

/** Compare with an expected head line; throws an integrity error (a usage error for a malformed line). */
export function checkExpectedHead(
  sql: SqlDb,
  key: HeadKey,
  head: VaultHead,
  expected: string,
  from: string,
  auditKey: Buffer,
  vaultId: string,
): void {
  const line = parseHeadLine(expected);
  if (!line) {
    throw usageError(
      `${from} is not a rekey head line`,
      "give the line `rekey audit head` printed (rekey-head-v1:...)",
    );
  }
  const problem = compareHeads(key, head, line, (seq) => auditHashAt(sql, auditKey, vaultId, seq));
  if (problem) {
    throw integrityError(
      `vault ${sql.path} does not match ${from}: ${problem}`,
      "the vault file was replaced by an older or another copy: restore the newest backup, and find out who replaced it",
    );
  }
}

/** Read an anchor file; undefined when it does not exist yet. */
export function readAnchorFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw usageError(`cannot read the head file ${path}: ${(err as Error).message}`, "check its permissions");
  }
}

/** Replace the anchor file with `line` (atomic rename), unless it already holds a later generation. */
export function writeAnchorFile(path: string, key: HeadKey, head: VaultHead): void {
  const current = existsSync(path) ? parseHeadLine(readAnchorFile(path) ?? "") : undefined;
  if (current && current.gen >= head.gen) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${formatHeadLine(key, head)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
