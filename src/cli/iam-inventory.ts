/**
 * The account's IAM users as `rekey discover` and `rekey report` read them: the admin credentials in
 * rotation's order (providers/aws-iam/sources.ts: `--credentials RECORD` then only it, else the vault's only
 * pamAwsConfiguration, else the AWS default chain), the first that authenticates and may list the users
 * winning; one failing for a credential reason (unknown key, access denied) is noted and the next tried.
 * Read-only.
 */

import { RekeyError, usageError } from "../errors.js";
import { createLogger } from "../log.js";
import { openCredentials } from "../providers/aws-iam/credentials.js";
import {
  type AccountDiscovery,
  describeUsers,
  type IamUserSummary,
  openAccountDiscovery,
} from "../providers/aws-iam/discover.js";
import { partitionOf, type ResolvedEndpoints, resolveEndpoints } from "../providers/aws-iam/endpoints.js";
import type { CallerIdentity } from "../providers/aws-iam/port.js";
import { type CredentialCandidate, gatherSources, type SourceSet } from "../providers/aws-iam/sources.js";
import { pickRegion } from "../rotation/session.js";
import { FIELD, type RotationSettings, readSettings } from "../rotation/settings.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import type { CommandContext } from "./context.js";
import { managingRecords, type UserView } from "./discover-view.js";

export const INVENTORY_PERMISSIONS = "iam:ListUsers, iam:ListAccessKeys and iam:GetAccessKeyLastUsed";

/** --path-prefix as IAM takes it, or a usage error. */
export function checkPathPrefix(pathPrefix: string | undefined): string | undefined {
  if (pathPrefix !== undefined && !/^\/[\u0021-\u007e]*$/.test(pathPrefix)) {
    throw usageError(
      `--path-prefix "${pathPrefix}" is not an IAM path prefix`,
      "an IAM path starts with a slash, e.g. --path-prefix /apps/",
    );
  }
  return pathPrefix;
}

/**
 * Rotation's credential sources for no particular record: gatherSources (the one implementation of the
 * order) given a stand-in record that has only a login, so `--credentials` alone, else the vault's only PAM
 * configuration then the default chain. The stand-in's "no rotation_credentials" entry is dropped: the
 * caller has no record whose credentials it could have named.
 */
export async function adminSources(
  store: AsyncVaultStore,
  credentials: string | undefined,
  env: Record<string, string | undefined>,
): Promise<{ sources: SourceSet; settings: RotationSettings }> {
  const record = newRecord("pamUser", "rekey discover");
  setFieldValue(record, FIELD.login, "rekey-discover");
  const standIn: StoredRecord = {
    uid: "",
    folderUid: null,
    revision: 0,
    record,
    createdAt: "",
    updatedAt: "",
  };
  const settings = readSettings(record, { credentials });
  const set = await gatherSources(store, standIn, settings, env);
  const sources = settings.credentialsOverridden
    ? set
    : { ...set, candidates: set.candidates.filter((c) => c.kind !== "attached") };
  return { sources, settings };
}

export interface Listed {
  discovery: AccountDiscovery;
  identity: CallerIdentity;
  users: IamUserSummary[];
  via: string;
}

function isCredentialFailure(err: unknown): boolean {
  return err instanceof RekeyError && err.kind === "auth";
}

/** The first source that authenticates and may list the users; one error naming every source otherwise. */
export async function listAccount(
  ctx: CommandContext,
  candidates: CredentialCandidate[],
  endpoints: ResolvedEndpoints,
  pathPrefix: string | undefined,
): Promise<Listed> {
  const logger = createLogger({ level: ctx.env.REKEY_LOG_LEVEL ?? "warn" });
  const tried: string[] = [];
  for (const c of candidates) {
    if (!c.spec) {
      tried.push(`${c.label}: ${c.problem ?? "not usable"}`);
      continue;
    }
    let discovery: AccountDiscovery | undefined;
    try {
      const opened = await openCredentials(c.spec, { endpoints, logger });
      const via = `${c.label}: ${opened.via}`;
      discovery = openAccountDiscovery({
        endpoints,
        credentials: opened.credentials,
        principal: via,
        logger,
      });
      const identity = await discovery.callerIdentity();
      const users = await discovery.listUsers(pathPrefix);
      return { discovery, identity, users, via };
    } catch (err) {
      discovery?.close();
      if (!isCredentialFailure(err)) throw err;
      tried.push(`${c.label}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new RekeyError(
    "auth",
    `no usable AWS admin credentials to list the account's IAM users; tried:\n${tried.map((t) => `  - ${t}`).join("\n")}`,
    {
      hint:
        `the admin identity needs ${INVENTORY_PERMISSIONS}: give --credentials a record holding its key ` +
        "(aws_access_key_id/aws_secret_access_key, and role_arn to assume a role), or set accessKeyId/accessSecretKey on the PAM configuration",
      details: { tried },
    },
  );
}

export interface InventoryOptions {
  credentials: string | undefined;
  region: string | undefined;
  endpointUrl: string | undefined;
  pathPrefix: string | undefined;
}

export interface Inventory {
  account: string;
  /** Which credentials listed the users (never a secret). */
  via: string;
  users: UserView[];
}

/**
 * Every IAM user (under the path prefix) with its keys, each key's last use, and the records managing it.
 * Options are checked before the vault opens by the caller (checkPathPrefix, partitionOf).
 */
export async function readInventory(
  ctx: CommandContext,
  store: AsyncVaultStore,
  o: InventoryOptions,
): Promise<Inventory> {
  if (o.region !== undefined) partitionOf(o.region);
  const { sources, settings } = await adminSources(store, o.credentials, ctx.env);
  const endpoints = resolveEndpoints({
    region: pickRegion(o.region, settings, sources, ctx.env),
    endpointUrl: o.endpointUrl,
    env: ctx.env,
  });
  const found = await listAccount(ctx, sources.candidates, endpoints, o.pathPrefix);
  try {
    const described = await describeUsers(found.discovery, found.users);
    const records = await store.listRecords();
    const account = found.identity.account;
    return {
      account,
      via: found.via,
      users: described.map((u) => ({ ...u, managedBy: managingRecords(u, records, account) })),
    };
  } finally {
    found.discovery.close();
  }
}
