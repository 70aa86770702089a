/** Address records and folders on the command line by UID or by unique title/name. */
import { conflict, notFound } from "../errors.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import type { Folder, StoredRecord, VaultStore } from "../vault/store.js";

export function resolveRecord(store: VaultStore, ref: string): StoredRecord {
  const byUid = store.getRecord(ref);
  if (byUid) return byUid;
  return pick(store.findByTitle(ref), ref, store.description);
}

function pick(matches: StoredRecord[], ref: string, description: string): StoredRecord {
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

/** resolveRecord on the async port (the local vault or a Keeper vault). */
export async function resolveRecordAsync(store: AsyncVaultStore, ref: string): Promise<StoredRecord> {
  const byUid = await store.getRecord(ref);
  if (byUid) return byUid;
  return pick(await store.findByTitle(ref), ref, store.description);
}

export function resolveFolder(store: VaultStore, ref: string): Folder {
  const folders = store.listFolders();
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
