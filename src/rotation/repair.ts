/**
 * Finish or undo an interrupted rotation from its journal entry (the next `rekey rotate` of the
 * record and `rekey repair` both come here first).
 *
 * - Orphans go first: a key that is neither one the user had at the intent (`knownKeyIds`) nor the
 *   journaled new key was made by a CreateAccessKey whose secret never reached the journal; it is
 *   deleted. Only keys created up to a while after the last journal write count, so a key a human
 *   added much later is left alone (and reported).
 * - Phase "intent" (no secret stored): nothing durable happened; the journal is dropped. If the
 *   rotation had already deleted the vault's current key (delete-then-create, or a restart of such a
 *   rotation that failed too), the record must be rotated again: "restart". The journal is then kept:
 *   the restart's own journal replaces it in one commit (executor.ts), so the fact "the vault's key was
 *   deleted" is never lost, however many restarts fail.
 * - A journal that records a lost CreateAccessKey is settled after IAM's consistency window (a listing
 *   taken earlier may not show the key yet).
 * - Phase "created": the secret is stored in the journal; the rotation is finished (verify if asked,
 *   save, delete/deactivate).
 * - Phase "saved": only deletions/deactivations remain; they are done.
 */
import { conflict } from "../errors.js";
import type { JournalEntry } from "../vault/store.js";
import {
  continueRotation,
  deleteOrphan,
  type ExecContext,
  ORPHAN_WINDOW_MS,
  settleUncertainCreates,
} from "./executor.js";
import { fromEntry } from "./journal.js";
import { abandonTransaction } from "./save.js";

export type JournalRepair = "finished" | "rolled-back" | "restart";

export interface RepairFacts {
  /** The vault's current key (from the record now). */
  currentKeyId: string | undefined;
  /** The user's IAM UserId now, when known. */
  userId: string | undefined;
  force: boolean;
}

export async function repairJournal(
  ctx: ExecContext,
  entry: JournalEntry,
  facts: RepairFacts,
): Promise<JournalRepair> {
  const j = fromEntry(entry);
  if (j.userId && facts.userId && j.userId !== facts.userId && !facts.force) {
    throw conflict(
      `an interrupted rotation of IAM user "${j.userName}" was started for UserId ${j.userId}, but the user now has UserId ${facts.userId} (deleted and re-created)`,
      "check the user, then run again with --force to repair against the new user",
    );
  }
  ctx.logger.info(
    { recordUid: j.recordUid, journalId: j.id, phase: j.phase },
    "repairing an interrupted rotation",
  );
  if (j.uncertainCreates.length > 0) await settleUncertainCreates(ctx, j);
  const keys = await ctx.port.listKeys(j.userName);
  const known = new Set(j.knownKeyIds);
  const until = new Date(entry.updatedAt).getTime() + ORPHAN_WINDOW_MS;
  for (const k of keys) {
    if (
      known.has(k.accessKeyId) ||
      k.accessKeyId === j.newKey?.accessKeyId ||
      k.accessKeyId === facts.currentKeyId
    ) {
      continue;
    }
    if (k.createDate.getTime() > until) {
      ctx.report.warnings.push(
        `key ${k.accessKeyId} is unknown to rekey but was created long after the interrupted rotation: left alone`,
      );
      continue;
    }
    await deleteOrphan(
      ctx,
      j.userName,
      k.accessKeyId,
      "created by the interrupted rotation, but its secret was never stored",
    );
  }

  const newKeyAlive = j.newKey && keys.some((k) => k.accessKeyId === j.newKey?.accessKeyId);
  if (j.phase === "intent" || (j.phase === "created" && !newKeyAlive)) {
    if (j.phase === "created") {
      ctx.report.warnings.push(
        `the interrupted rotation's new key ${j.newKey?.accessKeyId} no longer exists in IAM; it cannot be finished`,
      );
    }
    const current = facts.currentKeyId;
    const currentGone = current !== undefined && !keys.some((k) => k.accessKeyId === current);
    const weDeletedIt =
      current !== undefined &&
      (j.removed.includes(current) ||
        j.deleteBefore.some((d) => d.keyId === current) ||
        j.inheritedRemoved.includes(current));
    // Kept: the restart's journal replaces this one (executor.ts, RunMeta.supersedes).
    if (currentGone && weDeletedIt) return "restart";
    // A save may have opened a Keeper transaction before the new key vanished: undo it with the rest.
    if (j.transaction) await abandonTransaction(ctx, j);
    await ctx.store.commit(
      [
        { op: "deleteJournal", id: j.id },
        {
          op: "audit",
          event: {
            action: "rotation.rolled-back",
            recordUid: j.recordUid,
            actor: ctx.actor,
            details: {
              userName: j.userName,
              journalId: j.id,
              phase: j.phase,
              orphansDeleted: ctx.report.orphansDeleted,
            },
          },
        },
      ],
      { actor: ctx.actor },
    );
    return "rolled-back";
  }

  if (j.phase === "saved" && !newKeyAlive) {
    ctx.report.warnings.push(
      `the vault's new key ${j.newKey?.accessKeyId} no longer exists in IAM (deleted by someone else?): rotate the record again`,
    );
  }
  await continueRotation(ctx, j);
  ctx.report.created = { accessKeyId: j.newKey!.accessKeyId, createDate: j.newKey!.createDate };
  return "finished";
}
