/**
 * What a rotation writes into the pamUser record (pure), exactly as the seed does plus rekey's own
 * fields: `aws_access_key_id` (text), `aws_secret_access_key` (secret), `CreateDate` (ISO 8601 UTC),
 * `Access_Key_ID_Removed_during_previous_rotation` (comma-separated ids), created with those types
 * when missing; a new random `password` (the seed's rotation changes the dummy password too);
 * `aws_user_id`; for graceful the deactivated key ids and when.
 */
import { randomBytes } from "node:crypto";
import type { Secret } from "../secret.js";
import { cloneRecord, findField, type KeeperRecord, setFieldValue } from "../vault/record.js";
import type { RetainedKeys } from "./journal.js";
import { FIELD } from "./settings.js";

export interface RecordUpdate {
  accessKeyId: string;
  secret: Secret;
  createDate: Date;
  /** Keys this rotation deletes (before and after the save). */
  removedKeyIds: string[];
  /** Keys this rotation deactivates (graceful); empty clears the previous-key fields. */
  deactivatedKeyIds: string[];
  deactivatedAt: Date;
  userId: string | undefined;
  /** Replaced keys kept Active after the save (overlap, or held: still in use); retire.ts. */
  retained?: RetainedKeys | undefined;
}

/** The previous-key state fields, cleared when no previous key is left (only those that exist). */
const PREVIOUS_FIELDS = [
  FIELD.previousKeyIds,
  FIELD.previousDeactivatedAt,
  FIELD.previousSince,
  FIELD.previousActiveUntil,
  FIELD.previousHeldAt,
  FIELD.previousRetire,
] as const;

/** Write the previous-key state (retire.ts); an empty key list clears the fields that exist. */
export function setPreviousKeyState(
  r: KeeperRecord,
  s: {
    keyIds: string[];
    deactivatedAt?: Date | undefined;
    since?: Date | undefined;
    activeUntil?: Date | undefined;
    heldAt?: Date | undefined;
    retire?: "delete" | "deactivate" | undefined;
  },
): void {
  if (s.keyIds.length === 0) {
    for (const label of PREVIOUS_FIELDS) if (findField(r, label)) setFieldValue(r, label, "");
    return;
  }
  const put = (label: string, value: string | undefined) => {
    if (value) setFieldValue(r, label, value, { type: "text" });
    else if (findField(r, label)) setFieldValue(r, label, "");
  };
  put(FIELD.previousKeyIds, s.keyIds.join(", "));
  put(FIELD.previousDeactivatedAt, s.deactivatedAt?.toISOString());
  put(FIELD.previousSince, s.since?.toISOString());
  put(FIELD.previousActiveUntil, s.activeUntil?.toISOString());
  put(FIELD.previousHeldAt, s.heldAt?.toISOString());
  put(FIELD.previousRetire, s.retire);
}

export function newDummyPassword(): string {
  return randomBytes(24).toString("base64url");
}

export function applyRotation(
  record: KeeperRecord,
  u: RecordUpdate,
  password = newDummyPassword(),
): KeeperRecord {
  const r = cloneRecord(record);
  setFieldValue(r, FIELD.keyId, u.accessKeyId, { type: "text" });
  setFieldValue(r, FIELD.secret, u.secret.reveal(), { type: "secret" });
  setFieldValue(r, FIELD.createDate, u.createDate.toISOString(), { type: "text" });
  setFieldValue(r, FIELD.removed, u.removedKeyIds.join(", "), { type: "text" });
  setFieldValue(r, FIELD.password, password); // a missing one is created as a `password` field
  if (u.userId) setFieldValue(r, FIELD.userId, u.userId, { type: "text" });
  const kept = u.retained;
  if (kept && kept.keyIds.length > 0) {
    setPreviousKeyState(r, {
      keyIds: kept.keyIds,
      since: new Date(kept.since),
      activeUntil: kept.activeUntil ? new Date(kept.activeUntil) : undefined,
      heldAt: kept.heldAt ? new Date(kept.heldAt) : undefined,
      retire: kept.mode,
    });
  } else if (u.deactivatedKeyIds.length > 0) {
    setPreviousKeyState(r, {
      keyIds: u.deactivatedKeyIds,
      deactivatedAt: u.deactivatedAt,
    });
  } else {
    // Only clear fields that exist: a record that never used graceful keeps its shape.
    setPreviousKeyState(r, { keyIds: [] });
  }
  return r;
}

/** After graceful's grace cleanup deleted `deleted`: drop them from the previous-key fields. */
export function forgetPreviousKeys(
  record: KeeperRecord,
  deleted: string[],
  remaining: string[],
): KeeperRecord {
  const r = cloneRecord(record);
  if (deleted.length === 0) return r;
  setFieldValue(r, FIELD.previousKeyIds, remaining.join(", "), { type: "text" });
  if (remaining.length === 0 && findField(r, FIELD.previousDeactivatedAt))
    setFieldValue(r, FIELD.previousDeactivatedAt, "");
  return r;
}
