/**
 * `rekey rotate --all | --folder | --older-than | --due`: which records a fleet rotation takes (pure).
 * The command lists the vault once (records, folders, and `rekey status`'s rows for --due) and passes the
 * listing here with the options and the time; nothing here reads a clock or a store.
 *
 * Selectors combine as AND; `--all` alone means "every record that manages an IAM user" and, with other
 * selectors, adds no restriction.
 */
import { parseCreateDate } from "../gateway/scheduler.js";
import { dueNow, type UserStatus } from "../gateway/status.js";
import { managesIamUser } from "../rotation/same-user.js";
import { FIELD, readKeyState } from "../rotation/settings.js";
import { pickFolder } from "../vault/find-record.js";
import { getFieldValue } from "../vault/record.js";
import type { Folder, StoredRecord } from "../vault/store.js";
import type { FleetSelectors } from "./rotate-target.js";

export {
  describeSelectors,
  type FleetSelectors,
  parseConcurrency,
  parseTarget,
  type RotateTarget,
  SELECTOR_FLAGS,
} from "./rotate-target.js";

/** The folder and every folder under it (a Keeper record usually sits in a sub-folder of a shared one). */
export function folderTree(folders: readonly Folder[], root: Folder): Set<string> {
  const tree = new Set([root.uid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of folders) {
      if (f.parentUid !== null && tree.has(f.parentUid) && !tree.has(f.uid)) {
        tree.add(f.uid);
        grew = true;
      }
    }
  }
  return tree;
}

/** The current key's CreateDate, or null when the record holds no key or no (valid) date for it. */
export function keyCreatedAt(r: StoredRecord): Date | null {
  if (!readKeyState(r.record).currentKeyId) return null;
  return parseCreateDate(getFieldValue(r.record, FIELD.createDate));
}

export interface FleetListing {
  records: readonly StoredRecord[];
  folders: readonly Folder[];
  /** `rekey status`'s rows (computeStatus); needed only with --due. */
  status?: readonly UserStatus[] | undefined;
}

/**
 * The records the selectors take, in a stable order (title, then UID): the order of the summary.
 *
 * @example
 * selectRecords({ records, folders }, { all: false, folder: "prod", olderThanMs: 90 * 86_400_000, due: false }, now)
 */
export function selectRecords(listing: FleetListing, sel: FleetSelectors, now: Date): StoredRecord[] {
  let picked = listing.records.filter((r) => managesIamUser(r.record));
  if (sel.folder !== undefined) {
    const tree = folderTree(listing.folders, pickFolder(listing.folders, sel.folder));
    picked = picked.filter((r) => r.folderUid !== null && tree.has(r.folderUid));
  }
  if (sel.olderThanMs !== undefined) {
    const cutoff = now.getTime() - sel.olderThanMs;
    // No key, or a key of unknown age: it may be as old as any, so it is taken.
    picked = picked.filter((r) => {
      const created = keyCreatedAt(r);
      return created === null || created.getTime() < cutoff;
    });
  }
  if (sel.due) {
    if (!listing.status) throw new Error("selectRecords: --due needs the status rows");
    const due = new Set(listing.status.filter((row) => dueNow(row, now)).map((row) => row.uid));
    picked = picked.filter((r) => due.has(r.uid));
  }
  return [...picked].sort(
    (a, b) => a.record.title.localeCompare(b.record.title) || a.uid.localeCompare(b.uid),
  );
}
