/**
 * A pamUser record's rotation settings and key state (pure). Settings are custom text fields so they
 * travel in CSV like the seed's own fields:
 *
 * - `login`: the IAM user name (required).
 * - `rotation_credentials`: comma-separated UIDs or titles of attached admin credential records.
 * - `pam_configuration`: UID or title of a pamAwsConfiguration record.
 * - `rotation_strategy`: create-then-delete (default) | delete-then-create | graceful.
 * - `delete_all_keys_before_rotating`: the seed's flag; True/yes/1 (any case) = delete-then-create.
 * - `old_key_grace`: how long graceful keeps a deactivated key, e.g. `7d`, `12h`, `1d12h`.
 * - `old_key_overlap`: how long the previous key stays Active after the new key is saved (default 0;
 *   adoption's default 7d), before it is deactivated (graceful, adoption) or deleted.
 * - `old_key_recheck`: how long a previous key held because it is still in use waits before IAM is
 *   asked again about its last use (default 1h).
 * - `adopt_existing_keys`: True (set by `rekey discover --import`): the first rotation keeps the keys it
 *   finds Active for the overlap, then Inactive for the grace (defaults 7d each), then deletes them.
 * - `aws_region`: region for STS and the partition (IAM itself is global).
 *
 * Key state written by rotations: the seed's `aws_access_key_id`, `aws_secret_access_key`,
 * `CreateDate`, `Access_Key_ID_Removed_during_previous_rotation`, and rekey's `aws_user_id`,
 * `aws_previous_access_key_id`, `aws_previous_key_deactivated_at` (graceful), and the retirement of
 * previous keys (retire.ts): `aws_previous_key_since`, `aws_previous_key_active_until`,
 * `aws_previous_key_held_at`, `aws_previous_key_retire`.
 */
import { RekeyError, usageError } from "../errors.js";
import { getFieldValue, type KeeperRecord, parseStrictBool } from "../vault/record.js";

export const STRATEGIES = ["create-then-delete", "delete-then-create", "graceful"] as const;
export type Strategy = (typeof STRATEGIES)[number];
/**
 * What each strategy does lives in strategy-table.ts (one entry per name here; the compiler checks that
 * every name has one). A record with neither rotation_strategy nor delete_all_keys_before_rotating uses:
 */
export const DEFAULT_STRATEGY: Strategy = "create-then-delete";
/** The strategy the seed's `delete_all_keys_before_rotating=True` means. */
export const DELETE_ALL_STRATEGY: Strategy = "delete-then-create";

export const FIELD = {
  login: "login",
  password: "password",
  credentials: "rotation_credentials",
  pamConfiguration: "pam_configuration",
  strategy: "rotation_strategy",
  deleteAll: "delete_all_keys_before_rotating",
  grace: "old_key_grace",
  region: "aws_region",
  keyId: "aws_access_key_id",
  secret: "aws_secret_access_key",
  createDate: "CreateDate",
  removed: "Access_Key_ID_Removed_during_previous_rotation",
  userId: "aws_user_id",
  previousKeyIds: "aws_previous_access_key_id",
  previousDeactivatedAt: "aws_previous_key_deactivated_at",
  overlap: "old_key_overlap",
  recheck: "old_key_recheck",
  adopt: "adopt_existing_keys",
  previousSince: "aws_previous_key_since",
  previousActiveUntil: "aws_previous_key_active_until",
  previousHeldAt: "aws_previous_key_held_at",
  previousRetire: "aws_previous_key_retire",
} as const;

/** Adoption's defaults (`adopt_existing_keys`): time for applications to move to rekey's key. */
export const ADOPT_DEFAULT_OVERLAP_MS = 7 * 86_400_000;
export const ADOPT_DEFAULT_GRACE_MS = 7 * 86_400_000;
/** How long a held previous key waits before its last use is checked again (`old_key_recheck`). */
export const DEFAULT_RECHECK_MS = 3_600_000;

export function isStrategy(s: string): s is Strategy {
  return (STRATEGIES as readonly string[]).includes(s);
}

export function parseStrategy(value: string, where: string): Strategy {
  const v = value.trim().toLowerCase();
  if (isStrategy(v)) return v;
  throw usageError(`${where}: unknown rotation strategy "${value}"`, `use one of: ${STRATEGIES.join(", ")}`);
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d", "12h", "1d12h", "90m", "0" → milliseconds. */
export function parseDuration(value: string, where: string): number {
  const v = value.trim().toLowerCase();
  if (v === "0") return 0;
  if (!/^(\d+[smhdw])+$/.test(v)) {
    throw usageError(
      `${where}: "${value}" is not a duration`,
      "write a number and a unit (s, m, h, d, w), e.g. 7d, 12h or 1d12h",
    );
  }
  let ms = 0;
  for (const m of v.matchAll(/(\d+)([smhdw])/g)) ms += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
  return ms;
}

/**
 * Placeholders the `rekey template aws-user` CSV puts in the key fields before the first rotation: Keeper
 * Commander's CSV import drops a custom field whose value is empty, so the template writes `-` instead.
 * Wherever rekey reads a key field, a placeholder means "no key yet" (empty).
 */
export const NO_KEY_PLACEHOLDERS: readonly string[] = ["-", "none"];

/** A field value with surrounding blanks removed; a placeholder (`-`, `none`) is the empty string. */
export function keyFieldText(value: string | undefined): string {
  const v = (value ?? "").trim();
  return NO_KEY_PLACEHOLDERS.includes(v.toLowerCase()) ? "" : v;
}

export function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface SettingsOverrides {
  /** --strategy: wins over the record's fields. */
  strategy?: Strategy | undefined;
  /** --credentials RECORD: replaces rotation_credentials (and only it is tried). */
  credentials?: string | undefined;
  /** The IAM user name from elsewhere (the Keeper Gateway's `user`): wins over the record's login. */
  userName?: string | undefined;
}

export interface RotationSettings {
  userName: string;
  strategy: Strategy;
  /** Where the strategy came from: "--strategy", "rotation_strategy", "delete_all_keys_before_rotating", "default". */
  strategySource: string;
  credentialRefs: string[];
  /** True when the credential refs came from --credentials: then only they are tried. */
  credentialsOverridden: boolean;
  pamConfigurationRef: string | undefined;
  graceMs: number | undefined;
  /** `old_key_overlap` (undefined: none set; adoption then uses its default). */
  overlapMs: number | undefined;
  recheckMs: number;
  /** `adopt_existing_keys=True`. */
  adopt: boolean;
  region: string | undefined;
}

/** The key facts a previous rotation left on the record. */
export interface RecordKeyState {
  currentKeyId: string | undefined;
  userId: string | undefined;
  previousKeyIds: string[];
  previousDeactivatedAt: Date | undefined;
  /** A use of a previous key at or after this time means an application still uses it. */
  previousSince: Date | undefined;
  /** Previous keys stay Active until then (the overlap). */
  previousActiveUntil: Date | undefined;
  /** The last check that found a previous key still in use (the key is held). */
  previousHeldAt: Date | undefined;
  /** What ends a previous key's Active life: "deactivate" (then grace, then delete) or "delete". */
  previousRetire: "delete" | "deactivate" | undefined;
}

/** Read and validate a record's settings; every error names the record and the field. */
export function readSettings(record: KeeperRecord, overrides: SettingsOverrides = {}): RotationSettings {
  const name = `record "${record.title}"`;
  const userName = (overrides.userName ?? getFieldValue(record, FIELD.login) ?? "").trim();
  if (!userName) {
    throw new RekeyError("usage", `${name} has no login: rekey needs the IAM user name there`, {
      hint: `set it: rekey record edit "${record.title}" --set login=IAM_USER_NAME`,
    });
  }
  if (!/^[\w+=,.@-]{1,64}$/.test(userName)) {
    throw usageError(
      `${name}: login "${userName}" is not a valid IAM user name`,
      "IAM user names are 1-64 characters from letters, digits and + = , . @ _ -",
    );
  }

  const strategyField = (getFieldValue(record, FIELD.strategy) ?? "").trim();
  const deleteAll = parseStrictBool(
    getFieldValue(record, FIELD.deleteAll),
    `${name}, field ${FIELD.deleteAll}`,
  );
  let strategy: Strategy = DEFAULT_STRATEGY;
  let strategySource = "default";
  if (overrides.strategy) {
    strategy = overrides.strategy;
    strategySource = "--strategy";
  } else if (strategyField) {
    strategy = parseStrategy(strategyField, `${name}, field ${FIELD.strategy}`);
    strategySource = FIELD.strategy;
    if (deleteAll && strategy !== DELETE_ALL_STRATEGY) {
      throw usageError(
        `${name} says both ${FIELD.strategy}=${strategy} and ${FIELD.deleteAll}=True, which contradict each other`,
        `remove one: ${FIELD.deleteAll}=True means ${FIELD.strategy}=${DELETE_ALL_STRATEGY}`,
      );
    }
  } else if (deleteAll) {
    strategy = DELETE_ALL_STRATEGY;
    strategySource = FIELD.deleteAll;
  }

  const graceText = (getFieldValue(record, FIELD.grace) ?? "").trim();
  const graceMs = graceText ? parseDuration(graceText, `${name}, field ${FIELD.grace}`) : undefined;

  const overlapText = (getFieldValue(record, FIELD.overlap) ?? "").trim();
  const overlapMs = overlapText ? parseDuration(overlapText, `${name}, field ${FIELD.overlap}`) : undefined;
  const recheckText = (getFieldValue(record, FIELD.recheck) ?? "").trim();
  const recheckMs = recheckText
    ? parseDuration(recheckText, `${name}, field ${FIELD.recheck}`)
    : DEFAULT_RECHECK_MS;
  const adopt = parseStrictBool(getFieldValue(record, FIELD.adopt), `${name}, field ${FIELD.adopt}`);

  const region = (getFieldValue(record, FIELD.region) ?? "").trim() || undefined;
  if (region && !/^[a-z]{2,}(-[a-z]+)+-\d+$/.test(region)) {
    throw usageError(
      `${name}, field ${FIELD.region}: "${region}" is not an AWS region name`,
      "use a region such as us-east-1, eu-west-1, us-gov-west-1 or cn-north-1",
    );
  }

  const overridden = overrides.credentials !== undefined && overrides.credentials.trim() !== "";
  return {
    userName,
    strategy,
    strategySource,
    credentialRefs: overridden
      ? splitList(overrides.credentials)
      : splitList(getFieldValue(record, FIELD.credentials)),
    credentialsOverridden: overridden,
    pamConfigurationRef: (getFieldValue(record, FIELD.pamConfiguration) ?? "").trim() || undefined,
    graceMs,
    overlapMs,
    recheckMs,
    adopt,
    region,
  };
}

/** The clocks of previous keys' retirement (retire.ts); adopted records' grace defaults to 7d. */
export function retireSettingsFor(s: RotationSettings): { graceMs: number | undefined; recheckMs: number } {
  return { graceMs: s.graceMs ?? (s.adopt ? ADOPT_DEFAULT_GRACE_MS : undefined), recheckMs: s.recheckMs };
}

function dateField(record: KeeperRecord, label: string): Date | undefined {
  const at = keyFieldText(getFieldValue(record, label));
  const date = at ? new Date(at) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

export function readKeyState(record: KeeperRecord): RecordKeyState {
  const retire = keyFieldText(getFieldValue(record, FIELD.previousRetire)).toLowerCase();
  return {
    currentKeyId: keyFieldText(getFieldValue(record, FIELD.keyId)) || undefined,
    userId: keyFieldText(getFieldValue(record, FIELD.userId)) || undefined,
    previousKeyIds: splitList(getFieldValue(record, FIELD.previousKeyIds)).filter(
      (k) => keyFieldText(k) !== "",
    ),
    previousDeactivatedAt: dateField(record, FIELD.previousDeactivatedAt),
    previousSince: dateField(record, FIELD.previousSince),
    previousActiveUntil: dateField(record, FIELD.previousActiveUntil),
    previousHeldAt: dateField(record, FIELD.previousHeldAt),
    previousRetire: retire === "delete" || retire === "deactivate" ? retire : undefined,
  };
}
