/**
 * A record by UID, else by unique title; a folder by UID, else by unique name: how users address records and
 * folders everywhere (CLI arguments, settings fields such as `rotation_credentials`, `gateway --rotate`), on
 * every backend. One rule, one wording of its errors.
 */
import { conflict, notFound } from "../errors.js";
import type { AsyncVaultStore } from "./async-store.js";
import type { Folder, StoredRecord } from "./store.js";

/** The one record among those with the title `ref`; not-found or ambiguous otherwise. */
function pickByTitle(matches: StoredRecord[], ref: string, description: string): StoredRecord {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw notFound(
      `no record with UID or title "${ref}" in ${description}`,
      "list them with: rekey record list",
    );
  }
  const list = matches.map((m) => `${m.uid} (${m.record.type})`).join(", ");
  throw conflict(
    `the title "${ref}" is ambiguous: ${matches.length} records have it: ${list}`,
    "address the record by its UID",
  );
}

/**
 * A record by UID, else by unique title.
 *
 * @example
 * const user = await findRecord(store, "alice (AWS)"); // or its UID
 */
export async function findRecord(store: AsyncVaultStore, ref: string): Promise<StoredRecord> {
  return (await store.getRecord(ref)) ?? pickByTitle(await store.findByTitle(ref), ref, store.description);
}

/**
 * A folder by UID, else by unique name.
 *
 * @example
 * const parent = await findFolder(store, "Production");
 */
export async function findFolder(store: AsyncVaultStore, ref: string): Promise<Folder> {
  return pickFolder(await store.listFolders(), ref);
}

/** findFolder on a folder listing already read (no I/O). */
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
