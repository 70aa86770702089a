/**
 * What a user's status takes from its record alone: no clock, no history, no other record. `rekey status`
 * combines these facts with what changes (the time, the journal, the history, the PAM configurations) into
 * its row (status.ts). The listing cache keeps them beside each record's summary (vault/listing-cache.ts), so
 * a status over 100,000 records reads a few small values a record instead of parsing every field list.
 *
 * Computed by the same functions the rotation uses (loginOf, readKeyState, the grace and identity helpers),
 * never a copy of their logic. Secret-free: a login, key IDs, dates, a schedule, a configuration reference.
 */
import { graceExpiresAt } from "../rotation/grace.js";
import { FIELD } from "../rotation/index.js";
import { type IamUserIdentity, identityOf } from "../rotation/same-user.js";
import { readKeyState } from "../rotation/settings.js";
import type { Derivation } from "../vault/listing-cache.js";
import { findField, getFieldValue, type KeeperRecord, type RecordField } from "../vault/record.js";
import { isScriptsOnly, loginOf } from "./records.js";
import { SCHEDULE_LABEL } from "./schedule-field.js";
import { parseCreateDate } from "./scheduler.js";

/**
 * Names what statusFacts computes: cached facts of another version are never used (the cache file is
 * another). Change it whenever statusFacts or a function it calls changes what it returns; a test pins its
 * answer for a user of every kind to this version (status-facts.test.ts).
 */
export const STATUS_FACTS_VERSION = "status-facts.v1";

/** The listing cache's derivation (vault/listing-cache.ts): each pamUser's facts, kept with its summary. */
export const STATUS_FACTS: Derivation = {
  version: STATUS_FACTS_VERSION,
  of: (s) => (s.record.type === "pamUser" ? statusFacts(s.record) : null),
  // A user is its facts (status) and its type and title (record list); a configuration's fields are read.
  keepFields: (s) => s.record.type !== "pamUser",
};

export interface PreviousKeys {
  keyIds: string[];
  phase: "held" | "overlap" | "inactive";
  since: string | null;
  nextStepAt: string | null;
}

export interface StatusFacts {
  /** The IAM user name. */
  user: string;
  keyId: string | null;
  /** The key's CreateDate (ISO 8601), if recorded. */
  keyCreatedAt: string | null;
  scriptsOnly: boolean;
  previousKeys: PreviousKeys | null;
  /** Which IAM user the record manages, as the same-user check compares records. */
  identity: IamUserIdentity;
  /** The `pam_configuration` reference ("" for none). */
  configurationRef: string;
  /** The record's own schedule field as readRecordSchedule finds it, or null (it inherits a default). */
  scheduleField: RecordField | null;
}

export function statusFacts(r: KeeperRecord): StatusFacts {
  const created = parseCreateDate(getFieldValue(r, FIELD.createDate));
  const schedule = findField(r, SCHEDULE_LABEL);
  return {
    user: loginOf(r),
    keyId: readKeyState(r).currentKeyId ?? null,
    keyCreatedAt: created ? created.toISOString() : null,
    scriptsOnly: isScriptsOnly(r),
    previousKeys: previousKeysOf(r),
    identity: identityOf(r, []),
    configurationRef: getFieldValue(r, FIELD.pamConfiguration) ?? "",
    scheduleField: schedule && schedule.field.label === SCHEDULE_LABEL ? schedule.field : null,
  };
}

/**
 * A user record holding only what the schedule reads (readRecordSchedule, configurationFor): its title, its
 * `pam_configuration` reference and its own schedule field.
 */
export function scheduleRecord(
  title: string,
  f: Pick<StatusFacts, "configurationRef" | "scheduleField">,
): KeeperRecord {
  const custom: RecordField[] = [];
  if (f.configurationRef)
    custom.push({ type: "text", label: FIELD.pamConfiguration, value: [f.configurationRef] });
  if (f.scheduleField) custom.push(f.scheduleField);
  return { type: "pamUser", title, fields: [], custom, notes: "" };
}

function previousKeysOf(r: KeeperRecord): PreviousKeys | null {
  const st = readKeyState(r);
  if (st.previousKeyIds.length === 0) return null;
  const next = graceExpiresAt(r);
  const phase = st.previousHeldAt ? "held" : st.previousDeactivatedAt ? "inactive" : "overlap";
  const since = st.previousHeldAt ?? st.previousDeactivatedAt ?? st.previousSince;
  return {
    keyIds: st.previousKeyIds,
    phase,
    since: since ? since.toISOString() : null,
    nextStepAt: next ? next.toISOString() : null,
  };
}
