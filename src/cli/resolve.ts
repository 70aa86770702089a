/** Address records and folders on the command line by UID or by unique title/name. */
import { conflict, notFound } from "../errors.js";
import { findRecord, findRecordSync } from "../vault/find-record.js";
import type { Folder, VaultStore } from "../vault/store.js";

/** A record by UID, else by unique title (vault/find-record.ts). */
export const resolveRecord = findRecordSync;
/** resolveRecord on the async port (the local vault or a Keeper vault). */
export const resolveRecordAsync = findRecord;

export function resolveFolder(store: VaultStore, ref: string): Folder {
  return pickFolder(store.listFolders(), ref);
}

/**
 * A folder by UID, else by unique name: on a folder listing from either store (the local vault or a Keeper vault).
 */
export function pickFolder(folders: readonly Folder[], ref: string): Folder {
  const byUid = folders.find((f) => f.uid === ref);
  if (byUid) return byUid;
  const matches = folders.filter((f) => f.name === ref);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw notFound(
      `no folder with UID or name "${ref}"`,
      "list them with: rekey folder list, or create it: rekey folder add NAME",
    );
  }
  throw conflict(
    `the folder name "${ref}" is ambiguous: ${matches.map((m) => m.uid).join(", ")}`,
    "address the folder by its UID",
  );
}
