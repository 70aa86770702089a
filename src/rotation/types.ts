/**
 * The rotation engine's public types: what the CLI (and later the gateway) passes in and gets back.
 * Nothing here ever holds a secret.
 */

import type { Logger } from "../logger.js";
import type { Partition } from "../providers/aws-iam/endpoints.js";
import type { AwsPacer } from "../providers/aws-iam/pacing.js";
import type { IamKeyPort } from "../providers/aws-iam/port.js";
import type { RetryPolicy } from "../providers/aws-iam/retry.js";
import type { AwsRetry } from "../providers/aws-iam/sdk-port.js";
import type { SourceKind } from "../providers/aws-iam/sources.js";
import type { Secret } from "../secret.js";
import type { KeeperRecord } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import type { CrashStep } from "./checkpoint.js";
import type { Strategy } from "./settings.js";

/** The engine's logger is rekey's one logger type (src/logger.ts). */
export type RotationLogger = Logger;
export { silentLogger } from "../logger.js";

/**
 * A record the caller hands to the engine instead of the engine reading it from the store: the Keeper
 * Gateway passes the records attached to the script (flattened dictionaries, see pam-protocol/gateway-params.ts).
 */
export interface SuppliedRecord {
  uid: string;
  record: KeeperRecord;
}

export interface RotateOptions {
  /** `--strategy`: overrides the record's rotation_strategy / delete_all_keys_before_rotating. */
  strategy?: Strategy | undefined;
  /** `--credentials RECORD`: UID or title (comma-separated list allowed) of the admin credential record(s); only these are tried. */
  credentials?: string | undefined;
  /**
   * Admin credential records supplied by the caller (the Gateway's attached records), tried in order in place
   * of the record's rotation_credentials. The record being rotated is never one of them (skipped if passed).
   */
  credentialRecords?: SuppliedRecord[] | undefined;
  /**
   * The PAM configuration supplied by the caller (the Gateway's providerRecordUid), in place of the record's
   * pam_configuration / the vault's only pamAwsConfiguration; null: there is none.
   */
  pamConfiguration?: SuppliedRecord | null | undefined;
  /** The IAM user name (the Gateway's `user`): wins over the record's login. */
  userName?: string | undefined;
  /** The value written to the record's password field (the Gateway's newPassword); default a new random one. */
  newPassword?: Secret | undefined;
  /** `--region`: wins over the record's aws_region and the PAM configuration's regionNames. */
  region?: string | undefined;
  /** `--endpoint-url`: IAM and STS endpoint (the sandbox); wins over AWS_ENDPOINT_URL_IAM/_STS/AWS_ENDPOINT_URL. */
  endpointUrl?: string | undefined;
  /** Prove the new key works before touching old keys. Default: true for graceful, false otherwise. */
  verify?: boolean | undefined;
  /** Give up verifying after this long (default 60 000 ms). */
  verifyTimeoutMs?: number | undefined;
  /** Poll interval while verifying (default 1 500 ms; AWS advice: 1-2 s). */
  verifyIntervalMs?: number | undefined;
  /** Rotate although the IAM UserId changed; let graceful delete keys rekey does not know. */
  force?: boolean | undefined;
  /** Compute the plan (credential source, keys to create/delete/deactivate) and change nothing. */
  dryRun?: boolean | undefined;
  /** Who is rotating, for history and audit (default "rekey rotate"). */
  actor?: string | undefined;
  logger?: RotationLogger | undefined;
  /** Environment for the default credential chain, AWS_REGION and endpoint variables (default process.env). */
  env?: Record<string, string | undefined> | undefined;
  now?: (() => Date) | undefined;
  /** Retry policy for AWS calls (Throttling, 5xx, network). */
  retry?: Partial<RetryPolicy> | undefined;
  /** Per-request timeout (default 15 000 ms). */
  requestTimeoutMs?: number | undefined;
  /** The record lock's time to live; renewed at every step (default 120 000 ms). */
  lockTtlMs?: number | undefined;
  /** Test hook: called at each step boundary; throwing there simulates a crash (see checkpoint.ts). */
  onCheckpoint?: ((step: CrashStep) => void) | undefined;
  /** Decorate the IAM key port (instrumentation; tests inject faults such as a lost CreateAccessKey answer). */
  wrapPort?: ((port: IamKeyPort) => IamKeyPort) | undefined;
  /**
   * The vault's records as the caller just listed them (the gateway's tick), to check that no other record
   * manages the same IAM user; default: the engine lists the vault. `[]` skips the check (the Keeper
   * drop-in: Keeper's Gateway chose the record).
   */
  peers?: readonly StoredRecord[] | undefined;
  /**
   * Ctrl-C: once aborted, the rotation finishes or undoes the step in flight and stops (see executor.ts),
   * throwing an interrupted error that says what state IAM and the vault are in.
   */
  signal?: AbortSignal | undefined;
  /**
   * The whole rotation's deadline (default 10 minutes): past it, the step in flight is finished or undone,
   * the lock released, and the error says what state IAM is in.
   */
  deadlineMs?: number | undefined;
  /**
   * How long IAM may take to show a change in ListAccessKeys (default 5 000 ms): after a CreateAccessKey
   * whose answer was lost, rekey waits this long before the listing that settles it.
   */
  consistencyWindowMs?: number | undefined;
  /** Told of each retried AWS call (code, throttled or not): the gateway's limiter listens here. */
  onAwsRetry?: ((r: AwsRetry) => void) | undefined;
  /** Told of each AWS call the rotation makes (metrics). */
  onAwsCall?: ((action: string) => void) | undefined;
  /** Paces every AWS request (the gateway's pacer for the record's account); none: no waiting. */
  pace?: AwsPacer | undefined;
  /** How precisely IAM reports last use (default 60 000 ms, or REKEY_LAST_USE_RESOLUTION_MS); retire.ts. */
  lastUseResolutionMs?: number | undefined;
}

export type StepName = "delete" | "create" | "verify" | "save" | "deactivate" | "orphan-delete";

export interface StepReport {
  step: StepName;
  keyId?: string | undefined;
  reason?: string | undefined;
  status: "done" | "planned" | "skipped";
}

export interface RotationResult {
  recordUid: string;
  recordTitle: string;
  userName: string;
  /** The IAM UserId, when iam:GetUser is allowed. */
  userId: string | undefined;
  strategy: Strategy;
  dryRun: boolean;
  credentialSource: {
    kind: SourceKind;
    description: string;
    keyId: string | undefined;
    recordUid: string | undefined;
  };
  region: string;
  partition: Partition;
  iamEndpoint: string;
  /** The new key (dry-run: absent). */
  created: { accessKeyId: string; createDate: string } | undefined;
  deleted: string[];
  deactivated: string[];
  /** Verification of the new key, when done. */
  verified: { attempts: number; arn: string } | undefined;
  /** The record's revision after this run saved it (undefined when it did not save). */
  revision: number | undefined;
  /** Planned (dry-run) or done steps, in order. */
  steps: StepReport[];
  warnings: string[];
  /**
   * Replaced keys kept Active after the save: for the overlap, or held because IAM shows an application
   * still used them after the new key was created (`held`); they are retired later (retire.ts).
   */
  retained: { keyIds: string[]; held: boolean; why: string } | undefined;
  /** A pending rotation found and finished or rolled back first. */
  resumed:
    | {
        journalId: string;
        outcome: RepairOutcomeKind;
        orphansDeleted: string[];
      }
    | undefined;
}

export type RepairOutcomeKind = "finished" | "rolled-back" | "restarted";

export interface RepairOptions extends Omit<RotateOptions, "dryRun" | "strategy"> {
  /** Only these records (UIDs or titles); default: every record with a pending rotation or an expired graceful key. */
  records?: string[] | undefined;
}

export interface RepairRecordResult {
  recordUid: string;
  recordTitle: string | undefined;
  /** What repair did: finished an interrupted rotation, rolled it back, rotated again, deleted expired keys, or nothing. */
  outcome: RepairOutcomeKind | "grace-expired" | "held" | "nothing" | "failed";
  /** A previous key kept because IAM shows it still in use (why, with its last use). */
  held?: string | undefined;
  orphansDeleted: string[];
  deleted: string[];
  deactivated: string[];
  created: string | undefined;
  warnings: string[];
  /** When outcome is "failed": the error (message and fix; never secrets). */
  error: { kind: string; message: string; hint: string | undefined } | undefined;
}

export interface RepairResult {
  records: RepairRecordResult[];
  /** False if any record failed. */
  ok: boolean;
}
