/**
 * What the gateway reads from a PAM User record and its neighbours: its PAM configuration (for the
 * default schedule, the scripts' `providerRecordUid` and the AWS account), its account key for the
 * limiter, NOOP mode, and its history. Reads only.
 */
import { FIELD } from "../rotation/index.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { getFieldValue, type KeeperRecord, parseBool } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { parseAttempt, type RotationAttempt } from "./history-model.js";

/** The seed's "Run PAM scripts only" flag: a custom text field `NOOP` = True. */
export const NOOP_FIELD = "NOOP";

/** How much of a record's history the scheduler reads: far more than one slot's tries. */
export const HISTORY_WINDOW = 50;

/** True when the record asks for scripts only (the seed's NOOP = True). */
export function isScriptsOnly(record: KeeperRecord): boolean {
  return parseBool(getFieldValue(record, NOOP_FIELD));
}

/** The IAM user name (the record's `login`), "" when missing. */
export function loginOf(record: KeeperRecord): string {
  return (getFieldValue(record, FIELD.login) ?? "").trim();
}

/**
 * The user's PAM configuration, as the engine picks it: the record's `pam_configuration` (UID or
 * title), else the vault's only pamAwsConfiguration; undefined when neither applies.
 */
export function configurationFor(
  user: KeeperRecord,
  configurations: readonly StoredRecord[],
): StoredRecord | undefined {
  const ref = (getFieldValue(user, FIELD.pamConfiguration) ?? "").trim();
  if (ref) {
    const byUid = configurations.find((c) => c.uid === ref);
    if (byUid) return byUid;
    const byTitle = configurations.filter((c) => c.record.title === ref);
    return byTitle.length === 1 ? byTitle[0] : undefined;
  }
  return configurations.length === 1 ? configurations[0] : undefined;
}

/**
 * The limiter's account key: the configuration's AWS account id (`awsId`), else the admin credential
 * records named (users sharing them share an account in practice), else one shared bucket.
 */
export function accountKey(user: KeeperRecord, configuration: StoredRecord | undefined): string {
  const awsId = configuration ? (getFieldValue(configuration.record, "awsId") ?? "").trim() : "";
  if (awsId) return awsId;
  const creds = (getFieldValue(user, FIELD.credentials) ?? "").trim();
  if (creds) return `credentials:${creds}`;
  return configuration ? `configuration:${configuration.uid}` : "default";
}

/**
 * The record's recent history, validated (an entry written by a newer rekey that does not parse is
 * left out rather than stopping the gateway).
 */
export async function readHistory(
  store: AsyncVaultStore,
  recordUid: string,
  limit = HISTORY_WINDOW,
): Promise<RotationAttempt[]> {
  const out: RotationAttempt[] = [];
  for (const e of await store.listRotationHistory({ recordUid, limit })) {
    try {
      out.push(parseAttempt(e));
    } catch {
      // skipped: unreadable entries cannot be reasoned about
    }
  }
  return out;
}
