/**
 * "Another process holds this record": a conflict (exit 4) that the gateway treats apart from other
 * failures. Losing a race is not a failure: the attempt is recorded as skipped and never retried blindly
 * (a retry would rotate the record a second time and delete the key the winner just produced); the
 * gateway re-plans from the vault once the lock is free.
 */
import { RekeyError } from "../errors.js";

export function lockHeld(message: string, hint: string): RekeyError {
  return new RekeyError("conflict", message, { hint, details: { lockHeld: true } });
}

export function isLockHeld(err: unknown): boolean {
  return err instanceof RekeyError && err.details?.lockHeld === true;
}
