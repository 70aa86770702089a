/**
 * Script files in the vault. Keeper keeps an attached script as a file attachment; rekey's vault has
 * no attachments, so a script is its own record, and `fileRef` in `rotationScripts` is that record's
 * UID. The record (encrypted at rest like every record):
 *
 * ```json
 * { "type": "file", "title": "rotate-aws-key.mjs", "notes": "rekey post-rotation script",
 *   "fields": [ {"type": "text",   "label": "fileName", "value": ["rotate-aws-key.mjs"]},
 *               {"type": "text",   "label": "size",     "value": ["1234"]},
 *               {"type": "text",   "label": "sha256",   "value": ["<hex>"]},
 *               {"type": "secret", "label": "content",  "value": ["<base64 of the bytes>"]} ],
 *   "custom": [] }
 * ```
 *
 * Why `secret` for the content: a script may embed credentials, so it is masked by `record show`
 * like any hidden field. Why base64: scripts are bytes (a BOM, CRLF, a bundled binary) and must run
 * exactly as attached; sha256 is checked on every read.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { integrityError, usageError } from "../errors.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";

export const SCRIPT_FILE_TYPE = "file";
/** Scripts are small; a bundled Node script with its dependencies stays well under this. */
export const MAX_SCRIPT_BYTES = 8 * 1024 * 1024;

export interface ScriptFile {
  fileName: string;
  content: Buffer;
  sha256: string;
}

/**
 * A new `file` record holding a script. `fileName` is reduced to its base name (the extension matters:
 * `pwsh` needs `.ps1`).
 * @throws usage error for an empty or oversized file, or a name with spaces (Keeper refuses them).
 */
export function newScriptFileRecord(fileName: string, content: Uint8Array | string): KeeperRecord {
  const name = basename(fileName.trim());
  if (!name || /\s/.test(name)) {
    throw usageError(
      `script file name "${fileName}" is empty or has spaces`,
      "rename it, e.g. rotate-key.mjs",
    );
  }
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
  if (bytes.length === 0)
    throw usageError(`script file "${name}" is empty`, "attach a file with the script in it");
  if (bytes.length > MAX_SCRIPT_BYTES) {
    throw usageError(
      `script file "${name}" is ${bytes.length} bytes; the limit is ${MAX_SCRIPT_BYTES}`,
      "attach a smaller script (bundle only what it needs)",
    );
  }
  return {
    type: SCRIPT_FILE_TYPE,
    title: name,
    notes: "rekey post-rotation script",
    fields: [
      { type: "text", label: "fileName", value: [name] },
      { type: "text", label: "size", value: [String(bytes.length)] },
      { type: "text", label: "sha256", value: [sha256(bytes)] },
      { type: "secret", label: "content", value: [bytes.toString("base64")] },
    ],
    custom: [],
  };
}

/**
 * The script held by a `file` record, its checksum verified.
 * @throws usage error if the record is not a script file; integrity error if the content changed.
 */
export function readScriptFile(record: KeeperRecord, uid = "?"): ScriptFile {
  const encoded = getFieldValue(record, "content");
  if (record.type !== SCRIPT_FILE_TYPE || !encoded) {
    throw usageError(
      `record "${record.title}" (${uid}) is not a script file`,
      "attach scripts with: rekey record script add RECORD FILE --command CMD",
    );
  }
  const content = Buffer.from(encoded, "base64");
  const want = getFieldValue(record, "sha256");
  const got = sha256(content);
  if (want && want !== got) {
    throw integrityError(
      `script file "${record.title}" (${uid}) does not match its checksum`,
      "attach the script again: rekey record script add",
    );
  }
  return { fileName: getFieldValue(record, "fileName") || record.title, content, sha256: got };
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}
