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
 *    the new key again (IAM and the vault as before). Once an old key is gone (delete-then-create) or the
 *    record is saved: finish the rotation (a few calls), because undoing is no longer possible. Each stop
 *    throws an "interrupted" error saying which of these happened.
 */

import { AwsCallError } from "../aws/errors.js";
import type { IamKeyPort, NewKey } from "../aws/port.js";
import { RekeyError } from "../errors.js";
import type { Secret } from "../secret.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { newUid } from "../vault/record.js";
import type { Lease, StoredRecord } from "../vault/store.js";
import type { Checkpoint } from "./checkpoint.js";
import { type RotationJournal, writeJournal } from "./journal.js";
import type { KeyAction, RotationPlan } from "./plan.js";
import { saveNewKey, settleTransaction } from "./save.js";
import type { RotationLogger, StepReport } from "./types.js";
import { verifyNewKey } from "./verify.js";

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
  /** Ctrl-C / SIGTERM (see invariant 5 above). */
  signal?: AbortSignal | undefined;
}

/** The error a stopped rotation throws: exit 130, with the state IAM and the vault are in. */
export function interrupted(state: string): RekeyError {
  return new RekeyError("interrupted", `interrupted: ${state}`, {
    details: { retryable: false },
  });
}

export function renew(ctx: ExecContext): void {
  ctx.lease.renew(ctx.lockTtlMs);
}

export interface RunMeta {
  userName: string;
  userId: string | undefined;
  /** The user's keys the plan was made from. */
  knownKeyIds: string[];
  currentKeyId: string | undefined;
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
  };
  if (ctx.signal?.aborted)
    throw interrupted(`nothing was changed: IAM user "${meta.userName}" and the vault are as they were`);
  await writeJournal(ctx.store, j);
  ctx.logger.debug(
    { recordUid: ctx.recordUid, journalId: j.id, strategy: j.strategy },
    "rotation intent journaled",
  );
  ctx.checkpoint("intent");

  let created: NewKey;
  const unknown = { mayHaveOrphan: false };
  try {
    if (ctx.signal?.aborted) {
      throw interrupted(`nothing was changed: IAM user "${meta.userName}" and the vault are as they were`);
    }
    for (const d of plan.deleteBefore) await deleteStep(ctx, j, d, "before");
    created = await createCarefully(ctx, j, unknown);
  } catch (err) {
    // Nothing changed in AWS: the intent can go. Otherwise (a key deleted, or a lost create whose
    // orphan could not be cleaned up) keep it, so the next run repairs.
    if (j.removed.length === 0 && !unknown.mayHaveOrphan) await ctx.store.deleteJournal(j.id);
    throw err;
  }
  ctx.checkpoint("create");

  j.newKey = {
    accessKeyId: created.accessKeyId,
    secret: created.secret,
    createDate: created.createDate.toISOString(),
  };
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

/**
 * CreateAccessKey, at most twice. After an unknown outcome we list the keys and delete any key that
 * is not one we knew (it was created by the lost call and its secret is gone) before trying again.
 */
async function createCarefully(
  ctx: ExecContext,
  j: RotationJournal,
  unknown: { mayHaveOrphan: boolean },
): Promise<NewKey> {
  for (let attempt = 1; ; attempt++) {
    renew(ctx);
    try {
      return await ctx.port.createKey(j.userName);
    } catch (err) {
      if (!(err instanceof AwsCallError) || !err.outcomeUnknown) throw err;
      unknown.mayHaveOrphan = true;
      ctx.logger.warn(
        { recordUid: ctx.recordUid, attempt, awsCode: err.code },
        "CreateAccessKey outcome unknown: listing keys",
      );
      const keys = await ctx.port.listKeys(j.userName);
      const known = new Set(j.knownKeyIds);
      for (const k of keys) {
        if (known.has(k.accessKeyId)) continue;
        renew(ctx);
        await ctx.port.deleteKey(j.userName, k.accessKeyId);
        ctx.report.orphansDeleted.push(k.accessKeyId);
        ctx.report.steps.push({
          step: "orphan-delete",
          keyId: k.accessKeyId,
          reason: "created by a CreateAccessKey whose answer was lost: its secret is known nowhere",
          status: "done",
        });
        ctx.report.warnings.push(`deleted orphan key ${k.accessKeyId}: a CreateAccessKey answer was lost`);
      }
      unknown.mayHaveOrphan = false;
      if (attempt >= 2) throw err;
    }
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
      } else if (j.strategy === "delete-then-create") {
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
    await saveNewKey(ctx, j);
    ctx.report.steps.push({ step: "save", keyId: newKey.accessKeyId, status: "done" });
    ctx.logger.info({ recordUid: ctx.recordUid, keyId: newKey.accessKeyId }, "record saved with the new key");
    ctx.checkpoint("save");
  }
  await finishAfterSave(ctx, j);
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
    throw interrupted(
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
