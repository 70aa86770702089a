/**
 * `rotateRecord`: rotate the access key of the IAM user a pamUser record names.
 *
 * Order: load record and settings → (dry-run: plan only) → lock → resolve admin credentials
 * (tested with ListAccessKeys) → UserId check → finish or undo an interrupted rotation of this
 * record → list → plan → (graceful: permission probe) → run (journaled; executor.ts).
 */

import { conflict, RekeyError } from "../errors.js";
import { type ResolvedAdmin, resolveAdminCredentials } from "../providers/aws-iam/admin-credentials.js";
import type { KeyMeta } from "../providers/aws-iam/port.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { findRecord } from "../vault/find-record.js";
import type { StoredRecord } from "../vault/store.js";
import { type ExecContext, runRotation } from "./executor.js";
import { fromEntry, pendingJournals, type RotationJournal } from "./journal.js";
import { renewLease } from "./lease-renewal.js";
import { planRotation, planSteps, type RotationPlan } from "./plan.js";
import { repairJournal } from "./repair.js";
import { describeLastUse, usedSince } from "./retire.js";
import { duplicateRefusal, managesIamUser, sameUserRecords } from "./same-user.js";
import {
  checkUserIdentity,
  execContext,
  type Normalized,
  normalize,
  type Prepared,
  prepare,
  takeLock,
} from "./session.js";
import { ADOPT_DEFAULT_OVERLAP_MS, type RecordKeyState, readKeyState } from "./settings.js";
import { adoptionAllowed, retireModeOf, verifyByDefault } from "./strategy-table.js";
import type { RepairOutcomeKind, RotateOptions, RotationResult, StepReport } from "./types.js";

/**
 * Rotate the IAM access key of the user named by a pamUser record (UID or title, or the record as just
 * read), in either kind of store: the synchronous local vault, or the async port (a Keeper vault).
 *
 * @example
 * const result = await rotateRecord(store, "alice (AWS)", { endpointUrl: sandbox.endpoint });
 * console.log(result.created?.accessKeyId, result.deleted);
 */
export async function rotateRecord(
  store: AsyncVaultStore,
  recordRef: string | StoredRecord,
  opts: RotateOptions = {},
): Promise<RotationResult> {
  const n = normalize(opts, "rekey rotate");
  // A record the caller has just read is used as is (the save checks its revision; a stale one costs a retry).
  const stored = typeof recordRef === "string" ? await findRecord(store, recordRef) : recordRef;
  const prep = await prepare(store, stored, opts, n);
  const { settings } = prep;
  await refuseDuplicates(store, stored, settings.userName, opts.peers);
  n.logger.debug(
    {
      recordUid: stored.uid,
      userName: settings.userName,
      strategy: settings.strategy,
      region: prep.endpoints.region,
    },
    "rotation requested",
  );
  if (opts.dryRun) return dryRun(store, stored, prep, n, opts);

  const lease = await takeLock(store, stored, n);
  let admin: ResolvedAdmin | undefined;
  try {
    admin = await resolveAdminCredentials(prep.sources.candidates, {
      userName: settings.userName,
      endpoints: prep.endpoints,
      retry: n.retry,
      requestTimeoutMs: n.requestTimeoutMs,
      logger: n.logger,
      onWait: () => renewLease(lease, n.lockTtlMs),
      wrapPort: n.wrapPort,
      onRetry: n.onAwsRetry,
      onCall: n.onAwsCall,
      pace: n.pace,
      prefetchUser: true,
    });
    const ctx = execContext(store, admin.port, stored, lease, n);
    return await rotateLocked(ctx, store, stored, prep, admin, n, opts);
  } catch (err) {
    await recordFailure(store, stored, n, settings.userName, err);
    throw err;
  } finally {
    admin?.port.close();
    lease.release();
  }
}

/**
 * Two records for one IAM user are never both rotated: rotating one would delete the key the other
 * holds. Refused before any AWS call, not retried (only the user can resolve it).
 */
async function refuseDuplicates(
  store: AsyncVaultStore,
  stored: StoredRecord,
  userName: string,
  peers: readonly StoredRecord[] | undefined,
): Promise<void> {
  if (!managesIamUser(stored.record)) return;
  const all = peers ?? (await store.listRecords());
  const others = sameUserRecords(stored, all);
  if (others.length === 0) return;
  const { message, hint } = duplicateRefusal(stored, others, userName);
  throw new RekeyError("conflict", message, {
    hint,
    details: { retryable: false, records: [stored.uid, ...others.map((o) => o.uid)] },
  });
}

/**
 * True when the record was rotated before: it carries `aws_user_id`, or an earlier version did (then it
 * was removed, perhaps to point the record at another user). Versions are read only when needed.
 */
async function wasRotatedBefore(store: AsyncVaultStore, stored: StoredRecord): Promise<boolean> {
  if (readKeyState(stored.record).userId) return true;
  if (readKeyState(stored.record).currentKeyId) return false; // the key check decides
  try {
    const versions = await store.history(stored.uid);
    return versions.some((v) => !!readKeyState(v.record).userId);
  } catch {
    return false;
  }
}

async function recordFailure(
  store: AsyncVaultStore,
  stored: StoredRecord,
  n: Normalized,
  userName: string,
  err: unknown,
): Promise<void> {
  try {
    await store.appendAudit({
      action: "rotation.failed",
      recordUid: stored.uid,
      actor: n.actor,
      details: {
        userName,
        kind: err instanceof RekeyError ? err.kind : "internal",
        // Messages never hold secrets (only key ids, names, AWS's own error text).
        error: err instanceof Error ? err.message : String(err),
      },
    });
  } catch {
    // The audit is best effort here: the original error matters more.
  }
}

/** The part of a rotation that runs under the record's lock with working admin credentials. */
export async function rotateLocked(
  ctx: ExecContext,
  store: AsyncVaultStore,
  stored: StoredRecord,
  prep: Prepared,
  admin: ResolvedAdmin,
  n: Normalized,
  opts: Pick<RotateOptions, "verify">,
): Promise<RotationResult> {
  const { settings } = prep;
  const warnings = [...prep.warnings, ...admin.skipped.map((s) => `credential source skipped: ${s}`)];
  const userId = await checkUserIdentity(
    admin.port,
    stored,
    settings.userName,
    n,
    warnings,
    prep.sources.pamConfig?.account,
    admin.user,
  );

  // An interrupted rotation of this record is finished (or undone) before anything else.
  let resumed: RotationResult["resumed"];
  let finished = false;
  let supersedes: { journalId: string; removed: string[] } | undefined;
  for (const entry of await pendingJournals(store, stored.uid)) {
    const current = (await store.getRecord(stored.uid)) ?? stored;
    const outcome = await repairJournal(ctx, entry, {
      currentKeyId: readKeyState(current.record).currentKeyId,
      userId,
      force: n.force,
    });
    const kind: RepairOutcomeKind = outcome === "restart" ? "restarted" : outcome;
    resumed = { journalId: entry.id, outcome: kind, orphansDeleted: [...ctx.report.orphansDeleted] };
    if (outcome === "finished") finished = true;
    if (outcome === "restart") {
      const j = fromEntry(entry);
      supersedes = { journalId: entry.id, removed: [...new Set([...j.inheritedRemoved, ...j.removed])] };
    }
  }
  if (finished) {
    // The interrupted rotation is now complete: that was this record's rotation.
    return result(stored, prep, admin, ctx, { userId, warnings, resumed, dryRun: false });
  }

  // Re-read only when a resumed rotation may have changed the record.
  const latest = resumed ? ((await store.getRecord(stored.uid)) ?? stored) : stored;
  const keys = resumed ? await admin.port.listKeys(settings.userName) : admin.keys;
  const keyState = readKeyState(latest.record);
  const rotatedBefore = await wasRotatedBefore(store, latest);
  const adopting = adoptionOf(settings, keyState, rotatedBefore, keys, n.force);
  const releasable = await releaseRetained(
    ctx,
    settings.userName,
    keyState,
    keys,
    n.force,
    n.lastUseResolutionMs,
  );
  const outcome = planRotation({
    userName: settings.userName,
    strategy: settings.strategy,
    keys,
    currentKeyId: keyState.currentKeyId,
    previousKeyIds: keyState.previousKeyIds,
    releasable,
    force: n.force,
    verify: opts.verify ?? verifyByDefault(settings.strategy),
    rotatedBefore,
    currentDeletedByUs: supersedes !== undefined,
  });
  if (!outcome.ok) throw conflict(outcome.reason, outcome.hint);
  const plan = outcome.plan;
  warnings.push(...plan.notes);
  if (adopting) {
    warnings.push(
      `adopting IAM user "${settings.userName}": the key(s) it had (${keys.map((k) => k.accessKeyId).join(", ")}) stay Active for the overlap, then Inactive for the grace, then are deleted, each step only when IAM shows no use since the last check`,
    );
  }
  await probeDeactivation(ctx, plan);
  ctx.record = latest;
  await runRotation(ctx, plan, {
    userName: settings.userName,
    userId,
    knownKeyIds: keys.map((k) => k.accessKeyId),
    currentKeyId: keyState.currentKeyId,
    supersedes,
    retirePolicy: {
      overlapMs: settings.overlapMs ?? (adopting ? ADOPT_DEFAULT_OVERLAP_MS : 0),
      mode: retireModeOf(settings.strategy, adopting),
      force: n.force,
    },
  });
  return result(stored, prep, admin, ctx, { userId, warnings, resumed, dryRun: false });
}

/**
 * The record adopts the keys it finds (`adopt_existing_keys=True`, no key in the vault, never rotated):
 * they stay Active through the overlap instead of being replaced at once. Delete-then-create would delete
 * them before anything else, so adoption refuses it (unless --force).
 */
function adoptionOf(
  settings: Prepared["settings"],
  state: RecordKeyState,
  rotatedBefore: boolean,
  keys: KeyMeta[],
  force: boolean,
): boolean {
  if (!settings.adopt || state.currentKeyId || rotatedBefore || keys.length === 0) return false;
  if (!adoptionAllowed(settings.strategy) && !force) {
    throw conflict(
      `record is set to adopt the keys IAM user "${settings.userName}" has (adopt_existing_keys=True), but its strategy ${settings.strategy} would delete them before the new key exists; nothing was changed`,
      "use create-then-delete or graceful for the first rotation (--strategy graceful), or --force to delete them",
    );
  }
  return true;
}

/**
 * Previous keys still Active (held because in use, or in their overlap) must go before a new rotation can
 * replace the current key (IAM allows 2 keys). Those IAM shows unused since the last check are released
 * (deleted before the create); one still in use stops the rotation, so that no application loses its key.
 */
/**
 * The record's previous keys are Active because rekey kept them so (held, or in their overlap). One that
 * rekey deactivated and someone re-activated is not: the planner refuses to delete it without --force.
 */
function keptByRekey(state: RecordKeyState): boolean {
  return !state.previousDeactivatedAt && !!(state.previousHeldAt || state.previousActiveUntil);
}

async function releaseRetained(
  ctx: ExecContext,
  userName: string,
  state: RecordKeyState,
  keys: KeyMeta[],
  force: boolean,
  resolutionMs: number,
): Promise<string[]> {
  if (!keptByRekey(state)) return [];
  const active = keys.filter(
    (k) =>
      k.status === "Active" &&
      state.previousKeyIds.includes(k.accessKeyId) &&
      k.accessKeyId !== state.currentKeyId,
  );
  if (active.length === 0 || force) return active.map((k) => k.accessKeyId);
  const since = state.previousSince ?? state.previousHeldAt ?? new Date(0);
  const inUse: string[] = [];
  for (const k of active) {
    const use = await ctx.port.lastUsed(userName, k.accessKeyId);
    if (usedSince(use, since, resolutionMs)) inUse.push(`${k.accessKeyId} (${describeLastUse(use)})`);
  }
  if (inUse.length > 0) {
    throw new RekeyError(
      "conflict",
      `the previous key ${inUse.join(", ")} of IAM user "${userName}" is still in use since ${since.toISOString()}: ` +
        "a new rotation would have to delete it, and the application using it would break; nothing was changed",
      {
        hint: "move the application to the vault's current key (rekey credential-process / exec), or run again with --force to delete it anyway",
        details: { held: true },
      },
    );
  }
  return active.map((k) => k.accessKeyId);
}

/**
 * An access key id AWS never issues (AWS's are 20 characters): the permission probe's target, so that
 * the probe can never change a real key.
 */
export const PROBE_KEY_ID = "AKIAREKEYPERMISSIONPROBE";

/**
 * Graceful ends with iam:UpdateAccessKey, which the seed's policy lacks. Rather than create a key and
 * fail at the very end, ask first. IAM authorizes UpdateAccessKey against the user before it looks the
 * key up, so an update of a key id that cannot exist answers NoSuchEntity when the deactivation is
 * allowed and AccessDenied when it is not. (An update of the real previous key to Active would do, but a
 * request whose answer is lost can be applied late: it would re-activate the key just deactivated.)
 * Refused here, nothing has changed.
 */
async function probeDeactivation(ctx: ExecContext, plan: RotationPlan): Promise<void> {
  const target = plan.deactivateAfter[0];
  if (!target) return;
  try {
    await ctx.port.updateKey(plan.userName, PROBE_KEY_ID, "Active");
  } catch (err) {
    if (err instanceof RekeyError && err.kind === "auth") {
      throw new RekeyError(
        "auth",
        `the graceful strategy deactivates the old key, but ${err.message}; nothing was changed`,
        {
          hint: "grant iam:UpdateAccessKey (`rekey policy --strategy graceful` prints the policy), or use rotation_strategy=create-then-delete",
          details: err.details,
        },
      );
    }
    throw err;
  }
}

async function dryRun(
  store: AsyncVaultStore,
  stored: StoredRecord,
  prep: Prepared,
  n: Normalized,
  opts: RotateOptions,
): Promise<RotationResult> {
  const { settings } = prep;
  const admin = await resolveAdminCredentials(prep.sources.candidates, {
    userName: settings.userName,
    endpoints: prep.endpoints,
    retry: n.retry,
    requestTimeoutMs: n.requestTimeoutMs,
    logger: n.logger,
    wrapPort: n.wrapPort,
    onRetry: n.onAwsRetry,
    onCall: n.onAwsCall,
    pace: n.pace,
  });
  try {
    const warnings = [...prep.warnings, ...admin.skipped.map((s) => `credential source skipped: ${s}`)];
    const userId = await checkUserIdentity(
      admin.port,
      stored,
      settings.userName,
      n,
      warnings,
      prep.sources.pamConfig?.account,
    );
    const pending = (await pendingJournals(store, stored.uid)).map(fromEntry);
    const unfinished = pending.find((j) => j.phase !== "intent");
    if (unfinished) {
      // A real run would finish this rotation (and not rotate again): show what remains of it.
      warnings.push(
        `an interrupted rotation of this record is pending (journal ${unfinished.id}, phase ${unfinished.phase}): a real run finishes it and does not rotate again`,
      );
      return {
        ...result(stored, prep, admin, undefined, { userId, warnings, resumed: undefined, dryRun: true }),
        deleted: unfinished.deleteAfter
          .filter((d) => !unfinished.removed.includes(d.keyId))
          .map((d) => d.keyId),
        deactivated: unfinished.deactivateAfter
          .filter((d) => !unfinished.deactivated.includes(d.keyId))
          .map((d) => d.keyId),
        steps: remainingSteps(unfinished),
      };
    }
    let keys = admin.keys;
    if (pending.length > 0) {
      // Intent only: a real run first deletes keys that appeared without a stored secret, then rotates.
      const known = new Set(pending.flatMap((j) => j.knownKeyIds));
      const orphans = keys.filter((k) => !known.has(k.accessKeyId));
      warnings.push(
        `an interrupted rotation of this record is pending (journal ${pending.map((p) => p.id).join(", ")}): a real run undoes it first` +
          (orphans.length > 0
            ? `, deleting orphan key(s) ${orphans.map((k) => k.accessKeyId).join(", ")}`
            : ""),
      );
      keys = keys.filter((k) => known.has(k.accessKeyId));
    }
    const keyState = readKeyState(stored.record);
    const outcome = planRotation({
      userName: settings.userName,
      strategy: settings.strategy,
      keys,
      currentKeyId: keyState.currentKeyId,
      previousKeyIds: keyState.previousKeyIds,
      releasable: keptByRekey(keyState)
        ? keys
            .filter((k) => k.status === "Active" && keyState.previousKeyIds.includes(k.accessKeyId))
            .map((k) => k.accessKeyId)
        : [],
      force: n.force,
      verify: opts.verify ?? verifyByDefault(settings.strategy),
      rotatedBefore: await wasRotatedBefore(store, stored),
    });
    if (!outcome.ok) throw conflict(outcome.reason, outcome.hint);
    warnings.push(...outcome.plan.notes.map((x) => x.replace(/^deleted /, "would delete ")));
    return {
      ...result(stored, prep, admin, undefined, { userId, warnings, resumed: undefined, dryRun: true }),
      deleted: [...outcome.plan.deleteBefore, ...outcome.plan.deleteAfter].map((d) => d.keyId),
      deactivated: outcome.plan.deactivateAfter.map((d) => d.keyId),
      steps: planSteps(outcome.plan).map((s) => ({ ...s, status: "planned" as const })),
    };
  } finally {
    admin.port.close();
  }
}

/** What finishing an interrupted rotation would still do. */
function remainingSteps(j: RotationJournal): StepReport[] {
  const steps: StepReport[] = [];
  if (j.phase === "created") {
    if (j.verify) steps.push({ step: "verify", keyId: j.newKey?.accessKeyId, status: "planned" });
    steps.push({ step: "save", keyId: j.newKey?.accessKeyId, status: "planned" });
  }
  for (const d of j.deleteAfter) {
    if (!j.removed.includes(d.keyId))
      steps.push({ step: "delete", keyId: d.keyId, reason: d.reason, status: "planned" });
  }
  for (const d of j.deactivateAfter) {
    if (!j.deactivated.includes(d.keyId))
      steps.push({ step: "deactivate", keyId: d.keyId, reason: d.reason, status: "planned" });
  }
  return steps;
}

export function result(
  stored: StoredRecord,
  prep: Prepared,
  admin: ResolvedAdmin,
  ctx: ExecContext | undefined,
  extra: {
    userId: string | undefined;
    warnings: string[];
    resumed: RotationResult["resumed"];
    dryRun: boolean;
  },
): RotationResult {
  const r = ctx?.report;
  return {
    recordUid: stored.uid,
    recordTitle: stored.record.title,
    userName: prep.settings.userName,
    userId: extra.userId,
    strategy: prep.settings.strategy,
    dryRun: extra.dryRun,
    credentialSource: { ...admin.source },
    region: prep.endpoints.region,
    partition: prep.endpoints.partition,
    iamEndpoint: prep.endpoints.iam,
    created: r?.created,
    deleted: [...(r?.deleted ?? [])],
    deactivated: [...(r?.deactivated ?? [])],
    verified: r?.verified,
    revision: r?.revision,
    steps: [...(r?.steps ?? [])],
    warnings: [...extra.warnings, ...(r?.warnings ?? [])],
    resumed: extra.resumed,
    retained: r?.retained,
  };
}
