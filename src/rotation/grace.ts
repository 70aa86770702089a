/**
 * When graceful's previous key is due for deletion (pure). `graceful` deactivates the previous key after
 * saving the new one and records when (`aws_previous_key_deactivated_at`); with `old_key_grace` set, the
 * key is deleted once that much time has passed (by a running gateway, `rekey repair`, or the next
 * rotation, whichever comes first). Without `old_key_grace` it waits for the next rotation.
 */
import type { KeeperRecord } from "../vault/record.js";
import { readKeyState, readSettings } from "./settings.js";

/** When the record's deactivated previous key(s) may be deleted; undefined when nothing waits on a clock. */
export function graceExpiresAt(record: KeeperRecord): Date | undefined {
  const state = readKeyState(record);
  if (state.previousKeyIds.length === 0 || !state.previousDeactivatedAt) return undefined;
  let graceMs: number | undefined;
  try {
    graceMs = readSettings(record).graceMs;
  } catch {
    return undefined;
  }
  if (graceMs === undefined) return undefined;
  return new Date(state.previousDeactivatedAt.getTime() + graceMs);
}

/** True when the grace of the record's previous key has passed at `now` (AWS not asked yet). */
export function graceDue(record: KeeperRecord, now: Date): boolean {
  const at = graceExpiresAt(record);
  return at !== undefined && now.getTime() >= at.getTime();
}
