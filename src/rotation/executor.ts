/**
 * Runs a rotation plan, journaling every step so that a crash anywhere is recoverable (repair.ts).
 *
 * Invariants kept here (architecture.md):
 * 1. The intent is journaled before the first AWS change; the new secret is journaled right after
 *    CreateAccessKey returns, before anything else; the record is saved before any old key is
 *    deleted or deactivated.
 * 2. A CreateAccessKey with an unknown outcome is followed by a listing: a key that appeared without a
 *    secret we hold is deleted as an orphan before any retry; we never create twice blindly.
 * 3. The lease is renewed before every AWS change, so a rotation that lost its lock stops there.
 * 4. What a failed save undoes or keeps, and Keeper's two-phase save: save.ts.
 * 5. Ctrl-C (`signal`): the step in flight is finished or undone, never left half-done. Before the create,
 *    nothing has changed: stop. After the create and before the save, with no old key deleted yet: delete
 *    the new key again (IAM and the vault as before). Once an old key is gone (delete-then-create; its
 *    `oldKeysGoneBeforeCreate` in strategy-table.ts) or the record is saved: finish the rotation (a few
 *    calls), because undoing is no longer possible. Each stop throws an "interrupted" error saying which
 *    of these happened.
 */

import { RekeyError } from "../errors.js";
import { AwsCallError } from "../providers/aws-iam/errors.js";
import type { IamKeyPort, NewKey } from "../providers/aws-iam/port.js";
import { verifyNewKey } from "../providers/aws-iam/verify.js";
import type { Secret } from "../secret.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { newUid } from "../vault/record.js";
import type { Lease, StoredRecord } from "../vault/store.js";
import type { Checkpoint } from "./checkpoint.js";
import { journalOp, type RetainedKeys, type RotationJournal, writeJournal } from "./journal.js";
import { renewLease } from "./lease-renewal.js";
import type { KeyAction, RotationPlan } from "./plan.js";
import { describeLastUse, type LastUse, usedSince } from "./retire.js";
import { saveNewKey, settleTransaction } from "./save.js";
import { oldKeysGoneBeforeCreate } from "./strategy-table.js";
import type { RotationLogger, StepReport } from "./types.js";

export interface ExecReport {
  steps: StepReport[];
  deleted: string[];
  deactivated: string[];
  orphansDeleted: string[];
  created: { accessKeyId: string; createDate: string } | undefined;
  verified: { attempts: number; arn: string } | undefined;
  /** The record's revision after the save. */
  revision: number | undefined;
  warnings: string[];
  /** Replaced keys kept after the save (overlap, or held because still in use). */
  retained: { keyIds: string[]; held: boolean; why: string } | undefined;
}

export function newReport(): ExecReport {
  return {
    steps: [],
    deleted: [],
    deactivated: [],
    orphansDeleted: [],
    created: undefined,
    verified: undefined,
    revision: undefined,
    warnings: [],
    retained: undefined,
  };
}

export interface ExecContext {
  store: AsyncVaultStore;
  port: IamKeyPort;
  recordUid: string;
  lease: Lease;
  lockTtlMs: number;
  actor: string;
  logger: RotationLogger;
  now: () => Date;
  checkpoint: Checkpoint;
  verify: { timeoutMs: number; intervalMs: number };
  /**
   * The record as last read: the save's first attempt starts from it instead of reading again (a stale one
   * costs a conflict and a re-read, never an overwrite). Used once.
   */
  record?: StoredRecord | undefined;
  /** The record's new password field value (the Gateway's newPassword); undefined: a new random one. */
  password: Secret | undefined;
  report: ExecReport;
  /** Ctrl-C / SIGTERM, or the rotation's deadline (see invariant 5 above). */
  signal?: AbortSignal | undefined;
  /** How long IAM may take to show a change in ListAccessKeys (see settleUncertainCreates). */
  consistencyWindowMs: number;
  /** How precisely IAM reports a key's last use (retire.ts). */
  lastUseResolutionMs: number;
}

/**
 * The error a stopped rotation throws, with the state IAM and the vault are in: after Ctrl-C, exit 130
 * (not retried); after the rotation's deadline, an AWS error (exit 7, retried later by the gateway).
 */
export function stopped(ctx: Pick<ExecContext, "signal">, state: string): RekeyError {
  const reason: unknown = ctx.signal?.reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new RekeyError(
      "aws",
      `the rotation did not finish within its deadline (AWS did not answer in time): ${state}`,
      { hint: "check the network path to AWS (and its proxy), then rotate again" },
    );
  }
  return new RekeyError("interrupted", `interrupted: ${state}`, { details: { retryable: false } });
}

/** Before a step: the lease renewed (skipped when it was written under a second ago: lease-renewal.ts). */
export function renew(ctx: ExecContext): void {
  void renewLease(ctx.lease, ctx.lockTtlMs);
}

export interface RunMeta {
  userName: string;
  userId: string | undefined;
  /** The user's keys the plan was made from. */
  knownKeyIds: string[];
  currentKeyId: string | undefined;
  /**
   * An interrupted rotation this one restarts (it had deleted the vault's key): its journal is replaced by
   * this rotation's in one commit, carrying what it deleted, so the fact survives this run failing too.
   */
  supersedes?: { journalId: string; removed: string[] } | undefined;
  /** How the replaced keys retire (default: as before, deleted or deactivated right after the save, after a last-use check). */
  retirePolicy?: RotationJournal["retirePolicy"];
}

/** Start a planned rotation: intent → deletions before → create → journal the secret → continue. */
export async function runRotation(ctx: ExecContext, plan: RotationPlan, meta: RunMeta): Promise<void> {
  const j: RotationJournal = {
    id: newUid(),
    recordUid: ctx.recordUid,
    phase: "intent",
    strategy: plan.strategy,
    userName: meta.userName,
    userId: meta.userId,
    actor: ctx.actor,
    startedAt: ctx.now().toISOString(),
    knownKeyIds: meta.knownKeyIds,
    previousCurrentKeyId: meta.currentKeyId,
    deleteBefore: plan.deleteBefore,
    deleteAfter: plan.deleteAfter,
    deactivateAfter: plan.deactivateAfter,
    verify: plan.verify,
    removed: [],
    deactivated: [],
    newKey: undefined,
    savedAt: undefined,
    transaction: false,
    inheritedRemoved: meta.supersedes?.removed ?? [],
    uncertainCreates: [],
    retirePolicy: meta.retirePolicy,
    retained: undefined,
  };
  if (ctx.signal?.aborted)
    throw stopped(ctx, `nothing was changed: IAM user "${meta.userName}" and the vault are as they were`);
  if (meta.supersedes) {
    // The restart's intent and the end of the journal it replaces: one commit, so the fact "the vault's
    // key was deleted" is always in one of them.
    await ctx.store.commit(
      [
        journalOp(j),
        { op: "deleteJournal", id: meta.supersedes.journalId },
        {
          op: "audit",
          event: {
            action: "rotation.restarted",
            recordUid: ctx.recordUid,
            actor: ctx.actor,
            details: { userName: j.userName, journalId: j.id, supersedes: meta.supersedes.journalId },
          },
        },
      ],
      { actor: ctx.actor },
    );
  } else await writeJournal(ctx.store, j);
  ctx.logger.debug(
    { recordUid: ctx.recordUid, journalId: j.id, strategy: j.strategy },
    "rotation intent journaled",
  );
  ctx.checkpoint("intent");

  let created: NewKey;
  const unknown = { mayHaveOrphan: false };
  try {
    if (ctx.signal?.aborted) {
      throw stopped(ctx, `nothing was changed: IAM user "${meta.userName}" and the vault are as they were`);
    }
    for (const d of plan.deleteBefore) await deleteStep(ctx, j, d, "before");
    created = await createCarefully(ctx, j, unknown);
  } catch (err) {
    // Nothing changed in AWS in this run and nothing was inherited: the intent can go. Otherwise (a key
    // deleted now or by the rotation this one restarts, or a lost create not yet settled) keep it, so the
    // next run repairs.
    if (j.removed.length === 0 && j.inheritedRemoved.length === 0 && !unknown.mayHaveOrphan)
      await ctx.store.deleteJournal(j.id);
    throw err;
  }
  ctx.checkpoint("create");

  j.newKey = {
    accessKeyId: created.accessKeyId,
    secret: created.secret,
    createDate: created.createDate.toISOString(),
  };
  j.createdSeenAt = ctx.now().toISOString();
  j.phase = "created";
  try {
    await writeJournal(ctx.store, j);
  } catch (err) {
    // The secret could not be made durable: the key is useless, remove it now rather than leave an orphan.
    await ctx.port.deleteKey(meta.userName, created.accessKeyId).catch(() => undefined);
    throw err;
  }
  ctx.report.created = { accessKeyId: created.accessKeyId, createDate: j.newKey.createDate };
  ctx.report.steps.push({ step: "create", keyId: created.accessKeyId, status: "done" });
  ctx.logger.info(
    { recordUid: ctx.recordUid, keyId: created.accessKeyId },
    "created new key (secret journaled)",
  );
  ctx.checkpoint("journal");
  await continueRotation(ctx, j);
}

/** How long IAM may take to show a change in ListAccessKeys (eventual consistency). */
export const DEFAULT_CONSISTENCY_WINDOW_MS = 5_000;

/** CreateAccessKey tries: the first, and two after an answer that was lost. */
const CREATE_TRIES = 3;

/**
 * CreateAccessKey, never twice blindly. When an answer is lost (a reset, a 5xx after sending, a timeout)
 * the key may exist, or may appear a moment later: the journal first records "a create may have landed at
 * T", then rekey waits out IAM's consistency window, lists the keys, and deletes every key it did not know
 * (created by the lost call: its secret is known nowhere) before trying again. A `LimitExceeded` after
 * such a loss is itself proof that the lost create landed, and is handled the same way.
 */
async function createCarefully(
  ctx: ExecContext,
  j: RotationJournal,
  unknown: { mayHaveOrphan: boolean },
): Promise<NewKey> {
  let lostOnce = false;
  for (let attempt = 1; ; attempt++) {
    renew(ctx);
    try {
      return await ctx.port.createKey(j.userName);
    } catch (err) {
      const lost = err instanceof AwsCallError && err.outcomeUnknown;
      const landedEarlier = err instanceof AwsCallError && err.code === "LimitExceeded" && lostOnce;
      if (!lost && !landedEarlier) throw err;
      lostOnce = true;
      unknown.mayHaveOrphan = true;
      ctx.logger.warn(
        { recordUid: ctx.recordUid, attempt, awsCode: (err as AwsCallError).code },
        landedEarlier
          ? "CreateAccessKey says the user has 2 keys: a lost create landed; settling it"
          : "CreateAccessKey outcome unknown: settling it before anything else",
      );
      j.uncertainCreates.push(ctx.now().toISOString());
      await writeJournal(ctx.store, j);
      await settleUncertainCreates(ctx, j);
      unknown.mayHaveOrphan = false;
      if (attempt >= CREATE_TRIES) throw err;
    }
  }
}

/**
 * Wait until IAM's consistency window has passed since the last lost create, list the keys, and delete
 * every key this rotation does not know (not a key the user had, not the journaled new key, not the
 * vault's): such a key was made by a lost CreateAccessKey and its secret is known nowhere.
 */
export async function settleUncertainCreates(ctx: ExecContext, j: RotationJournal): Promise<void> {
  const last = j.uncertainCreates.map(Date.parse).reduce((a, b) => Math.max(a, b), 0);
  if (!last) return;
  const wait = last + ctx.consistencyWindowMs - ctx.now().getTime();
  if (wait > 0) await pause(wait, () => renew(ctx));
  const keys = await ctx.port.listKeys(j.userName);
  const keep = new Set([...j.knownKeyIds, ...(j.newKey ? [j.newKey.accessKeyId] : [])]);
  if (j.previousCurrentKeyId) keep.add(j.previousCurrentKeyId);
  for (const k of keys) {
    if (keep.has(k.accessKeyId)) continue;
    // A key made long after the lost create is somebody else's: never ours to delete.
    if (k.createDate.getTime() > last + ORPHAN_WINDOW_MS) continue;
    await deleteOrphan(
      ctx,
      j.userName,
      k.accessKeyId,
      "created by a CreateAccessKey whose answer was lost: its secret is known nowhere",
    );
  }
  j.uncertainCreates = [];
  await writeJournal(ctx.store, j);
}

/** How long after the last journal write a stray key still counts as ours (slow calls, clock skew). */
export const ORPHAN_WINDOW_MS = 15 * 60_000;

/** Delete a key whose secret is known nowhere (an orphan), and say so. */
export async function deleteOrphan(
  ctx: ExecContext,
  userName: string,
  keyId: string,
  reason: string,
): Promise<void> {
  renew(ctx);
  await ctx.port.deleteKey(userName, keyId);
  ctx.report.orphansDeleted.push(keyId);
  ctx.report.steps.push({ step: "orphan-delete", keyId, reason, status: "done" });
  ctx.report.warnings.push(`deleted orphan key ${keyId}: ${reason}`);
  ctx.logger.warn({ recordUid: ctx.recordUid, keyId }, "deleted orphan key");
}

/**
 * Sleep `ms` (IAM's consistency window), renewing the lease every 2 s. Not cut short by Ctrl-C: the
 * listing after it is what settles a lost create, and the wait is bounded.
 */
async function pause(ms: number, onTick: () => void): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(2_000, end - Date.now())));
    onTick();
  }
}

/** From phase "created" or "saved" to the end: verify → save → delete/deactivate → drop the journal. */
export async function continueRotation(ctx: ExecContext, j: RotationJournal): Promise<void> {
  const newKey = j.newKey;
  if (!newKey) throw new RekeyError("internal", `journal ${j.id} has no new key to continue with`);
  if (j.transaction) await settleTransaction(ctx, j);
  if (j.phase === "created") {
    if (ctx.signal?.aborted && j.removed.length === 0) await undoCreate(ctx, j, "interrupted");
    if (j.verify) {
      renew(ctx);
      const v = await verifyNewKey(
        ctx.port,
        { accessKeyId: newKey.accessKeyId, secret: newKey.secret },
        { userName: j.userName, ...ctx.verify, onTick: () => renew(ctx), signal: ctx.signal },
      );
      if (!v.ok && v.interrupted && j.removed.length === 0) await undoCreate(ctx, j, "interrupted");
      if (v.ok) {
        ctx.report.verified = { attempts: v.attempts, arn: v.arn };
        ctx.report.steps.push({ step: "verify", keyId: newKey.accessKeyId, status: "done" });
        ctx.checkpoint("verify");
      } else if (oldKeysGoneBeforeCreate(j.strategy)) {
        // The old keys are gone already: the new key is all there is, so it must be saved anyway.
        ctx.report.warnings.push(`the new key ${newKey.accessKeyId} could not be verified: ${v.reason}`);
        ctx.report.steps.push({
          step: "verify",
          keyId: newKey.accessKeyId,
          reason: v.reason,
          status: "skipped",
        });
      } else {
        await undoCreate(ctx, j, v.reason);
      }
    }
    await decideRetained(ctx, j);
    await saveNewKey(ctx, j);
    ctx.report.steps.push({ step: "save", keyId: newKey.accessKeyId, status: "done" });
    ctx.logger.info({ recordUid: ctx.recordUid, keyId: newKey.accessKeyId }, "record saved with the new key");
    ctx.checkpoint("save");
  }
  await finishAfterSave(ctx, j);
}

/**
 * Right before the save: which replaced keys are kept after it (retire.ts). With an overlap they all stay
 * Active until it ends. Otherwise IAM is asked when each was last used: a use since the new key was created
 * means an application has not moved to it yet, so the keys are held (kept Active) instead of deleted or
 * deactivated, and checked again later. Journaled, so a resumed rotation keeps the decision.
 */
async function decideRetained(ctx: ExecContext, j: RotationJournal): Promise<void> {
  const policy = j.retirePolicy;
  if (!policy || j.retained) return;
  const candidates = [...j.deleteAfter, ...j.deactivateAfter]
    .map((d) => d.keyId)
    .filter((id) => !j.removed.includes(id) && !j.deactivated.includes(id));
  if (candidates.length === 0) return;
  // A use after the create returned is a use of the old key while the new one existed (IAM's CreateDate is
  // to the second, earlier than the moment the key was there).
  const created = new Date(j.createdSeenAt ?? j.newKey!.createDate);
  let retained: RetainedKeys | undefined;
  if (policy.overlapMs > 0) {
    const until = new Date(created.getTime() + policy.overlapMs);
    retained = {
      keyIds: candidates,
      mode: policy.mode,
      since: created.toISOString(),
      activeUntil: until.toISOString(),
      why: `kept Active for the overlap, until ${until.toISOString()}`,
    };
  } else if (!policy.force) {
    const uses = new Map<string, LastUse>();
    for (const id of candidates) {
      renew(ctx);
      uses.set(id, await ctx.port.lastUsed(j.userName, id));
    }
    const denied = candidates.filter((id) => uses.get(id) === "denied");
    if (denied.length > 0) {
      ctx.report.warnings.push(
        `could not ask IAM when ${denied.join(", ")} was last used (iam:GetAccessKeyLastUsed is not allowed): ` +
          "the old key was retired without that check; add the permission (rekey policy prints it)",
      );
    }
    const inUse = candidates.filter((id) => usedSince(uses.get(id)!, created, ctx.lastUseResolutionMs));
    if (inUse.length > 0) {
      const now = ctx.now().toISOString();
      retained = {
        keyIds: candidates,
        mode: policy.mode,
        since: now,
        heldAt: now,
        why: `held: old key still in use (${inUse.map((id) => `${id} ${describeLastUse(uses.get(id)!)}`).join("; ")}, after the new key was created)`,
      };
    }
  }
  if (!retained) return;
  const kept = new Set(retained.keyIds);
  j.deleteAfter = j.deleteAfter.filter((d) => !kept.has(d.keyId));
  j.deactivateAfter = j.deactivateAfter.filter((d) => !kept.has(d.keyId));
  j.retained = retained;
  await writeJournal(ctx.store, j);
  ctx.report.retained = { keyIds: retained.keyIds, held: !!retained.heldAt, why: retained.why };
  ctx.logger.info(
    { recordUid: ctx.recordUid, keyIds: retained.keyIds, held: !!retained.heldAt },
    retained.why,
  );
}

/**
 * Nothing old was touched after the create (a failed verification, or Ctrl-C): delete the new key again
 * and leave everything as it was. Always throws.
 */
async function undoCreate(ctx: ExecContext, j: RotationJournal, why: string): Promise<never> {
  const newKey = j.newKey!;
  renew(ctx);
  await ctx.port.deleteKey(j.userName, newKey.accessKeyId);
  await ctx.store.deleteJournal(j.id);
  ctx.report.created = undefined;
  const pre =
    j.removed.length > 0 ? ` (before creating it, inactive key(s) ${j.removed.join(", ")} were deleted)` : "";
  if (why === "interrupted") {
    throw stopped(
      ctx,
      `the new key ${newKey.accessKeyId} was deleted again before the vault was changed: IAM user "${j.userName}" keeps its keys and the vault is as it was${pre}`,
    );
  }
  throw new RekeyError(
    "aws",
    `the new key ${newKey.accessKeyId} of IAM user "${j.userName}" did not work: ${why}; ` +
      `rekey deleted it again and left the user's other keys and the vault as they were${pre}`,
    { hint: "retry later, or give IAM more time with a longer verify timeout (--verify-timeout)" },
  );
}

/** Delete one key, then journal and report it: the deletions before the create and after the save. */
async function deleteStep(
  ctx: ExecContext,
  j: RotationJournal,
  d: KeyAction,
  when: "before" | "after",
): Promise<void> {
  renew(ctx);
  const r = await ctx.port.deleteKey(j.userName, d.keyId);
  j.removed.push(d.keyId);
  await writeJournal(ctx.store, j);
  ctx.report.deleted.push(d.keyId);
  ctx.report.steps.push({
    step: "delete",
    keyId: d.keyId,
    reason: d.reason,
    status: r === "deleted" ? "done" : "skipped",
  });
  ctx.logger.info(
    { recordUid: ctx.recordUid, keyId: d.keyId },
    when === "before" ? "deleted key before creating" : "deleted old key",
  );
  ctx.checkpoint(when === "before" ? "delete-before" : "delete-after");
}

async function finishAfterSave(ctx: ExecContext, j: RotationJournal): Promise<void> {
  try {
    for (const d of j.deleteAfter) {
      if (!j.removed.includes(d.keyId)) await deleteStep(ctx, j, d, "after");
    }
    for (const d of j.deactivateAfter) {
      if (j.deactivated.includes(d.keyId)) continue;
      renew(ctx);
      const r = await ctx.port.updateKey(j.userName, d.keyId, "Inactive");
      j.deactivated.push(d.keyId);
      await writeJournal(ctx.store, j);
      ctx.report.deactivated.push(d.keyId);
      ctx.report.steps.push({
        step: "deactivate",
        keyId: d.keyId,
        reason: d.reason,
        status: r === "updated" ? "done" : "skipped",
      });
      ctx.logger.info({ recordUid: ctx.recordUid, keyId: d.keyId }, "deactivated old key");
      ctx.checkpoint("deactivate");
    }
    // A lost create earlier in this rotation may have landed after the plan's listing: settle it now.
    if (j.uncertainCreates.length > 0) await settleUncertainCreates(ctx, j);
  } catch (err) {
    if (!(err instanceof RekeyError)) throw err;
    throw new RekeyError(
      err.kind,
      `the new key ${j.newKey?.accessKeyId} is saved in the vault, but finishing the rotation failed: ${err.message}`,
      {
        hint: `${err.hint ? `${err.hint}; then ` : ""}run \`rekey repair\` (or rotate again) to finish it`,
        details: { ...err.details, journalId: j.id },
      },
    );
  }
  await ctx.store.commit(
    [
      { op: "deleteJournal", id: j.id },
      {
        op: "audit",
        event: {
          action: "rotation.complete",
          recordUid: ctx.recordUid,
          actor: ctx.actor,
          details: {
            userName: j.userName,
            strategy: j.strategy,
            created: j.newKey?.accessKeyId,
            deleted: j.removed,
            deactivated: j.deactivated,
          },
        },
      },
    ],
    { actor: ctx.actor },
  );
}
