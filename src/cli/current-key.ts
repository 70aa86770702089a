/**
 * The current access key of a record, as the application commands hand it out (`credential-process`,
 * `exec`, `env`): the one place that finds the record (local or Keeper vault), checks that it holds a
 * usable key, and writes the `credential.read` audit entry. The secret stays a `Secret` until the one
 * place that must write it out.
 */

import { RekeyError, usageError } from "../errors.js";
import { isRegion } from "../providers/aws-iam/endpoints.js";
import { managesIamUser } from "../rotation/same-user.js";
import { FIELD, keyFieldText } from "../rotation/settings.js";
import { Secret } from "../secret.js";
import { findRecord } from "../vault/find-record.js";
import { getFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import type { CommandContext } from "./context.js";

/** Which command read the key: the audit entry's `details.command`. */
export type KeyReader = "credential-process" | "exec" | "env";

export interface CurrentKey {
  recordUid: string;
  title: string;
  accessKeyId: string;
  secret: Secret;
  /** The record's `aws_region`, if set. */
  region: string | undefined;
}

/** The key a record holds now, or an error that names the record and says what to do (pure). */
export function currentKeyOf(stored: StoredRecord): CurrentKey {
  const { record, uid } = stored;
  const name = `record "${record.title}" (${uid})`;
  if (!managesIamUser(record)) {
    throw usageError(
      `${name} is a ${record.type} record, not the pamUser record of an IAM user: it holds no rotated access key`,
      "name the pamUser record of the IAM user (rekey record list --type pamUser)",
    );
  }
  const accessKeyId = keyFieldText(getFieldValue(record, FIELD.keyId));
  const secret = keyFieldText(getFieldValue(record, FIELD.secret));
  if (!accessKeyId || !secret) {
    const missing =
      !accessKeyId && !secret ? "no current access key" : `no ${accessKeyId ? FIELD.secret : FIELD.keyId}`;
    throw new RekeyError("not-found", `${name} has ${missing} (${FIELD.keyId} / ${FIELD.secret})`, {
      hint: `rotate it first, so the vault holds a key it made: rekey rotate ${JSON.stringify(record.title)}`,
    });
  }
  const region = (getFieldValue(record, FIELD.region) ?? "").trim() || undefined;
  if (region !== undefined && !isRegion(region)) {
    throw usageError(
      `${name}, field ${FIELD.region}: "${region}" is not an AWS region name`,
      "use a region such as us-east-1 or eu-west-1, or clear the field",
    );
  }
  return { recordUid: uid, title: record.title, accessKeyId, secret: new Secret(secret), region };
}

/**
 * Find `ref` (UID or title) in the vault the environment names (local or Keeper), check it, and audit the
 * read (`credential.read`: the command and the key id, never the secret). The audit entry is written before
 * the key is handed out: a read that cannot be recorded does not happen.
 *
 * @example
 * const key = await readCurrentKey(ctx, "alice (AWS)", "exec");
 */
export async function readCurrentKey(
  ctx: CommandContext,
  ref: string,
  command: KeyReader,
): Promise<CurrentKey> {
  // One record read, one audit entry written: the scoped open check (sqlite-open.ts).
  const store = await ctx.asyncVault({ check: "scoped" });
  const key = currentKeyOf(await findRecord(store, ref));
  await store.appendAudit({
    action: "credential.read",
    recordUid: key.recordUid,
    actor: ctx.actor,
    details: { command, accessKeyId: key.accessKeyId },
  });
  return key;
}

/** `--region`, checked; else undefined. */
export function regionOption(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const region = String(value).trim();
  if (!isRegion(region)) {
    throw usageError(
      `--region ${JSON.stringify(region)} is not an AWS region name`,
      "use a region such as us-east-1 or eu-west-1",
    );
  }
  return region;
}

/**
 * The variables that give a process this key: the access key pair, and the region (both spellings: the
 * SDKs read AWS_REGION, the AWS CLI and older tools AWS_DEFAULT_REGION) when one is known.
 */
export function keyEnvironment(key: CurrentKey, region: string | undefined): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secret.reveal(),
    ...(region ? { AWS_REGION: region, AWS_DEFAULT_REGION: region } : {}),
  };
}

/**
 * Variables that would mix another identity into a process given a key by `keyEnvironment`: a session
 * token belongs to other (temporary) credentials and would be sent with this key; a profile could
 * change where the SDK looks for region and credentials.
 */
export const CONFLICTING_AWS_VARIABLES: readonly string[] = [
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
];
