/**
 * Which IAM user a record manages, as far as the vault can tell, and which records name the same one
 * (pure). Two records for one IAM user are a trap: rotating one deletes the key the other holds (and
 * hands out), while both say "succeeded". rekey refuses to rotate either until one is removed, and
 * `rekey import csv` refuses to create the second one.
 *
 * Same IAM user: the same `aws_user_id` (IAM's UserId, written by the first rotation), or, when the two
 * records do not both carry a UserId, the same `login` (IAM user names are unique without regard to case)
 * in the same account scope: the same PAM configuration's `awsId`, else the same admin-credential setting
 * (`rotation_credentials`), else the same configuration record.
 */
import { getFieldValue, type KeeperRecord } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { FIELD, readKeyState } from "./settings.js";

/** A record that manages an IAM user's key: a pamUser, or the seed's template before conversion. */
export function managesIamUser(record: KeeperRecord): boolean {
  if (record.type === "pamUser") return true;
  return (
    record.type === "login" &&
    !!(getFieldValue(record, FIELD.login) ?? "").trim() &&
    record.custom.some((f) => f.label === FIELD.keyId)
  );
}

/** Which PAM configuration a user record uses, or why none (the one rule: engine, gateway, status). */
export type ConfigurationChoice =
  | { record: StoredRecord; problem?: undefined }
  | { record: undefined; problem: string };

/**
 * The user's PAM configuration: the record's `pam_configuration` (a pamAwsConfiguration's UID, else its
 * unique title), else the vault's only pamAwsConfiguration. Otherwise none, and why: a reference that
 * names no configuration or several, or a vault with none or several and no reference. The rotation engine
 * reports the reason; the gateway and status use the same choice.
 */
export function chooseConfiguration(
  user: KeeperRecord,
  configurations: readonly StoredRecord[],
): ConfigurationChoice {
  const ref = (getFieldValue(user, FIELD.pamConfiguration) ?? "").trim();
  if (ref) {
    const byUid = configurations.find((c) => c.uid === ref);
    if (byUid) return { record: byUid };
    const byTitle = configurations.filter((c) => c.record.title === ref);
    if (byTitle.length === 1) return { record: byTitle[0]! };
    return {
      record: undefined,
      problem:
        byTitle.length === 0
          ? `pam_configuration "${ref}": no pamAwsConfiguration record has that UID or title`
          : `pam_configuration "${ref}": ${byTitle.length} pamAwsConfiguration records have that title (${byTitle.map((c) => c.uid).join(", ")}); use the UID`,
    };
  }
  if (configurations.length === 1) return { record: configurations[0]! };
  return {
    record: undefined,
    problem:
      configurations.length === 0
        ? "none (no pam_configuration field and no pamAwsConfiguration record in the vault)"
        : `${configurations.length} pamAwsConfiguration records and no pam_configuration field saying which one to use`,
  };
}

/** The user's PAM configuration (chooseConfiguration), or undefined. */
export function configurationFor(
  user: KeeperRecord,
  configurations: readonly StoredRecord[],
): StoredRecord | undefined {
  return chooseConfiguration(user, configurations).record;
}

/**
 * The account scope of a user record: the configuration's AWS account id (`awsId`), else the admin
 * credential records named (users sharing them share an account in practice), else the configuration,
 * else one shared scope. Also the gateway limiter's account key.
 */
export function accountKey(user: KeeperRecord, configuration: StoredRecord | undefined): string {
  const awsId = configuration ? (getFieldValue(configuration.record, "awsId") ?? "").trim() : "";
  if (awsId) return awsId;
  const creds = (getFieldValue(user, FIELD.credentials) ?? "").trim();
  if (creds) return `credentials:${creds}`;
  return configuration ? `configuration:${configuration.uid}` : "default";
}

export interface IamUserIdentity {
  /** The IAM user name, lower-cased ("" when the record has no login). */
  login: string;
  scope: string;
  userId: string | undefined;
}

export function identityOf(record: KeeperRecord, configurations: readonly StoredRecord[]): IamUserIdentity {
  return {
    login: (getFieldValue(record, FIELD.login) ?? "").trim().toLowerCase(),
    scope: accountKey(record, configurationFor(record, configurations)),
    userId: readKeyState(record).userId,
  };
}

/** True when two identities are the same IAM user as far as the vault can tell. */
export function sameIamUser(a: IamUserIdentity, b: IamUserIdentity): boolean {
  if (a.userId && b.userId) return a.userId === b.userId;
  return a.login !== "" && a.login === b.login && a.scope === b.scope;
}

/** The other records (among `all`) that manage the same IAM user as `target`. */
export function sameUserRecords(target: StoredRecord, all: readonly StoredRecord[]): StoredRecord[] {
  const configurations = all.filter((r) => r.record.type === "pamAwsConfiguration");
  const me = identityOf(target.record, configurations);
  return all.filter(
    (r) =>
      r.uid !== target.uid &&
      managesIamUser(r.record) &&
      sameIamUser(me, identityOf(r.record, configurations)),
  );
}

/** Every group of two or more records that manage one IAM user (pamUser records only). */
export function duplicateGroups(all: readonly StoredRecord[]): StoredRecord[][] {
  const users = all.filter((r) => r.record.type === "pamUser");
  const seen = new Set<string>();
  const groups: StoredRecord[][] = [];
  for (const u of users) {
    if (seen.has(u.uid)) continue;
    const same = sameUserRecords(u, users);
    if (same.length === 0) continue;
    const group = [u, ...same];
    for (const r of group) seen.add(r.uid);
    groups.push(group);
  }
  return groups;
}

const describe = (r: StoredRecord) => `"${r.record.title}" (${r.uid})`;

/**
 * The refusal for rotating `target` while `others` name the same IAM user: exit 4, not retried (only the
 * user can resolve it), every record named.
 */
export function duplicateRefusal(target: StoredRecord, others: readonly StoredRecord[], userName: string) {
  return {
    message:
      `record ${describe(target)} and ${others.map(describe).join(", ")} all manage IAM user "${userName}": ` +
      "rotating one would delete the key the other holds, so neither is rotated; nothing was changed",
    hint: `keep one record per IAM user: remove the extra one (rekey record rm ${JSON.stringify(others[0]?.uid ?? "")}), or fix its login`,
  };
}
