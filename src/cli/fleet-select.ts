/**
 * `rekey rotate --all | --folder | --older-than | --due`: which records a fleet rotation takes (pure).
 * The command lists the vault once (records, folders, and `rekey status`'s rows for --due) and passes the
 * listing here with the options and the time; nothing here reads a clock or a store.
 *
 * Selectors combine as AND; `--all` alone means "every record that manages an IAM user" and, with other
 * selectors, adds no restriction.
 */
import { usageError } from "../errors.js";
import { parseCreateDate } from "../gateway/scheduler.js";
import { dueNow, type UserStatus } from "../gateway/status.js";
import { managesIamUser } from "../rotation/same-user.js";
import { FIELD, parseDuration, readKeyState } from "../rotation/settings.js";
import { pickFolder } from "../vault/find-record.js";
import { getFieldValue } from "../vault/record.js";
import type { Folder, StoredRecord } from "../vault/store.js";

export interface FleetSelectors {
  all: boolean;
  /** Folder UID or name (its sub-folders included). */
  folder: string | undefined;
  /** The current key's CreateDate is older than this many ms (or the record holds no dated key). */
  olderThanMs: number | undefined;
  /** Only the records `rekey status` shows as "due now". */
  due: boolean;
}

/** What the command line asks for: one record (the single rotation) or a selection. */
export type RotateTarget = { kind: "one"; ref: string } | { kind: "many"; selectors: FleetSelectors };

export const SELECTOR_FLAGS = "--all, --folder <folder>, --older-than <age> or --due";

/** The positional record and the selector flags, checked: exactly one of the two. */
export function parseTarget(ref: string | undefined, opts: Record<string, unknown>): RotateTarget {
  const folder = typeof opts.folder === "string" ? opts.folder : undefined;
  const olderThan = typeof opts.olderThan === "string" ? opts.olderThan : undefined;
  const selectors: FleetSelectors = {
    all: opts.all === true,
    folder,
    olderThanMs: olderThan === undefined ? undefined : parseDuration(olderThan, "--older-than"),
    due: opts.due === true,
  };
  const given = [
    selectors.all && "--all",
    folder !== undefined && "--folder",
    olderThan !== undefined && "--older-than",
    selectors.due && "--due",
  ].filter((x): x is string => typeof x === "string");
  if (ref !== undefined && given.length > 0) {
    throw usageError(
      `give one record or a selection (${given.join(" ")}), not both: "${ref}" names one record`,
      `rotate one record: rekey rotate ${JSON.stringify(ref)}; or many: rekey rotate ${given.join(" ")} ... (without the record)`,
    );
  }
  if (ref !== undefined) {
    if (opts.concurrency !== undefined) {
      throw usageError(
        "--concurrency applies to several records; it was given with one record",
        `drop --concurrency, or select records with ${SELECTOR_FLAGS}`,
      );
    }
    return { kind: "one", ref };
  }
  if (given.length === 0) {
    throw usageError(
      "which records? give one record (UID or title), or select several",
      `rekey rotate RECORD, or rekey rotate with ${SELECTOR_FLAGS} (e.g. rekey rotate --folder prod --older-than 90d)`,
    );
  }
  if (folder !== undefined && folder.trim() === "") {
    throw usageError("--folder is empty", "give a folder UID or name: rekey folder list");
  }
  return { kind: "many", selectors };
}

/** `--concurrency <n>`: a positive integer, default 4. */
export function parseConcurrency(value: unknown): number {
  if (value === undefined) return 4;
  const text = String(value).trim();
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw usageError(
      `--concurrency ${String(value)} is not a positive whole number`,
      "e.g. --concurrency 4 (rotations at once; default 4)",
    );
  }
  return n;
}

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

/** The selection in words, for "no record matches ..." and the summary's heading. */
export function describeSelectors(sel: FleetSelectors): string {
  const parts: string[] = [];
  if (sel.folder !== undefined) parts.push(`in folder "${sel.folder}"`);
  if (sel.olderThanMs !== undefined)
    parts.push(`with a key older than ${humanMs(sel.olderThanMs)} (or none)`);
  if (sel.due) parts.push("due now");
  return parts.length === 0 ? "every record that manages an IAM user" : `records ${parts.join(", ")}`;
}

function humanMs(ms: number): string {
  const units: Array<[number, string]> = [
    [604_800_000, "w"],
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "m"],
    [1000, "s"],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}
