/**
 * Shared by the rotation tests (imported by *.test.ts only): a real sandbox, a real SQLite vault in a
 * temp dir, record builders, and the convergence check every crash/repair test ends with.
 */
import assert from "node:assert/strict";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { policyFor } from "../providers/aws-iam/policy.js";
import { splitList } from "../rotation/settings.js";
import type { RotateOptions } from "../rotation/types.js";
import { type Sandbox, startSandbox } from "../sandbox/index.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import type { VaultStore } from "../stores/sqlite/vault-store.js";
import { getFieldValue, type KeeperRecord, newRecord, setFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { type TempVault, tempVault } from "./vault.js";

// Keep the default credential chain local and quiet: no developer credentials, no EC2 metadata wait.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.env.AWS_EC2_METADATA_DISABLED = "true";
for (const v of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"])
  delete process.env[v];

export interface RotationFixture {
  sandbox: Sandbox;
  vault: TempVault;
  store: SqliteVaultStore;
  close(): Promise<void>;
}

/**
 * What a rotation test file starts with: a sandbox and a fresh vault; with `rootCredential`, an admin
 * credential record of that title holding the sandbox's root key.
 *
 * @example
 * before(async () => ({ sandbox, vault, store } = await rotationFixture({ rootCredential: "admin key" })));
 */
export async function rotationFixture(opts: { rootCredential?: string } = {}): Promise<RotationFixture> {
  const sandbox = await startSandbox();
  const vault = await tempVault();
  const store = vault.store;
  if (opts.rootCredential !== undefined) {
    addRecord(
      store,
      credentialRecord(opts.rootCredential, {
        aws_access_key_id: sandbox.root.accessKeyId,
        aws_secret_access_key: sandbox.root.secretAccessKey,
      }),
    );
  }
  return {
    sandbox,
    vault,
    store,
    close: async () => {
      vault.cleanup();
      await sandbox.close();
    },
  };
}

/** Options that make rotations fast against the sandbox (short verify interval, quick retries). */
export function fastOptions(sandbox: Sandbox, extra: RotateOptions = {}): RotateOptions {
  return {
    endpointUrl: sandbox.endpoint,
    env: { AWS_EC2_METADATA_DISABLED: "true" },
    retry: { maxAttempts: 10, baseDelayMs: 20, maxDelayMs: 300 },
    verifyIntervalMs: 50,
    verifyTimeoutMs: 5_000,
    // The sandbox lists consistently unless told otherwise (staleListMs): a short settling wait.
    consistencyWindowMs: 200,
    // The sandbox reports last use to the millisecond (AWS: to the minute).
    lastUseResolutionMs: 1,
    actor: "test",
    ...extra,
  };
}

let seq = 0;
/** A unique IAM user name per test (the sandbox is shared within a file). */
export function uniqueName(prefix: string): string {
  seq++;
  return `${prefix}-${process.pid}-${seq}`;
}

/** A pamUser record like the seed's template: login, dummy password, the seed's custom fields. */
export function pamUser(
  title: string,
  login: string | undefined,
  fields: Record<string, string> = {},
): KeeperRecord {
  const r = newRecord("pamUser", title);
  if (login !== undefined) setFieldValue(r, "login", login);
  setFieldValue(r, "password", "dummy-password");
  for (const [label, type] of [
    ["aws_access_key_id", "text"],
    ["aws_secret_access_key", "secret"],
    ["CreateDate", "text"],
    ["Access_Key_ID_Removed_during_previous_rotation", "text"],
  ] as const) {
    r.custom.push({ type, label, value: [] });
  }
  for (const [k, v] of Object.entries(fields)) setFieldValue(r, k, v);
  return r;
}

/** An admin credential record (the seed's "record attached to the script"). */
export function credentialRecord(title: string, fields: Record<string, string>): KeeperRecord {
  const r = newRecord("login", title);
  for (const [k, v] of Object.entries(fields)) {
    setFieldValue(r, k, v, { type: /secret/i.test(k) ? "secret" : "text" });
  }
  return r;
}

export function addRecord(store: VaultStore, record: KeeperRecord): StoredRecord {
  return store.createRecord(record, { actor: "test" });
}

/** A sandbox IAM user with `n` keys (created at once usable); returns their ids. */
export function iamUserWithKeys(sandbox: Sandbox, name: string, n: number): string[] {
  sandbox.admin.createUser(name);
  return Array.from({ length: n }, () => sandbox.admin.createAccessKey(name).accessKeyId);
}

/** An IAM admin user whose only permissions are `policy`; returns its key. */
export function adminWithPolicy(sandbox: Sandbox, name: string, policy: unknown) {
  sandbox.admin.createUser(name);
  sandbox.admin.putUserPolicy(name, "rekey", policy as Record<string, unknown>);
  return sandbox.admin.createAccessKey(name);
}

/**
 * A role allowed to rotate keys (the policy `rekey policy` prints) and an IAM user ("assumer") whose
 * only permission is sts:AssumeRole on it; with `externalId`, the trust policy requires it.
 */
export function assumableRole(sandbox: Sandbox, opts: { externalId?: string } = {}) {
  const assumerName = uniqueName("assumer");
  const assumer = adminWithPolicy(sandbox, assumerName, {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }],
  });
  const roleName = uniqueName("rotator");
  const role = sandbox.admin.createRole(roleName, {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${sandbox.accountId}:user/${assumerName}` },
        Action: "sts:AssumeRole",
        ...(opts.externalId !== undefined
          ? { Condition: { StringEquals: { "sts:ExternalId": opts.externalId } } }
          : {}),
      },
    ],
  });
  sandbox.admin.putRolePolicy(roleName, "rekey", policyFor({}));
  return { assumer, assumerName, role, roleName };
}

/** Store the record of an IAM user's key as the vault's current key (as if rotated before). */
export function recordKey(store: VaultStore, uid: string, keyId: string, secret: string): void {
  const s = store.getRecord(uid)!;
  const r = structuredClone(s.record);
  setFieldValue(r, "aws_access_key_id", keyId, { type: "text" });
  setFieldValue(r, "aws_secret_access_key", secret, { type: "secret" });
  store.saveRecord(uid, r, { expectedRevision: s.revision, actor: "test" });
}

export async function callerArn(
  sandbox: Sandbox,
  accessKeyId: string,
  secretAccessKey: string,
): Promise<string> {
  const sts = new STSClient({
    endpoint: sandbox.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  try {
    return (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? "";
  } finally {
    sts.destroy();
  }
}

/**
 * The promises after any run (architecture.md invariants 1-2): no pending journal; the vault's key is
 * an Active key of the user whose secret works; no key whose secret is known nowhere (every key is the
 * vault's or graceful's recorded previous key, inactive).
 */
export async function assertConverged(
  sandbox: Sandbox,
  store: VaultStore,
  uid: string,
  userName: string,
  opts: { graceful?: boolean; preExisting?: string[] } = {},
): Promise<void> {
  assert.deepEqual(
    store.listJournal({ recordUid: uid }).map((j) => j.id),
    [],
    "no rotation is left pending",
  );
  const r = store.getRecord(uid)!.record;
  const keyId = getFieldValue(r, "aws_access_key_id") ?? "";
  const secret = getFieldValue(r, "aws_secret_access_key") ?? "";
  const keys = sandbox.admin.listKeys(userName);
  const current = keys.find((k) => k.accessKeyId === keyId);
  assert.ok(
    current,
    `the vault's key ${keyId} exists in IAM (keys: ${keys.map((k) => k.accessKeyId).join(", ")})`,
  );
  assert.equal(current.status, "Active");
  assert.match(
    await callerArn(sandbox, keyId, secret),
    new RegExp(`:user/${userName}$`),
    "the vault's secret works",
  );
  const previous = splitList(getFieldValue(r, "aws_previous_access_key_id"));
  for (const k of keys) {
    if (k.accessKeyId === keyId) continue;
    // Besides the vault's key, only inactive keys may remain: graceful's recorded previous key, or a key
    // the user had before (never one a rotation created and lost).
    const allowed =
      (opts.graceful && previous.includes(k.accessKeyId)) || opts.preExisting?.includes(k.accessKeyId);
    assert.ok(allowed, `${userName}: no key besides the vault's (found ${k.accessKeyId} ${k.status})`);
    assert.equal(k.status, "Inactive", `${userName}: the other key ${k.accessKeyId} is inactive`);
  }
}
