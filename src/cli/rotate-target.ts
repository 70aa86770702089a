/**
 * `rekey rotate`'s target on the command line: one record, or a fleet selection (--all, --folder,
 * --older-than, --due), checked (pure). Apart from fleet-select.ts (which picks the records and needs the
 * scheduler and `rekey status`'s model): a single rotation loads only this.
 */
import { usageError } from "../errors.js";
import { parseDuration } from "../rotation/settings.js";

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
