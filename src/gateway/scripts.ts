/**
 * Post-rotation scripts attached to a record, in Keeper's shape (keeper-protocol.md §1): a field of
 * type `script` labelled `rotationScripts` whose values are
 * `{"fileRef": "<file uid>", "recordRef": ["<uid>", ...], "command": "node"}`.
 *
 * In rekey's vault `fileRef` is the UID of a `file` record holding the script (script-file.ts); as in
 * Keeper, the UID is also listed in the record's `fileRef` field (its attachments).
 * Pure helpers: records in, copies out.
 */
import { conflict, notFound, usageError } from "../errors.js";
import { cloneRecord, findField, type KeeperRecord, setFieldValue } from "../vault/record.js";

export const SCRIPTS_LABEL = "rotationScripts";
export const SCRIPT_FIELD_TYPE = "script";

export interface RotationScript {
  /** UID of the script file (in rekey: a `file` record). */
  fileRef: string;
  /** Extra records handed to the script in `records` ("rotation credentials"). */
  recordRef: string[];
  /** The interpreter, e.g. `node`, `python3`, `/usr/bin/pwsh -File`. Never holds secrets. */
  command: string;
  /** Keeper's other properties, kept as they come. */
  [extra: string]: unknown;
}

/**
 * The command as argv (split on whitespace; no shell, no quoting). The script path is appended.
 * @throws usage error when empty or holding control characters.
 */
export function parseCommand(command: string): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(command)) {
    throw usageError(
      "the script command holds control characters",
      'give an interpreter, e.g. --command "node"',
    );
  }
  const argv = command.trim().split(/\s+/).filter(Boolean);
  if (argv.length === 0)
    throw usageError("the script command is empty", 'give an interpreter, e.g. --command "node"');
  return argv;
}

/** The scripts attached to a record, in run order. Reads liberally (objects or JSON strings). */
export function listScripts(record: KeeperRecord): RotationScript[] {
  const ref = findField(record, SCRIPTS_LABEL);
  if (!ref) return [];
  const out: RotationScript[] = [];
  for (const v of ref.field.value) {
    let o: unknown = v;
    if (typeof v === "string") {
      try {
        o = JSON.parse(v);
      } catch {
        continue;
      }
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) continue;
    const s = o as Record<string, unknown>;
    if (typeof s.fileRef !== "string" || !s.fileRef) continue;
    const recordRef = Array.isArray(s.recordRef)
      ? s.recordRef.filter((r): r is string => typeof r === "string" && r !== "")
      : typeof s.recordRef === "string" && s.recordRef
        ? [s.recordRef]
        : [];
    out.push({
      ...s,
      fileRef: s.fileRef,
      recordRef,
      command: typeof s.command === "string" ? s.command : "",
    });
  }
  return out;
}

export interface AddScriptInput {
  fileRef: string;
  command: string;
  recordRef?: string[] | undefined;
}

/**
 * A copy of `record` with a script attached at the end of its list.
 * @throws usage error for a bad command or file UID; conflict if that file is already attached.
 */
export function addScript(record: KeeperRecord, input: AddScriptInput): KeeperRecord {
  const command = parseCommand(input.command).join(" ");
  if (!/^[A-Za-z0-9_-]+$/.test(input.fileRef)) {
    throw usageError(
      `"${input.fileRef}" is not a file UID`,
      "attach the file with: rekey record script add RECORD FILE",
    );
  }
  const scripts = listScripts(record);
  if (scripts.some((s) => s.fileRef === input.fileRef)) {
    throw conflict(
      `script ${input.fileRef} is already attached to record "${record.title}"`,
      `remove it first: rekey record script rm "${record.title}" ${input.fileRef}`,
    );
  }
  const recordRef = [...new Set(input.recordRef ?? [])];
  const out = cloneRecord(record);
  writeScripts(out, [...scripts, { fileRef: input.fileRef, recordRef, command }]);
  const files = fileRefs(out);
  if (!files.includes(input.fileRef)) setFileRefs(out, [...files, input.fileRef]);
  return out;
}

/**
 * A copy of `record` without the script `which`: its file UID, or its 1-based position in the list.
 * @throws not-found naming the record and listing what is attached.
 */
export function removeScript(
  record: KeeperRecord,
  which: string,
): { record: KeeperRecord; removed: RotationScript } {
  const scripts = listScripts(record);
  const pos = /^\d+$/.test(which) ? Number(which) - 1 : -1;
  const index = pos >= 0 && pos < scripts.length ? pos : scripts.findIndex((s) => s.fileRef === which);
  const removed = scripts[index];
  if (!removed) {
    const have = scripts.map((s, i) => `${i + 1}: ${s.fileRef} (${s.command})`).join(", ") || "none";
    throw notFound(
      `record "${record.title}" has no script "${which}" (attached: ${have})`,
      `list them: rekey record script list "${record.title}"`,
    );
  }
  const out = cloneRecord(record);
  writeScripts(
    out,
    scripts.filter((_, i) => i !== index),
  );
  setFileRefs(
    out,
    fileRefs(out).filter((f) => f !== removed.fileRef),
  );
  return { record: out, removed };
}

export interface ScriptToRun {
  /** The record the script is attached to. */
  ownerUid: string;
  /** 1-based position in its owner's list (for history names: `user#1`). */
  position: number;
  script: RotationScript;
}

/**
 * Every script to run after a rotation, in the Gateway's order: those of the user record first, then
 * the resource's, then the configuration's; each record's in listed order.
 */
export function scriptsInRunOrder(owners: {
  user: { uid: string; record: KeeperRecord };
  resource?: { uid: string; record: KeeperRecord } | undefined;
  configuration?: { uid: string; record: KeeperRecord } | undefined;
}): ScriptToRun[] {
  const out: ScriptToRun[] = [];
  for (const owner of [owners.user, owners.resource, owners.configuration]) {
    if (!owner) continue;
    listScripts(owner.record).forEach((script, i) => {
      out.push({ ownerUid: owner.uid, position: i + 1, script });
    });
  }
  return out;
}

function writeScripts(record: KeeperRecord, scripts: RotationScript[]): void {
  setFieldValue(record, SCRIPTS_LABEL, scripts, { type: SCRIPT_FIELD_TYPE });
}

/** The record's attachment list: its unlabelled `fileRef` field (pamUser has one). */
function fileRefField(record: KeeperRecord) {
  return [...record.fields, ...record.custom].find((f) => f.type === "fileRef" && !f.label);
}

function fileRefs(record: KeeperRecord): string[] {
  return fileRefField(record)?.value.filter((v): v is string => typeof v === "string") ?? [];
}

function setFileRefs(record: KeeperRecord, uids: string[]): void {
  const field = fileRefField(record);
  if (field) field.value = uids;
  else if (uids.length > 0) record.custom.push({ type: "fileRef", value: uids });
}
