/**
 * Where a schedule lives in the vault. Pure record helpers (copies in, copies out).
 *
 * - A PAM User record: a custom field `{"type":"schedule","label":"rotationSchedule","value":[...]}`.
 *   The value is Keeper's own shape for a schedule field: `[{...Keeper schedule JSON...}]`, or `[]`
 *   for "on demand only" (`none`), the same as the configuration's `defaultRotationSchedule`.
 * - No such field: the record inherits its PAM configuration's `defaultRotationSchedule`
 *   (keeper-protocol.md §2); none there either: on demand only.
 *
 * So `rekey record schedule R none` (field present, `[]`) and "never scheduled" (field absent) differ
 * exactly when the configuration has a default: the first opts the record out of it.
 */
import { usageError } from "../errors.js";
import { cloneRecord, findField, type KeeperRecord, removeField, setFieldValue } from "../vault/record.js";
import { parseSchedule, type Schedule, toKeeperJson } from "./schedule.js";
import { fromKeeperJson } from "./schedule-keeper.js";

export const SCHEDULE_FIELD_TYPE = "schedule";
export const SCHEDULE_LABEL = "rotationSchedule";
export const DEFAULT_SCHEDULE_LABEL = "defaultRotationSchedule";

/** The field value a schedule is stored as: `[]` or `[keeperJson]`. */
export function scheduleFieldValue(s: Schedule): unknown[] {
  const json = toKeeperJson(s);
  return json ? [json] : [];
}

/** A copy of `record` with its schedule set (`none` stores `[]`, opting out of the default). */
export function setRecordSchedule(record: KeeperRecord, s: Schedule): KeeperRecord {
  const out = cloneRecord(record);
  setFieldValue(out, SCHEDULE_LABEL, scheduleFieldValue(s), { type: SCHEDULE_FIELD_TYPE });
  return out;
}

/** A copy of `record` without a schedule field: it follows its configuration's default again. */
export function clearRecordSchedule(record: KeeperRecord): KeeperRecord {
  const out = cloneRecord(record);
  removeField(out, SCHEDULE_LABEL);
  return out;
}

/**
 * The schedule stored in `label` (default `rotationSchedule`), or undefined when the record has no
 * such field. Reads liberally: an object, a JSON string, or cron/`every` text in the value.
 * @throws RekeyError (usage) naming the record when the stored value is not a schedule.
 */
export function readRecordSchedule(record: KeeperRecord, label = SCHEDULE_LABEL): Schedule | undefined {
  const ref = findField(record, label);
  if (!ref || ref.field.label !== label) return undefined;
  try {
    const values = ref.field.value;
    const [only] = values;
    if (values.length === 1 && typeof only === "string") {
      return only.trim().startsWith("{") ? fromKeeperJson(values) : parseSchedule(only);
    }
    return fromKeeperJson(values);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw usageError(
      `record "${record.title}" has an invalid ${label}: ${why}`,
      `set it again: rekey record schedule "${record.title}" SCHEDULE (or "none")`,
    );
  }
}

export type ScheduleSource = "record" | "configuration" | "none";

/** The schedule that applies to a user record: its own, else the configuration's default, else none. */
export function effectiveSchedule(
  user: KeeperRecord,
  configuration?: KeeperRecord,
): { schedule: Schedule; source: ScheduleSource } {
  const own = readRecordSchedule(user);
  if (own) return { schedule: own, source: "record" };
  const inherited = configuration ? readRecordSchedule(configuration, DEFAULT_SCHEDULE_LABEL) : undefined;
  // An empty default (a new configuration's `[]`) is no default.
  if (inherited && inherited.kind !== "none") return { schedule: inherited, source: "configuration" };
  return { schedule: { kind: "none" }, source: "none" };
}
