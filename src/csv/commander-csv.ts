/**
 * Keeper Commander CSV (keeper-protocol.md §3): no header; columns
 * `folder, title, login, password, url, notes, shared folder`, then name/value pairs where a name is a
 * custom text field's label, `$type`, `$record_uid`, `$<fieldType>` or `$<fieldType>:<label>`.
 *
 * Differences from Commander, on purpose: an optional header row starting `folder,title,login` is
 * accepted; a pair with a name and an empty value creates the (empty) field, so the seed's template
 * keeps its empty aws_access_key_id/secret fields; a malformed row is an error with its line number
 * rather than skipped, because import is all or nothing. A `$type` is checked: a known type in the
 * wrong case (`pamuser`) is corrected with a notice, an unknown one refuses the import (Keeper would
 * make it a record rekey and the gateway never rotate, without a word). A cell `'<formula>` (how
 * `rekey export csv` and spreadsheets neutralize formulas) is read without its quote (formula-cells.ts).
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { usageError } from "../errors.js";
import {
  findField,
  type KeeperRecord,
  knownTypeIgnoringCase,
  looksLikeUid,
  newRecord,
  RECORD_TYPES,
  type RecordField,
} from "../vault/record.js";
import { unneutralizeCell } from "./formula-cells.js";

export interface CsvRecord {
  /** 1-based line number in the file (for messages). */
  line: number;
  record: KeeperRecord;
  uid?: string;
  /** Folder path under the shared folder (or the root), split on `\`. */
  folderPath: string[];
  /** Shared folder name, without `#edit`/`#reshare` flags. */
  sharedFolder?: string;
  /** What was read differently from how it was written (e.g. a `$type` case fixed), for the user. */
  notices: string[];
}

/** Field types whose values are JSON objects in Keeper records: CSV carries them as JSON text. */
const OBJECT_FIELD_TYPES = new Set([
  "schedule",
  "pamResources",
  "script",
  "pamHostname",
  "host",
  "name",
  "address",
  "phone",
  "keyPair",
  "bankCard",
  "paymentCard",
  "securityQuestion",
]);

const STANDARD_COLUMNS = 7;

function parseRows(text: string): Array<{ line: number; cells: string[] }> {
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
    }) as unknown as typeof rows;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw usageError(
      `the CSV is malformed${e.lines ? ` at line ${e.lines}` : ""}: ${e.message}`,
      "fix the file (quote values that contain commas, close every quote) and import again: nothing was imported",
    );
  }
  return rows.map((r) => ({ line: r.info.lines, cells: r.record }));
}

function bad(line: number, problem: string, fix: string): Error {
  return usageError(`line ${line}: ${problem}; nothing was imported`, fix);
}

function parseValue(type: string, raw: string, line: number, name: string): unknown {
  if (OBJECT_FIELD_TYPES.has(type) && /^[[{]/.test(raw.trim())) {
    try {
      return JSON.parse(raw);
    } catch {
      throw bad(
        line,
        `the value of "${name}" is not valid JSON`,
        `write the ${type} value as JSON or leave it empty`,
      );
    }
  }
  return raw;
}

/** Parse Commander CSV text into records. Throws a usage error naming the first bad line. */
export function parseCommanderCsv(text: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  for (const { line, cells: raw } of parseRows(text)) {
    const cells = raw.map(unneutralizeCell); // `rekey export csv` quoted formula cells: undo it
    if (cells.every((c) => c.trim() === "")) continue;
    if (out.length === 0 && cells[0]?.toLowerCase() === "folder" && cells[1]?.toLowerCase() === "title")
      continue;
    if (cells.length < 6) {
      throw bad(
        line,
        `expected at least 6 columns (folder, title, login, password, url, notes), found ${cells.length}`,
        "add the missing columns (empty ones are fine: ,,)",
      );
    }
    const [folder = "", title = "", login = "", password = "", url = "", notes = "", shared = ""] = cells;
    if (!title.trim()) throw bad(line, "the title (column 2) is empty", "give every record a title");
    const pairs = cells.slice(STANDARD_COLUMNS);
    if (pairs.length % 2 === 1 && pairs.at(-1) !== "") {
      throw bad(
        line,
        `the custom field "${pairs.at(-1)}" has no value column`,
        "write custom fields as name,value pairs",
      );
    }
    let type = "login";
    const notices: string[] = [];
    let uid: string | undefined;
    const custom: Array<{ field: RecordField; typed: boolean }> = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const name = pairs[i]!;
      const value = pairs[i + 1]!;
      if (name === "") {
        if (value !== "")
          throw bad(line, `a value "${value.slice(0, 20)}" has no field name`, "name every custom field");
        continue;
      }
      if (name === "$type") {
        if (!value) throw bad(line, "$type is empty", "give a record type such as pamUser");
        const known = knownTypeIgnoringCase(value);
        if (!known)
          throw bad(line, `unknown record type $type "${value}"`, `use one of: ${RECORD_TYPES.join(", ")}`);
        if (known !== value) notices.push(`$type "${value}" read as "${known}"`);
        type = known;
      } else if (name === "$record_uid") {
        if (value && !looksLikeUid(value))
          throw bad(
            line,
            `$record_uid "${value}" is not a record UID`,
            "use a 22-character UID or drop the column",
          );
        if (value) uid = value;
      } else if (name.startsWith("$")) {
        const m = /^\$([A-Za-z][A-Za-z0-9]*)(?::(.*))?$/.exec(name);
        if (!m)
          throw bad(
            line,
            `"${name}" is not a field name`,
            "use $<fieldType>:<label>, e.g. $secret:aws_secret_access_key",
          );
        const ftype = m[1]!;
        const label = m[2];
        const field: RecordField = label ? { type: ftype, label, value: [] } : { type: ftype, value: [] };
        if (value !== "") field.value = [parseValue(ftype, value, line, name)];
        custom.push({ field, typed: !label });
      } else {
        custom.push({
          field: { type: "text", label: name, value: value === "" ? [] : [value] },
          typed: false,
        });
      }
    }
    const record = newRecord(type, title, notes);
    const setStd = (ftype: string, v: string) => {
      if (!v) return;
      const f = record.fields.find((x) => x.type === ftype && !x.label);
      if (f) f.value = [v];
      else record.fields.push({ type: ftype, value: [v] });
    };
    setStd("login", login);
    setStd("password", password);
    setStd("url", url);
    for (const { field, typed } of custom) {
      // A typed field without label fills the record's standard field of that type when it has one.
      const std = typed
        ? record.fields.find((x) => x.type === field.type && !x.label && x.value.length === 0)
        : undefined;
      const labelled = !typed
        ? record.fields.find((x) => x.label === field.label && x.type === field.type)
        : undefined;
      if (std) std.value = field.value;
      else if (labelled) labelled.value = field.value;
      else record.custom.push(field);
    }
    const sharedFolder = shared
      .replace(/#(edit|reshare)+$/i, "")
      .replace(/#edit|#reshare/gi, "")
      .trim();
    const folderPath = folder
      .split("\\")
      .map((s) => s.trim())
      .filter(Boolean);
    out.push({
      line,
      record,
      folderPath,
      notices,
      ...(uid ? { uid } : {}),
      ...(sharedFolder ? { sharedFolder } : {}),
    });
  }
  return out;
}

function cellValue(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string"
    ? v
    : typeof v === "number" || typeof v === "boolean"
      ? String(v)
      : JSON.stringify(v);
}

/** One record as a Commander CSV row (cells). */
export function recordToCells(
  r: KeeperRecord,
  place: { folderPath?: string[]; sharedFolder?: string } = {},
  /** The record's UID: written as `$record_uid` so an import keeps it (and what refers to it). */
  uid?: string,
): string[] {
  const taken = new Set<RecordField>();
  const std = (type: string) => {
    const f = r.fields.find((x) => x.type === type && !x.label);
    if (!f) return "";
    taken.add(f);
    return cellValue(f.value[0]);
  };
  const cells = [
    (place.folderPath ?? []).join("\\"),
    r.title,
    std("login"),
    std("password"),
    std("url"),
    r.notes,
    place.sharedFolder ?? "",
  ];
  if (r.type !== "login") cells.push("$type", r.type);
  if (uid) cells.push("$record_uid", uid);
  const emit = (f: RecordField, isCustom: boolean) => {
    const name =
      isCustom && f.type === "text" && f.label && !f.label.startsWith("$")
        ? f.label
        : `$${f.type}${f.label ? `:${f.label}` : ""}`;
    const values = f.value.length === 0 ? [""] : f.value;
    for (const v of values) cells.push(name, cellValue(v));
  };
  for (const f of r.fields) {
    if (taken.has(f)) continue;
    // Empty standard fields are recreated by the type on import: leave them out.
    if (f.value.length === 0) continue;
    emit(f, false);
  }
  for (const f of r.custom) emit(f, true);
  return cells;
}

export function toCommanderCsv(rows: string[][]): string {
  return stringify(rows, { record_delimiter: "\n" });
}

/** Used by tests and `template`: read back a field of a parsed row. */
export function csvField(r: CsvRecord, name: string): RecordField | undefined {
  return findField(r.record, name)?.field;
}
