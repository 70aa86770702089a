/**
 * A record by UID, else by unique title: how users address records everywhere (CLI arguments, settings
 * fields such as `rotation_credentials`, `gateway --rotate`). One rule, one wording of its errors.
 */
import { conflict, notFound } from "../errors.js";
import type { AsyncVaultStore } from "./async-store.js";
import type { StoredRecord, VaultStore } from "./store.js";

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

/** On the synchronous (local) store. */
export function findRecordSync(store: VaultStore, ref: string): StoredRecord {
  return store.getRecord(ref) ?? pickByTitle(store.findByTitle(ref), ref, store.description);
}

/**
 * On the async port (the local vault or a Keeper vault).
 *
 * @example
 * const user = await findRecord(store, "alice (AWS)"); // or its UID
 */
export async function findRecord(store: AsyncVaultStore, ref: string): Promise<StoredRecord> {
  return (await store.getRecord(ref)) ?? pickByTitle(await store.findByTitle(ref), ref, store.description);
}
