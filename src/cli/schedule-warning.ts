/**
 * The gateway reads a `rotationSchedule` only from pamUser records (and `defaultRotationSchedule`
 * from their pamAwsConfiguration). A schedule stored anywhere else is kept but does nothing: the
 * seed's template imports as `login` until it is converted, and nothing would say so.
 */
import { DEFAULT_SCHEDULE_LABEL, SCHEDULE_LABEL } from "../gateway/schedule-field.js";
import { findField, type KeeperRecord } from "../vault/record.js";

/**
 * The warning for a record holding a non-empty `rotationSchedule` the gateway never reads, else
 * undefined. Names the record and the command that makes the schedule count.
 * @example unreadScheduleWarning(loginRecord) // 'record "T" is a login record: the gateway rotates only …'
 */
export function unreadScheduleWarning(record: KeeperRecord): string | undefined {
  if (record.type === "pamUser") return undefined;
  const field = findField(record, SCHEDULE_LABEL)?.field;
  if (!field || field.label !== SCHEDULE_LABEL || field.value.length === 0) return undefined;
  const a = /^[aeiou]/i.test(record.type) ? "an" : "a";
  const is = `record "${record.title}" is ${a} ${record.type} record`;
  if (record.type === "pamAwsConfiguration") {
    return `${is}: the gateway reads its ${DEFAULT_SCHEDULE_LABEL}, not ${SCHEDULE_LABEL}, so this schedule does nothing; set the default with: rekey record schedule "${record.title}" SCHEDULE`;
  }
  return `${is}: the gateway rotates only pamUser records, so this schedule does nothing until you run: rekey record convert "${record.title}" --type pamUser`;
}
