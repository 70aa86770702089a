/** How a record is shown: secret values masked unless revealed, control characters escaped. */
import { isSecretField, type KeeperRecord, type RecordField } from "../vault/record.js";
import { printable } from "./printable.js";

export const MASK = "********";

export function maskRecord(r: KeeperRecord): KeeperRecord {
  const mask = (f: RecordField): RecordField =>
    isSecretField(f) && f.value.length > 0 ? { ...f, value: f.value.map(() => MASK) } : f;
  return { ...r, fields: r.fields.map(mask), custom: r.custom.map(mask) };
}

function valueText(f: RecordField): string {
  return printable(f.value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(", "));
}

function nameOf(f: RecordField): string {
  return printable(f.label ?? f.type);
}

export function renderRecord(
  r: KeeperRecord,
  meta: { uid: string; revision: number; folder?: string | null },
): string {
  const lines = [
    `UID:      ${meta.uid}`,
    `Type:     ${printable(r.type)}`,
    `Title:    ${printable(r.title)}`,
    `Revision: ${meta.revision}`,
  ];
  if (meta.folder) lines.push(`Folder:   ${printable(meta.folder)}`);
  const fields = r.fields.filter((f) => f.value.length > 0);
  if (fields.length > 0) {
    lines.push("Fields:");
    for (const f of fields) lines.push(`  ${nameOf(f)}: ${valueText(f)}`);
  }
  if (r.custom.length > 0) {
    lines.push("Custom:");
    for (const f of r.custom) lines.push(`  ${nameOf(f)} (${printable(f.type)}): ${valueText(f)}`);
  }
  if (r.notes) lines.push("Notes:", ...r.notes.split("\n").map((l) => `  ${printable(l)}`));
  return `${lines.join("\n")}\n`;
}
