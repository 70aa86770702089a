/**
 * Import parsed CSV records into a vault store, all or nothing.
 *
 * One IAM user, one record: a row whose IAM user is already managed by a record of the vault (same login
 * in the same account scope, see rotation/same-user.ts), or by another row of the file, is refused
 * (exit 4, nothing imported), naming the existing record. Two records for one user are a trap: rotating
 * one deletes the key the other holds. With `update`, such a row updates the existing record in place
 * instead: its UID, history, scripts, schedule and folder stay, the row's non-empty values replace the
 * record's, and the vault's current key is never replaced by the file's (after a rotation the file holds
 * a deleted key). A row with `$record_uid` updates that record.
 */

import { isKeyStateField } from "../rotation/key-state-fields.js";
import { FIELD, keyFieldText } from "../rotation/settings.js";
import type { AsyncVaultStore, CommitResult, FolderRef, WriteOp } from "../vault/async-store.js";
import { getFieldValue, type KeeperRecord, type RecordField } from "../vault/record.js";
import type { Folder, StoredRecord } from "../vault/store.js";
import { requireCapabilitiesFor } from "../vault/store-capabilities.js";
import type { CsvRecord } from "./commander-csv.js";
import { planTargets } from "./import-targets.js";

export interface ImportOptions {
  /** Update the records that already manage a row's IAM user (or hold its `$record_uid`). */
  update?: boolean | undefined;
  /** Told how far the import is (for a progress line): reading the vault, checking each row, writing. */
  onProgress?: ((p: ImportProgress) => void) | undefined;
}

export type ImportProgress =
  | { phase: "reading" }
  | { phase: "checking"; done: number; total: number }
  | { phase: "writing"; total: number };

export interface ImportedRecord {
  stored: StoredRecord;
  action: "created" | "updated";
  /** Why something of the row was not taken (the vault's key kept), for the user. */
  notices: string[];
}

/** What an import will write (ops for one commit), and how each row's result is found in the commit's result. */
export interface CsvImportPlan {
  ops: WriteOp[];
  rows: Array<{ action: "created" | "updated"; index: number; notices: string[] }>;
}

/**
 * Decide the import (no I/O): for each row, a saveRecord op updating the record it targets, or a createRecord
 * op (with the folders it needs, created once each, by ref).
 */
export function planCsvImport(
  existing: StoredRecord[],
  folders: readonly Folder[],
  rows: CsvRecord[],
  opts: ImportOptions = {},
): CsvImportPlan {
  const targets = planTargets(existing, rows, opts);
  const ops: WriteOp[] = [];
  const known = folders.map((f) => ({
    name: f.name,
    parent: f.parentUid as FolderRef,
    at: f.uid as FolderRef,
  }));
  const sameParent = (a: FolderRef, b: FolderRef) =>
    a === b ||
    (typeof a === "object" && a !== null && typeof b === "object" && b !== null && a.ref === b.ref);
  const folderFor = (name: string, parent: FolderRef, shared: boolean): FolderRef => {
    const found = known.find((f) => f.name === name && sameParent(f.parent, parent));
    if (found) return found.at;
    const ref = `folder-${known.length}`;
    ops.push({ op: "createFolder", name, parentUid: parent, shared, ref });
    known.push({ name, parent, at: { ref } });
    return { ref };
  };
  let saved = 0;
  let created = 0;
  const planned = rows.map((row, i): CsvImportPlan["rows"][number] => {
    const target = targets[i];
    if (target) {
      const notices: string[] = [];
      const merged = mergeRow(target.record, row.record, notices);
      ops.push({ op: "saveRecord", uid: target.uid, record: merged, expectedRevision: target.revision });
      return { action: "updated", index: saved++, notices };
    }
    let parent: FolderRef = row.sharedFolder ? folderFor(row.sharedFolder, null, true) : null;
    for (const name of row.folderPath) parent = folderFor(name, parent, false);
    ops.push({
      op: "createRecord",
      record: row.record,
      folderUid: parent,
      ...(row.uid ? { uid: row.uid } : {}),
    });
    return { action: "created", index: created++, notices: [] };
  });
  return { ops, rows: planned };
}

/** What a commit of `plan.ops` did, per row. */
export function importedRecords(plan: CsvImportPlan, result: CommitResult): ImportedRecord[] {
  return plan.rows.map((r) => ({
    stored: (r.action === "created" ? (result.created ?? []) : result.saved)[r.index]!,
    action: r.action,
    notices: r.notices,
  }));
}

/**
 * Import into any store, in one commit (atomic where the backend is: `capabilities.atomicCommit`). The
 * caller checks the capabilities the ops need (requireCapabilitiesFor).
 */
export async function importCsvRecords(
  store: AsyncVaultStore,
  rows: CsvRecord[],
  actor: string,
  opts: ImportOptions = {},
): Promise<ImportedRecord[]> {
  opts.onProgress?.({ phase: "reading" });
  const plan = planCsvImport(await store.listRecords(), await store.listFolders(), rows, opts);
  requireCapabilitiesFor(store, plan.ops, "rekey import csv");
  // One commit (all or nothing): its progress is only that it runs.
  opts.onProgress?.({ phase: "writing", total: plan.ops.length });
  return importedRecords(plan, await store.commit(plan.ops, { actor }));
}

const isEmpty = (f: RecordField) =>
  f.value.length === 0 || f.value.every((v) => v === "" || v === null || v === undefined);

function sameField(a: RecordField, b: RecordField): boolean {
  return a.label ? a.label === b.label : !b.label && a.type === b.type;
}

/**
 * The existing record with the row's non-empty values: its type, UID, folder and anything the row lacks
 * stay (scripts and schedule included); the key state stays when the record already holds a key.
 */
function mergeRow(current: KeeperRecord, incoming: KeeperRecord, notices: string[]): KeeperRecord {
  const out = structuredClone(current);
  if (incoming.title) out.title = incoming.title;
  if (incoming.notes) out.notes = incoming.notes;
  const currentKey = keyFieldText(getFieldValue(current, FIELD.keyId));
  const fileKey = keyFieldText(getFieldValue(incoming, FIELD.keyId));
  const keepKey = currentKey !== "";
  if (keepKey && fileKey && fileKey !== currentKey) {
    notices.push(
      `kept the vault's current key ${currentKey} (and its secret and dates): the file's ${fileKey} is not the vault's`,
    );
  }
  for (const f of [...incoming.fields, ...incoming.custom]) {
    if (isEmpty(f)) continue;
    const name = f.label ?? f.type;
    // The key state a rotation writes is the vault's truth once a record has a key, never taken from a file.
    if (keepKey && isKeyStateField(name)) continue;
    const section = out.fields.some((x) => sameField(f, x)) ? out.fields : out.custom;
    const at = section.findIndex((x) => sameField(f, x));
    if (at >= 0) section[at] = { ...section[at]!, value: structuredClone(f.value) };
    else out.custom.push(structuredClone(f));
  }
  return out;
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
