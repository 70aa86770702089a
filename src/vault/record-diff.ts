/**
 * What changed between two versions of a record, by name only (field labels, or types for unlabelled
 * fields): this goes into the audit log, which is stored in clear, so it never carries values, titles or
 * notes, only the fact that they changed.
 */
import type { KeeperRecord, RecordField } from "./record.js";

export interface RecordChanges {
  /** Labels (or types) of fields added, removed or whose value changed, in record order. */
  fieldsChanged: string[];
  /** Which of the record's own properties changed: "type", "title", "notes". */
  propertiesChanged: string[];
}

function fieldNames(fields: RecordField[]): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Map<string, number>();
  for (const f of fields) {
    const base = f.label ?? f.type;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    // Two fields with one name (two `url`s) are told apart by position: "url", "url#2".
    out.set(n === 1 ? base : `${base}#${n}`, JSON.stringify(f));
  }
  return out;
}

export function diffRecords(before: KeeperRecord, after: KeeperRecord): RecordChanges {
  const a = fieldNames([...before.fields, ...before.custom]);
  const b = fieldNames([...after.fields, ...after.custom]);
  const fieldsChanged: string[] = [];
  for (const [name, json] of b) if (a.get(name) !== json) fieldsChanged.push(name);
  for (const name of a.keys()) if (!b.has(name)) fieldsChanged.push(name);
  const propertiesChanged = (["type", "title", "notes"] as const).filter((k) => before[k] !== after[k]);
  return { fieldsChanged, propertiesChanged };
}
