/**
 * Where admin credentials may come from, in the seed's order (first usable wins):
 *
 * 1. Attached credential records (`rotation_credentials`, or `--credentials`, which replaces them and
 *    is then the only source tried; or the records a caller supplies, e.g. the Keeper Gateway's attached
 *    records). The record being rotated is never a source. Shapes, checked in this order on each record:
 *    `role_arn` + `aws_access_key_id`/`aws_secret_access_key` (+ optional `external_id`,
 *    `role_session_name`) → sts:AssumeRole signed with that key; `aws_access_key_id`/
 *    `aws_secret_access_key`; `accessKeyId`/`accessSecretKey`.
 * 2. The PAM configuration (supplied by the caller, else `pam_configuration`, else the vault's only
 *    pamAwsConfiguration):
 *    `accessKeyId`/`accessSecretKey`; it also gives `regionNames` and `awsId`.
 * 3. The AWS SDK's default provider chain.
 *
 * This file only reads records (no AWS): it returns candidates, each usable or with the reason it is
 * not, so that a final error can list every source tried.
 */

import { chooseConfiguration } from "../../rotation/same-user.js";
import { keyFieldText, type RotationSettings } from "../../rotation/settings.js";
import type { SuppliedRecord } from "../../rotation/types.js";
import { Secret } from "../../secret.js";
import type { AsyncVaultStore } from "../../vault/async-store.js";
import { findRecord } from "../../vault/find-record.js";
import { getFieldValue, type KeeperRecord } from "../../vault/record.js";
import type { StoredRecord } from "../../vault/store.js";
import type { AdminCredentialSpec } from "./credentials.js";

export type SourceKind = "attached" | "pam-configuration" | "default-chain";

export interface CredentialCandidate {
  kind: SourceKind;
  /** e.g. `attached record "admin key" (UID ...)`. */
  label: string;
  recordUid?: string | undefined;
  /** Absent when the source cannot be used; `problem` says why. */
  spec?: AdminCredentialSpec | undefined;
  problem?: string | undefined;
}

export interface PamConfigInfo {
  uid: string;
  title: string;
  regions: string[];
  account: string | undefined;
}

export interface SourceSet {
  candidates: CredentialCandidate[];
  pamConfig: PamConfigInfo | undefined;
}

// A template placeholder (`-`) reads as empty, like a field Keeper left blank.
const value = (r: KeeperRecord, name: string) => keyFieldText(getFieldValue(r, name));

/**
 * Seed compatibility switches, read from the PAM User record (a `True`/`yes`/`1` value turns one on):
 * - `seed_credential_order`: the PAM configuration's key is tried before the attached records (the seed's
 *   loop meets the configuration first, as the Gateway lists it first). rekey's default tries the records
 *   attached on purpose first.
 * - `seed_assume_role_ambient`: sts:AssumeRole is signed with the machine's ambient credentials (the
 *   default chain), as the seed's boto3 call does; rekey's default signs it with the record's own key.
 */
export const SEED_SWITCHES = {
  credentialOrder: "seed_credential_order",
  assumeRoleAmbient: "seed_assume_role_ambient",
} as const;

export interface SeedCompat {
  credentialOrder: boolean;
  assumeRoleAmbient: boolean;
}

const truthy = (v: string) => ["true", "yes", "1", "on"].includes(v.toLowerCase());

export function readSeedCompat(r: KeeperRecord): SeedCompat {
  return {
    credentialOrder: truthy(value(r, SEED_SWITCHES.credentialOrder)),
    assumeRoleAmbient: truthy(value(r, SEED_SWITCHES.assumeRoleAmbient)),
  };
}

/** The credential shape of one attached record (the seed's three shapes, in its order). */
export function attachedSpec(
  r: KeeperRecord,
  opts: { ambientEnv?: Record<string, string | undefined> | undefined } = {},
): { spec?: AdminCredentialSpec; problem?: string } {
  const roleArn = value(r, "role_arn");
  const keyId = value(r, "aws_access_key_id");
  const secret = value(r, "aws_secret_access_key");
  if (roleArn) {
    // The seed signs AssumeRole with the machine's ambient credentials (seed_assume_role_ambient);
    // rekey's default signs it with the record's own key, which must then be there.
    if (!opts.ambientEnv && (!keyId || !secret)) {
      return {
        problem:
          "has role_arn but no aws_access_key_id/aws_secret_access_key to sign sts:AssumeRole with " +
          "(rekey does not fall back to ambient credentials for AssumeRole)",
      };
    }
    if (!/^arn:aws(-us-gov|-cn)?:iam::\d{12}:role\/.+$/.test(roleArn)) {
      return {
        problem: `role_arn "${roleArn}" is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)`,
      };
    }
    return {
      spec: {
        kind: "assume-role",
        roleArn,
        externalId: value(r, "external_id") || undefined,
        sessionName: value(r, "role_session_name") || undefined,
        accessKeyId: keyId,
        secret: new Secret(secret),
        ...(opts.ambientEnv ? { ambientEnv: opts.ambientEnv } : {}),
      },
    };
  }
  if (keyId || secret) {
    if (!keyId || !secret) return { problem: "has only one of aws_access_key_id / aws_secret_access_key" };
    return { spec: { kind: "static", accessKeyId: keyId, secret: new Secret(secret) } };
  }
  const cfgKey = value(r, "accessKeyId");
  const cfgSecret = value(r, "accessSecretKey");
  if (cfgKey || cfgSecret) {
    if (!cfgKey || !cfgSecret) return { problem: "has only one of accessKeyId / accessSecretKey" };
    return { spec: { kind: "static", accessKeyId: cfgKey, secret: new Secret(cfgSecret) } };
  }
  return {
    problem: "has none of role_arn + aws_access_key_id/aws_secret_access_key, or accessKeyId/accessSecretKey",
  };
}

function label(kind: string, s: SuppliedRecord): string {
  return `${kind} "${s.record.title}" (UID ${s.uid})`;
}

function suppliedCandidates(
  records: SuppliedRecord[],
  target: StoredRecord,
  ambientEnv: Record<string, string | undefined> | undefined,
): CredentialCandidate[] {
  // The Gateway lists the PAM User record among them: the user's own key is never its admin credential.
  const usable = records.filter((s) => s.uid !== target.uid);
  if (usable.length === 0) return [{ kind: "attached", label: "attached records", problem: "none attached" }];
  return usable.map((s) => ({
    kind: "attached" as const,
    label: label("attached record", s),
    recordUid: s.uid,
    ...attachedSpec(s.record, { ambientEnv }),
  }));
}

async function referencedCandidates(
  store: AsyncVaultStore,
  refs: string[],
  target: StoredRecord,
  ambientEnv: Record<string, string | undefined> | undefined,
): Promise<CredentialCandidate[]> {
  if (refs.length === 0) {
    return [
      {
        kind: "attached",
        label: "attached records",
        problem: "none (the record has no rotation_credentials)",
      },
    ];
  }
  const out: CredentialCandidate[] = [];
  for (const ref of refs) {
    let stored: StoredRecord;
    try {
      stored = await findRecord(store, ref);
    } catch (err) {
      out.push({
        kind: "attached",
        label: `attached record "${ref}"`,
        problem: err instanceof Error ? err.message : String(err),
      });
      continue;
    }
    if (stored.uid === target.uid) {
      out.push({
        kind: "attached",
        label: label("attached record", stored),
        recordUid: stored.uid,
        problem: "is the record being rotated: a user's own key cannot be its admin credential here",
      });
      continue;
    }
    out.push({
      kind: "attached",
      label: label("attached record", stored),
      recordUid: stored.uid,
      ...attachedSpec(stored.record, { ambientEnv }),
    });
  }
  return out;
}

/** What the caller supplies instead of the store's records (RotateOptions). */
export interface SuppliedSources {
  credentialRecords?: SuppliedRecord[] | undefined;
  pamConfiguration?: SuppliedRecord | null | undefined;
}

export async function gatherSources(
  store: AsyncVaultStore,
  target: StoredRecord,
  settings: RotationSettings,
  env: Record<string, string | undefined>,
  supplied: SuppliedSources = {},
): Promise<SourceSet> {
  const candidates: CredentialCandidate[] = [];
  const seed = readSeedCompat(target.record);
  const ambientEnv = seed.assumeRoleAmbient ? env : undefined;

  // 1. Attached records: supplied by the caller (unless --credentials names others), else the record's refs.
  if (supplied.credentialRecords && !settings.credentialsOverridden) {
    candidates.push(...suppliedCandidates(supplied.credentialRecords, target, ambientEnv));
  } else {
    candidates.push(...(await referencedCandidates(store, settings.credentialRefs, target, ambientEnv)));
  }
  const attachedCount = candidates.length;

  // 2. The PAM configuration: its region and account are used even when it holds no key.
  let pamConfig: PamConfigInfo | undefined;
  let cfg: SuppliedRecord | undefined;
  let cfgProblem: string | undefined;
  if (supplied.pamConfiguration !== undefined) {
    cfg = supplied.pamConfiguration ?? undefined;
    if (!cfg) cfgProblem = "none (no PAM configuration was named)";
  } else {
    // One rule for which configuration (same-user.ts): the gateway and status pick the same one.
    const choice = chooseConfiguration(
      target.record,
      await store.listRecords({ type: "pamAwsConfiguration" }),
    );
    cfg = choice.record;
    cfgProblem = choice.problem;
  }
  if (cfg) {
    const r = cfg.record;
    pamConfig = {
      uid: cfg.uid,
      title: r.title,
      regions: value(r, "regionNames")
        .split(/[\s,]+/)
        .filter((x) => x.length > 0),
      account: value(r, "awsId") || undefined,
    };
    const keyId = value(r, "accessKeyId");
    const secret = value(r, "accessSecretKey");
    if (keyId && secret && !settings.credentialsOverridden) {
      candidates.push({
        kind: "pam-configuration",
        label: label("PAM configuration", cfg),
        recordUid: cfg.uid,
        spec: { kind: "static", accessKeyId: keyId, secret: new Secret(secret) },
      });
    } else if (!settings.credentialsOverridden) {
      candidates.push({
        kind: "pam-configuration",
        label: label("PAM configuration", cfg),
        recordUid: cfg.uid,
        problem:
          keyId || secret
            ? "has only one of accessKeyId / accessSecretKey"
            : "holds no access key (accessKeyId/accessSecretKey are empty)",
      });
    }
  } else if (!settings.credentialsOverridden) {
    candidates.push({ kind: "pam-configuration", label: "PAM configuration", problem: cfgProblem });
  }

  // seed_credential_order: the PAM configuration before the attached records, as the seed's loop.
  if (seed.credentialOrder && candidates.length > attachedCount) {
    candidates.unshift(...candidates.splice(attachedCount));
  }

  // 3. The default chain (env vars, profiles/SSO, ECS, EC2 instance role).
  if (!settings.credentialsOverridden) {
    candidates.push({
      kind: "default-chain",
      label: "the AWS default credential chain",
      spec: { kind: "default-chain", env },
    });
  }
  return { candidates, pamConfig };
}
