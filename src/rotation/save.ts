/**
 * The record save of a rotation (executor.ts calls it once the new key is journaled), and what happens when
 * it fails. The save is the commit point of a rotation: before it, undoing means deleting the new key;
 * after it, finishing means deleting or deactivating the old ones.
 *
 * - SQLite: the record and the journal's move to "saved" commit in one transaction.
 * - Keeper, plain save (`transactionalSaves: false`, the Keeper drop-in's default, as the seed's
 *   `secrets_manager.save`): a revision-checked update, then the journal's move to "saved"; a crash between
 *   them is found by the next run comparing the record's key with the journaled one (executor.ts).
 * - Keeper, transactional (a store with `completeTransaction`): the journal first says a rotation transaction may be
 *   open; the save opens it; it is finalized before any old key is touched. A run that finds the flag set
 *   settles it first: the record holds the new key → finalize; else roll back and save again.
 * - Refused for sure (`details.outcome = "not-saved"`, or a conflict every retry met) with no old key
 *   touched: the new key is deleted again and the journal dropped, so the user's keys and the record are
 *   as before. Unknown outcome: every key and the journal are kept, and the next run finishes.
 */
import { conflict, RekeyError } from "../errors.js";
import type { ExecContext } from "./executor.js";
import { journalOp, type RotationJournal, writeJournal } from "./journal.js";
import { renewLease } from "./lease-renewal.js";
import { applyRotation } from "./record-update.js";
import { readKeyState } from "./settings.js";

const renew = (ctx: ExecContext) => renewLease(ctx.lease, ctx.lockTtlMs);

/** Save the new key into the record; on a two-phase store, inside a rotation transaction that is then finalized. */
export async function saveNewKey(ctx: ExecContext, j: RotationJournal): Promise<void> {
  const twoPhase =
    typeof ctx.store.completeTransaction === "function" && ctx.store.transactionalSaves !== false;
  if (twoPhase) {
    // Said before the save: a crash right after it must find out that a transaction may be open.
    j.transaction = true;
    await writeJournal(ctx.store, j);
  }
  try {
    await saveRecord(ctx, j, twoPhase);
  } catch (err) {
    return undoUnsaved(ctx, j, err);
  }
  if (!twoPhase) return;
  ctx.checkpoint("transaction");
  await finalizeTransaction(ctx, j);
}

/** The record save and the journal's move to "saved", in one commit (Keeper: the save first). */
async function saveRecord(ctx: ExecContext, j: RotationJournal, twoPhase: boolean): Promise<void> {
  const newKey = j.newKey!;
  for (let attempt = 1; ; attempt++) {
    const known = ctx.record?.uid === ctx.recordUid ? ctx.record : undefined;
    ctx.record = undefined;
    const current = known ?? (await ctx.store.getRecord(ctx.recordUid));
    if (!current) {
      throw conflict(
        `record ${ctx.recordUid} was deleted during the rotation; the new key ${newKey.accessKeyId} is kept in the rotation journal`,
        "restore the record from its history, then run: rekey repair",
      );
    }
    const savedAt = ctx.now();
    const updated = applyRotation(
      current.record,
      {
        accessKeyId: newKey.accessKeyId,
        secret: newKey.secret,
        createDate: new Date(newKey.createDate),
        removedKeyIds: [...j.deleteBefore, ...j.deleteAfter].map((d) => d.keyId),
        deactivatedKeyIds: j.deactivateAfter.map((d) => d.keyId),
        deactivatedAt: savedAt,
        userId: j.userId,
        retained: j.retained,
      },
      ctx.password?.reveal(),
    );
    try {
      const { saved } = await ctx.store.commit(
        [
          {
            op: "saveRecord",
            uid: ctx.recordUid,
            record: updated,
            expectedRevision: current.revision,
            ...(twoPhase ? { transaction: "rotation" as const } : {}),
          },
          journalOp({ ...j, phase: "saved", savedAt: savedAt.toISOString() }),
        ],
        { actor: ctx.actor },
      );
      j.phase = "saved";
      j.savedAt = savedAt.toISOString();
      ctx.report.revision = saved[0]?.revision;
      return;
    } catch (err) {
      // Someone edited the record meanwhile: apply the rotation to their version (the secret is journaled).
      if (err instanceof RekeyError && err.kind === "conflict") {
        if (attempt < 3) continue;
        throw new RekeyError("conflict", err.message, {
          hint: err.hint,
          cause: err,
          details: { ...err.details, outcome: "not-saved" },
        });
      }
      throw err;
    }
  }
}

function definitelyNotSaved(err: unknown): err is RekeyError {
  return err instanceof RekeyError && err.details?.outcome === "not-saved";
}

/**
 * The save failed. Refused for sure and nothing old touched yet: delete the new key again (its secret would
 * be known only to the journal) and drop the journal. Otherwise keep everything for the next run.
 */
async function undoUnsaved(ctx: ExecContext, j: RotationJournal, err: unknown): Promise<never> {
  const newKeyId = j.newKey?.accessKeyId;
  const reason = err instanceof Error ? err.message : String(err);
  const kind = err instanceof RekeyError ? err.kind : "internal";
  const hint = err instanceof RekeyError ? err.hint : undefined;
  const details = err instanceof RekeyError ? err.details : undefined;
  if (!definitelyNotSaved(err)) {
    throw new RekeyError(
      kind,
      `saving the new key ${newKeyId} to record ${ctx.recordUid} failed, and it is not known whether the save landed: ${reason}; ` +
        "every key of the user is kept, and the new key is kept in the rotation journal",
      {
        hint: `${hint ? `${hint}; then ` : ""}run again (rekey repair, or the next rotation): it finishes the rotation`,
        cause: err,
        details: { ...details, journalId: j.id, outcome: "unknown" },
      },
    );
  }
  if (j.removed.length > 0) {
    throw new RekeyError(
      kind,
      `saving the new key ${newKeyId} to record ${ctx.recordUid} failed: ${reason}; the old key(s) ${j.removed.join(", ")} ` +
        "were deleted before creating it (delete-then-create), so the new key is kept in the rotation journal",
      {
        hint: `${hint ? `${hint}; then ` : ""}run again: the next run saves the journaled key`,
        cause: err,
        details: { ...details, journalId: j.id },
      },
    );
  }
  try {
    renew(ctx);
    if (newKeyId) await ctx.port.deleteKey(j.userName, newKeyId);
    await ctx.store.deleteJournal(j.id);
  } catch (cleanup) {
    const why = cleanup instanceof Error ? cleanup.message : String(cleanup);
    throw new RekeyError(
      kind,
      `saving the new key ${newKeyId} to record ${ctx.recordUid} failed (${reason}), and deleting the new key again failed too (${why}); ` +
        "the new key is kept in the rotation journal, the old keys are untouched",
      {
        hint: "run again (rekey repair, or the next rotation): it saves the journaled key",
        cause: err,
        details: { ...details, journalId: j.id },
      },
    );
  }
  ctx.report.created = undefined;
  ctx.report.steps.push({
    step: "delete",
    keyId: newKeyId,
    reason: "the record save was refused: the new key is deleted again",
    status: "done",
  });
  throw new RekeyError(
    kind,
    `saving the new key ${newKeyId} to record ${ctx.recordUid} failed: ${reason}; ` +
      `rekey deleted the new key again and left IAM user "${j.userName}"'s other keys and the record as they were`,
    { hint, cause: err, details: { ...details, deletedNewKey: newKeyId } },
  );
}

/** Keep the rotation transaction the save opened. Failing here keeps every key: the next run settles it. */
async function finalizeTransaction(ctx: ExecContext, j: RotationJournal): Promise<void> {
  try {
    await ctx.store.completeTransaction!(ctx.recordUid, "commit", { actor: ctx.actor });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RekeyError(
      err instanceof RekeyError ? err.kind : "internal",
      `the new key ${j.newKey?.accessKeyId} is saved in record ${ctx.recordUid}, but finalizing the rotation transaction failed: ${reason}; no old key was deleted`,
      {
        hint: "run again (rekey repair, or the next rotation): it finalizes the transaction, then removes the old keys",
        cause: err,
        details: { journalId: j.id, outcome: "unknown" },
      },
    );
  }
  j.transaction = false;
  await writeJournal(ctx.store, j);
}

/** The store says there is no open transaction to complete (the wording of Keeper's answer varies). */
function nothingPending(err: unknown): boolean {
  const code = err instanceof RekeyError ? err.details?.keeperCode : undefined;
  const text = err instanceof Error ? err.message : String(err);
  return code === "not_found" || /no (?:pending|open) transaction|not_found/i.test(text);
}

/** Complete an open transaction either way; having none open is fine (an earlier run or Keeper ended it). */
async function completeIfOpen(ctx: ExecContext, outcome: "commit" | "rollback"): Promise<void> {
  if (typeof ctx.store.completeTransaction !== "function") return;
  try {
    await ctx.store.completeTransaction(ctx.recordUid, outcome, { actor: ctx.actor });
  } catch (err) {
    if (!nothingPending(err)) throw err;
  }
}

/** An interrupted rotation is abandoned: undo a transaction its save may have left open. */
export async function abandonTransaction(ctx: ExecContext, j: RotationJournal): Promise<void> {
  await completeIfOpen(ctx, "rollback");
  j.transaction = false;
}

/**
 * A journal that says a transaction may be open (a run died or failed between the save and the finalize):
 * the record holding the new key means the save landed, so finalize it; otherwise roll back whatever is
 * open and save again.
 */
export async function settleTransaction(ctx: ExecContext, j: RotationJournal): Promise<void> {
  const current = await ctx.store.getRecord(ctx.recordUid);
  const holdsNewKey =
    current !== undefined && readKeyState(current.record).currentKeyId === j.newKey?.accessKeyId;
  const outcome = holdsNewKey ? "commit" : "rollback";
  await completeIfOpen(ctx, outcome);
  ctx.logger.info(
    { recordUid: ctx.recordUid, journalId: j.id, outcome },
    "settled the rotation transaction of an interrupted save",
  );
  if (holdsNewKey) {
    j.phase = "saved";
    j.savedAt ??= ctx.now().toISOString();
    ctx.report.revision = current?.revision;
  } else {
    j.phase = "created";
    j.savedAt = undefined;
  }
  j.transaction = false;
  await writeJournal(ctx.store, j);
}
