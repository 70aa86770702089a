/**
 * What every rotation and repair sets up the same way: options with their defaults, the record's
 * settings and credential sources, region and endpoints, the record lock, the IAM UserId check.
 */

import { readEnv } from "../env.js";
import { conflict, usageError } from "../errors.js";
import {
  DEFAULT_REGION,
  partitionOf,
  type ResolvedEndpoints,
  resolveEndpoints,
} from "../providers/aws-iam/endpoints.js";
import type { IamKeyPort, IamUser } from "../providers/aws-iam/port.js";
import { DEFAULT_RETRY, type RetryPolicy } from "../providers/aws-iam/retry.js";
import { gatherSources, type SourceSet } from "../providers/aws-iam/sources.js";
import { DEFAULT_VERIFY_INTERVAL_MS, DEFAULT_VERIFY_TIMEOUT_MS } from "../providers/aws-iam/verify.js";
import type { Secret } from "../secret.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { newLeaseOwner } from "../vault/lease-owner.js";
import { getFieldValue } from "../vault/record.js";
import type { Lease, StoredRecord } from "../vault/store.js";
import { type Checkpoint, makeCheckpoint } from "./checkpoint.js";
import { DEFAULT_CONSISTENCY_WINDOW_MS, type ExecContext, newReport } from "./executor.js";
import { noteLeaseWritten } from "./lease-renewal.js";
import { lockHeld } from "./lock-held.js";
import { FIELD, type RotationSettings, readKeyState, readSettings } from "./settings.js";
import { type RotateOptions, type RotationLogger, silentLogger } from "./types.js";

export const DEFAULT_LOCK_TTL_MS = 120_000;

/**
 * A whole rotation's deadline: past it, the rotation finishes or undoes the step in flight, releases its
 * lock and says what state IAM is in (every AWS request also has its own timeout, see aws/).
 */
export const DEFAULT_DEADLINE_MS = 10 * 60_000;

function deadlineSignal(opts: RotateOptions): AbortSignal {
  const deadline = AbortSignal.timeout(positive("deadline", opts.deadlineMs, DEFAULT_DEADLINE_MS));
  return opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
}

import { DEFAULT_LAST_USE_RESOLUTION_MS } from "./retire.js";

export interface Normalized {
  env: Record<string, string | undefined>;
  logger: RotationLogger;
  now: () => Date;
  actor: string;
  retry: RetryPolicy;
  lockTtlMs: number;
  verifyTimeoutMs: number;
  verifyIntervalMs: number;
  requestTimeoutMs: number | undefined;
  force: boolean;
  checkpoint: Checkpoint;
  wrapPort: RotateOptions["wrapPort"];
  newPassword: Secret | undefined;
  /** Ctrl-C (the caller's signal) or the rotation's deadline, whichever comes first. */
  signal: AbortSignal;
  consistencyWindowMs: number;
  /** How precisely IAM reports a key's last use (retire.ts): 60 000 (to the minute) unless told otherwise. */
  lastUseResolutionMs: number;
  onAwsRetry: RotateOptions["onAwsRetry"];
  onAwsCall: RotateOptions["onAwsCall"];
  pace: RotateOptions["pace"];
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw usageError(`${name} must be a positive number of milliseconds, not ${v}`);
  return v;
}

export function normalize(opts: RotateOptions, defaultActor: string): Normalized {
  const env = opts.env ?? process.env;
  return {
    env,
    logger: opts.logger ?? silentLogger,
    now: opts.now ?? (() => new Date()),
    actor: opts.actor ?? defaultActor,
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    lockTtlMs: positive("lockTtlMs", opts.lockTtlMs, DEFAULT_LOCK_TTL_MS),
    verifyTimeoutMs: positive("verify timeout", opts.verifyTimeoutMs, DEFAULT_VERIFY_TIMEOUT_MS),
    verifyIntervalMs: positive("verify interval", opts.verifyIntervalMs, DEFAULT_VERIFY_INTERVAL_MS),
    requestTimeoutMs: opts.requestTimeoutMs,
    force: opts.force ?? false,
    checkpoint: makeCheckpoint(env, opts.onCheckpoint),
    wrapPort: opts.wrapPort,
    newPassword: opts.newPassword,
    signal: deadlineSignal(opts),
    consistencyWindowMs:
      opts.consistencyWindowMs === undefined
        ? DEFAULT_CONSISTENCY_WINDOW_MS
        : Math.max(0, opts.consistencyWindowMs),
    lastUseResolutionMs: lastUseResolution(opts, env),
    onAwsRetry: opts.onAwsRetry,
    onAwsCall: opts.onAwsCall,
    pace: opts.pace,
  };
}

/**
 * IAM reports a key's last use to the minute (AWS's examples: `10:45:00Z`), so a use in the minute a key
 * was replaced counts as a use after it. An endpoint that reports exact times (rekey's sandbox) may say so
 * with REKEY_LAST_USE_RESOLUTION_MS (or the option), making the check exact.
 */
function lastUseResolution(opts: RotateOptions, env: Record<string, string | undefined>): number {
  if (opts.lastUseResolutionMs !== undefined) return Math.max(1, opts.lastUseResolutionMs);
  return readEnv(env).REKEY_LAST_USE_RESOLUTION_MS ?? DEFAULT_LAST_USE_RESOLUTION_MS;
}

export interface Prepared {
  settings: RotationSettings;
  sources: SourceSet;
  endpoints: ResolvedEndpoints;
  warnings: string[];
}

/** Region: --region → record aws_region → PAM configuration regionNames → AWS_REGION → us-east-1. */
export function pickRegion(
  optRegion: string | undefined,
  settings: RotationSettings,
  sources: SourceSet,
  env: Record<string, string | undefined>,
): string {
  return (
    optRegion ||
    settings.region ||
    sources.pamConfig?.regions[0] ||
    env.AWS_REGION ||
    env.AWS_DEFAULT_REGION ||
    DEFAULT_REGION
  );
}

export async function prepare(
  store: AsyncVaultStore,
  stored: StoredRecord,
  opts: Pick<
    RotateOptions,
    | "strategy"
    | "credentials"
    | "region"
    | "endpointUrl"
    | "userName"
    | "credentialRecords"
    | "pamConfiguration"
  >,
  n: Normalized,
): Promise<Prepared> {
  const settings = readSettings(stored.record, {
    strategy: opts.strategy,
    credentials: opts.credentials,
    userName: opts.userName,
  });
  const sources = await gatherSources(store, stored, settings, n.env, {
    credentialRecords: opts.credentialRecords,
    pamConfiguration: opts.pamConfiguration,
  });
  const region = pickRegion(opts.region, settings, sources, n.env);
  partitionOf(region); // a clear error for a bad --region before anything else
  const endpoints = resolveEndpoints({ region, endpointUrl: opts.endpointUrl, env: n.env });
  const warnings: string[] = [];
  const login = (getFieldValue(stored.record, FIELD.login) ?? "").trim();
  if (opts.userName && login && login !== settings.userName) {
    warnings.push(
      `rotating IAM user "${settings.userName}" as asked, but record "${stored.record.title}" has login "${login}"`,
    );
  }
  if (stored.record.type !== "pamUser") {
    warnings.push(`record "${stored.record.title}" is a ${stored.record.type} record, not a pamUser`);
  }
  return { settings, sources, endpoints, warnings };
}

export function lockOwner(actor: string): string {
  return newLeaseOwner(actor, 4);
}

export async function takeLock(store: AsyncVaultStore, stored: StoredRecord, n: Normalized): Promise<Lease> {
  const lease = await store.tryLock(stored.uid, lockOwner(n.actor), n.lockTtlMs);
  if (!lease) {
    throw lockHeld(
      `record "${stored.record.title}" (${stored.uid}) is being rotated by another process right now`,
      `wait for it to finish; the lock of a process that died expires within ${Math.ceil(n.lockTtlMs / 1000)} s`,
    );
  }
  noteLeaseWritten(lease);
  return lease;
}

export function execContext(
  store: AsyncVaultStore,
  port: IamKeyPort,
  stored: StoredRecord,
  lease: Lease,
  n: Normalized,
): ExecContext {
  return {
    store,
    port,
    recordUid: stored.uid,
    lease,
    lockTtlMs: n.lockTtlMs,
    actor: n.actor,
    logger: n.logger,
    now: n.now,
    checkpoint: n.checkpoint,
    verify: { timeoutMs: n.verifyTimeoutMs, intervalMs: n.verifyIntervalMs },
    password: n.newPassword,
    report: newReport(),
    signal: n.signal,
    consistencyWindowMs: n.consistencyWindowMs,
    lastUseResolutionMs: n.lastUseResolutionMs,
  };
}

/**
 * iam:GetUser and the UserId check. Returns the UserId (undefined when GetUser is denied: the seed's
 * three-action policy must still work, so the check is skipped with a warning naming the permission).
 * `prefetched`: the GetUser answer already asked for (resolveAdminCredentials' prefetchUser), used instead of
 * asking again.
 */
export async function checkUserIdentity(
  port: IamKeyPort,
  stored: StoredRecord,
  userName: string,
  n: Normalized,
  warnings: string[],
  account: string | undefined,
  prefetched?: Promise<IamUser | "denied"> | undefined,
): Promise<string | undefined> {
  const user = await (prefetched ?? port.getUser(userName));
  if (user === "denied") {
    warnings.push(
      `skipped the IAM UserId check: the admin credentials may not call iam:GetUser on "${userName}"; ` +
        "grant iam:GetUser (see `rekey policy`) so rekey can detect a deleted and re-created user",
    );
    return undefined;
  }
  const recorded = readKeyState(stored.record).userId;
  if (recorded && recorded !== user.userId) {
    if (!n.force) {
      throw conflict(
        `IAM user "${userName}" now has UserId ${user.userId}, but record "${stored.record.title}" was rotated for UserId ${recorded}: the user was deleted and re-created`,
        "make sure this is the user you mean, then run again with --force (the record's aws_user_id is updated)",
      );
    }
    warnings.push(`--force: IAM user "${userName}" changed UserId from ${recorded} to ${user.userId}`);
  }
  const arnAccount = user.arn.split(":")[4];
  if (account && arnAccount && account !== arnAccount) {
    warnings.push(
      `IAM user "${userName}" is in account ${arnAccount}, but the PAM configuration's awsId is ${account}`,
    );
  }
  return user.userId;
}
