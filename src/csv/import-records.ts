/** Import parsed CSV records into a vault store, all or nothing. */
import { conflict } from "../errors.js";
import type { Folder, StoredRecord, VaultStore } from "../vault/store.js";
import type { CsvRecord } from "./commander-csv.js";

export function importCsvRecords(store: VaultStore, rows: CsvRecord[], actor: string): StoredRecord[] {
  for (const row of rows) {
    if (row.uid && store.getRecord(row.uid)) {
      throw conflict(
        `line ${row.line}: a record with UID ${row.uid} already exists; nothing was imported`,
        "drop the $record_uid pair to import it as a new record, or edit the existing one with rekey record edit",
      );
    }
  }
  return store.transaction(() => {
    const folders: Folder[] = store.listFolders();
    const folderFor = (name: string, parentUid: string | null, shared: boolean): string => {
      const found = folders.find((f) => f.name === name && f.parentUid === parentUid);
      if (found) return found.uid;
      const created = store.createFolder(name, { parentUid, shared, actor });
      folders.push(created);
      return created.uid;
    };
    return rows.map((row) => {
      let parent: string | null = row.sharedFolder ? folderFor(row.sharedFolder, null, true) : null;
      for (const name of row.folderPath) parent = folderFor(name, parent, false);
      return store.createRecord(row.record, {
        folderUid: parent,
        actor,
        ...(row.uid ? { uid: row.uid } : {}),
      });
    });
  });
}

/** The folder path of a record, for export: the shared folder and the sub-folders below it. */
export function folderPlace(
  folders: Folder[],
  folderUid: string | null,
): { folderPath: string[]; sharedFolder?: string } {
  const path: Folder[] = [];
  let cur = folderUid ? folders.find((f) => f.uid === folderUid) : undefined;
  while (cur) {
    path.unshift(cur);
    const parent: string | null = cur.parentUid;
    cur = parent ? folders.find((f) => f.uid === parent) : undefined;
  }
  const top = path[0];
  if (top?.shared) return { sharedFolder: top.name, folderPath: path.slice(1).map((f) => f.name) };
  return { folderPath: path.map((f) => f.name) };
}
