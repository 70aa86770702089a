/**
 * The rotation engine's public API for the CLI and the gateway. Importing this file is cheap: the
 * engine (and with it the AWS SDK) loads on the first call, so `rekey policy` and `rekey --help`
 * never pay for the SDK.
 */

import type { AsyncVaultStore } from "../vault/async-store.js";
import type { StoredRecord } from "../vault/store.js";
import type { RepairOptions, RepairResult, RotateOptions, RotationResult } from "./types.js";

export {
  type IamPolicyDocument,
  type PolicyOptions,
  policyFor,
  policyJson,
} from "../providers/aws-iam/policy.js";
export { CRASH_ENV, CRASH_STEPS, type CrashStep } from "./checkpoint.js";
export { graceDue, graceExpiresAt } from "./grace.js";
export { isLockHeld } from "./lock-held.js";
export { FIELD, isStrategy, parseDuration, parseStrategy, STRATEGIES, type Strategy } from "./settings.js";
export type {
  RepairOptions,
  RepairRecordResult,
  RepairResult,
  RotateOptions,
  RotationLogger,
  RotationResult,
  StepReport,
  SuppliedRecord,
} from "./types.js";

/**
 * Rotate the access key of the IAM user a pamUser record (UID or title) names, in the local vault (sync
 * store) or any async store (a Keeper vault). See engine.ts.
 */
export async function rotateRecord(
  store: AsyncVaultStore,
  recordRef: string | StoredRecord,
  opts: RotateOptions = {},
): Promise<RotationResult> {
  engine ??= import("./engine.js");
  return (await engine).rotateRecord(store, recordRef, opts);
}

/**
 * The engine, loaded on first use and kept: a gateway rotates thousands of records, and each dynamic
 * import() goes through module resolution again (and through the loader hooks, under tsx).
 */
let engine: Promise<typeof import("./engine.js")> | undefined;

/** Finish or undo interrupted rotations and expire graceful keys past their grace. See repair-records.ts. */
export async function repairRecords(store: AsyncVaultStore, opts: RepairOptions = {}): Promise<RepairResult> {
  const m = await import("./repair-records.js");
  return m.repairRecords(store, opts);
}
