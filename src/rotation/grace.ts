/**
 * When a record's previous keys next need attention (pure, from the record alone): the end of the overlap,
 * the recheck of a key held because it is still in use, or the end of `old_key_grace` (retire.ts). A
 * running gateway, `rekey repair`, or the next rotation then takes the next step, whichever comes first.
 * Graceful without `old_key_grace` waits for the next rotation.
 */
import type { KeeperRecord } from "../vault/record.js";
import { retirementDueAt } from "./retire.js";
import { readKeyState, readSettings, retireSettingsFor } from "./settings.js";

/** When the record's previous key(s) next need a step; undefined when nothing waits on a clock. */
export function graceExpiresAt(record: KeeperRecord): Date | undefined {
  const state = readKeyState(record);
  if (state.previousKeyIds.length === 0) return undefined;
  try {
    return retirementDueAt(state, retireSettingsFor(readSettings(record)));
  } catch {
    return undefined;
  }
}

/** True when the record's previous keys need a step at `now` (AWS not asked yet). */
export function graceDue(record: KeeperRecord, now: Date): boolean {
  const at = graceExpiresAt(record);
  return at !== undefined && now.getTime() >= at.getTime();
}
