/**
 * Which existing record each CSV row updates, and the one-IAM-user-one-record refusals (pure), indexed.
 *
 * The rule is rotation/same-user.ts's `sameIamUser`: the same UserId when both carry one, else the same
 * non-empty login in the same account scope. It used to be applied by comparing each row with every earlier
 * row and every managed record (10,000 rows took minutes, 100,000 did not finish). Here identities go into an
 * IdentityIndex (rotation/identity-index.ts), so a row looks only at the records it can match. The answers,
 * the order of the records named and the messages are the old ones (import-targets.test.ts compares both on
 * random inputs).
 */
import { conflict } from "../errors.js";
import { IdentityIndex } from "../rotation/identity-index.js";
import { identityOf, managesIamUser } from "../rotation/same-user.js";
import { FIELD } from "../rotation/settings.js";
import { getFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import type { CsvRecord } from "./commander-csv.js";

export interface TargetOptions {
  update?: boolean | undefined;
  onProgress?: ((p: { phase: "checking"; done: number; total: number }) => void) | undefined;
}

const describe = (s: StoredRecord) => `"${s.record.title}" (${s.uid})`;

/** A row as the record it would become (for the same-user check before anything is written). */
export function asStored(row: CsvRecord, uid: string): StoredRecord {
  return { uid, revision: 0, folderUid: null, record: row.record, createdAt: "", updatedAt: "" };
}

/** For each row, the existing record it updates (undefined: a new record); throws a conflict otherwise. */
export function planTargets(
  existing: StoredRecord[],
  rows: CsvRecord[],
  opts: TargetOptions = {},
): Array<StoredRecord | undefined> {
  const configurations = [
    ...existing.filter((r) => r.record.type === "pamAwsConfiguration"),
    ...rows.filter((r) => r.record.type === "pamAwsConfiguration").map((r) => asStored(r, `line-${r.line}`)),
  ];
  const byUid = new Map<string, StoredRecord>();
  for (const r of existing) if (!byUid.has(r.uid)) byUid.set(r.uid, r);
  const managed = new IdentityIndex<{ uid: string; at: number; stored: StoredRecord }>();
  existing.forEach((r, at) => {
    if (managesIamUser(r.record))
      managed.add(identityOf(r.record, configurations), { uid: r.uid, at, stored: r });
  });
  const seen = new IdentityIndex<{ uid: string; at: number; row: CsvRecord }>();
  return rows.map((row, i) => {
    opts.onProgress?.({ phase: "checking", done: i, total: rows.length });
    if (row.uid) {
      const target = byUid.get(row.uid);
      if (target) {
        if (!opts.update) {
          throw conflict(
            `line ${row.line}: a record with UID ${row.uid} already exists; nothing was imported`,
            "import with --update to update it in place, drop the $record_uid pair to import it as a new record, or edit it with rekey record edit",
          );
        }
        return target;
      }
    }
    if (!managesIamUser(row.record)) return undefined;
    const uid = row.uid ?? `line-${row.line}`;
    const me = identityOf(row.record, configurations);
    const login = getFieldValue(row.record, FIELD.login)?.trim() ?? "";
    const twin = seen.first(me, uid);
    if (twin) {
      throw conflict(
        `lines ${twin.row.line} and ${row.line} both manage IAM user "${login}"; nothing was imported`,
        "keep one row per IAM user: rotating one record would delete the key the other holds",
      );
    }
    seen.add(me, { uid, at: i, row });
    const same = managed.matches(me, uid).map((e) => e.stored);
    if (same.length === 0) return undefined;
    if (!opts.update || same.length > 1) {
      throw conflict(
        `line ${row.line}: IAM user "${login}" is already managed by record ${same.map(describe).join(" and ")}; nothing was imported`,
        same.length > 1
          ? "the vault already holds several records for this user: remove the extra ones (rekey record rm), then import again"
          : "import with --update to update that record in place (its UID, history and scripts are kept), or remove the row",
      );
    }
    return same[0];
  });
}
