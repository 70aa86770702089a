/**
 * Checks of a record's rotation settings as they are written, for the commands that write them
 * (`rekey import csv`, `rekey record add`, `rekey record edit`). Pure: no I/O.
 *
 * Why here and not only at rotation time: a typo such as `delete_all_keys_before_rotating=maybe` or
 * `NOOP=ture` used to be read as False, silently choosing the other behaviour weeks later, in the
 * gateway. Refusing it when it is written puts the error in front of the person who typed it.
 */
import { RekeyError, usageError } from "../errors.js";
import { getFieldValue, type KeeperRecord, parseStrictBool } from "../vault/record.js";
import { FIELD, parseStrategy } from "./settings.js";

/** How the gateway treats a record: rotate the key, or only run its scripts (the seed's NOOP). */
export const ROTATION_MODES = ["rotate", "scripts-only"] as const;
export type RotationMode = (typeof ROTATION_MODES)[number];

/** The record field naming the mode. */
export const ROTATION_MODE_FIELD = "rotation_mode";
/** The seed's "Run PAM scripts only" flag (the gateway's NOOP_FIELD). */
export const NOOP_FIELD = "NOOP";

/**
 * A `rotation_mode` value: empty or missing is `rotate`; case and surrounding blanks are ignored.
 * @throws RekeyError (usage) naming `where` and the accepted modes.
 * @example parseRotationMode("Scripts-Only", 'record "alice", field rotation_mode') // "scripts-only"
 */
export function parseRotationMode(value: string | undefined, where: string): RotationMode {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "") return "rotate";
  const mode = ROTATION_MODES.find((m) => m === v);
  if (mode) return mode;
  throw usageError(`${where}: unknown rotation mode "${value}"`, `use one of: ${ROTATION_MODES.join(", ")}`);
}

/** Each setting field and the parser that must accept its value (the one rotation and the gateway use). */
const CHECKS: ReadonlyArray<readonly [field: string, parse: (value: string, where: string) => unknown]> = [
  [FIELD.deleteAll, parseStrictBool],
  [NOOP_FIELD, parseStrictBool],
  [FIELD.strategy, (v, where) => (v.trim() === "" ? undefined : parseStrategy(v, where))],
  [ROTATION_MODE_FIELD, parseRotationMode],
];

/**
 * One message per setting field whose value would be refused or misread: `field NOOP: "maybe" is not
 * a yes/no value (use …)`. Empty array: fine. Messages do not name the record, so a caller can prefix
 * them (a CSV line, a title) and compare two versions of a record.
 * @example checkSettingFields(record).map((m) => `line ${n}: ${m}`)
 */
export function checkSettingFields(record: KeeperRecord): string[] {
  const problems: string[] = [];
  for (const [field, parse] of CHECKS) {
    const value = getFieldValue(record, field);
    if (value === undefined) continue;
    try {
      parse(value, `field ${field}`);
    } catch (err) {
      if (!(err instanceof RekeyError)) throw err;
      problems.push(err.hint ? `${err.message} (${err.hint})` : err.message);
    }
  }
  return problems;
}
