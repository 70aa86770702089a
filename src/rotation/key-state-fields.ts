/**
 * The key state a rotation writes into a pamUser record: the vault's truth about which key IAM holds now.
 * Anything that copies a record from elsewhere (an old version, a file) must leave these fields as they are:
 * an old value would put a key IAM already deleted back into the vault, and the next rotation would then
 * look for a key that is gone (or keep the wrong one as "previous").
 *
 * Pure; defined once here, for `rekey record restore` (and any other copy from an older source).
 */
import type { KeeperRecord, RecordField } from "../vault/record.js";
import { FIELD } from "./settings.js";

/** Every field that names a previous key (graceful, overlap, held keys) starts with this. */
export const PREVIOUS_KEY_PREFIX = "aws_previous_";

/** The key state fields by name (label), the seed's and rekey's; plus every `aws_previous_*` field. */
export const KEY_STATE_FIELDS: readonly string[] = [
  FIELD.keyId,
  FIELD.secret,
  FIELD.createDate,
  FIELD.removed,
  FIELD.userId,
  ...Object.values(FIELD).filter((name) => name.startsWith(PREVIOUS_KEY_PREFIX)),
];

/** True for a key state field name (`aws_access_key_id`, ..., any `aws_previous_*`). */
export function isKeyStateField(name: string): boolean {
  return KEY_STATE_FIELDS.includes(name) || name.startsWith(PREVIOUS_KEY_PREFIX);
}

/** A field's name as rekey addresses it: its label, else its type. */
export function fieldName(f: Pick<RecordField, "type" | "label">): string {
  return f.label ?? f.type;
}

/**
 * `version` (an older copy of the record) with the key state of `current`: every key state field of
 * `version` is replaced by `current`'s field of that name (in place, so the record's shape stays), dropped
 * when `current` has none, and `current`'s key state fields that `version` lacks are appended to the same
 * section. Everything else is `version`'s. Returns a copy; the inputs are not changed.
 *
 * @example
 * const restored = withCurrentKeyState(history[2].record, stored.record);
 */
export function withCurrentKeyState(version: KeeperRecord, current: KeeperRecord): KeeperRecord {
  const out = structuredClone(version);
  const currentState = new Map<string, { section: "fields" | "custom"; field: RecordField }>();
  for (const section of ["fields", "custom"] as const) {
    for (const f of current[section]) {
      const name = fieldName(f);
      if (isKeyStateField(name) && !currentState.has(name)) currentState.set(name, { section, field: f });
    }
  }
  const placed = new Set<string>();
  for (const section of ["fields", "custom"] as const) {
    const kept: RecordField[] = [];
    for (const f of out[section]) {
      const name = fieldName(f);
      if (!isKeyStateField(name)) {
        kept.push(f);
        continue;
      }
      const now = currentState.get(name);
      if (now && !placed.has(name)) {
        kept.push(structuredClone(now.field));
        placed.add(name);
      }
    }
    out[section] = kept;
  }
  for (const [name, { section, field }] of currentState) {
    if (!placed.has(name)) out[section].push(structuredClone(field));
  }
  return out;
}
