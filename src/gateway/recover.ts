/**
 * Attempts cut short by a SIGKILL, a crash or a power cut. The key itself is safe either way (the
 * engine's journal, finished or undone by the start-up repair that runs first); what would be lost is
 * the attempt's history entry, and the fact that its scripts may not have run. Each attempt leaves a
 * journal marker (kind "gateway-attempt") until its history entry is written; at start-up every marker
 * left behind becomes a history entry saying what happened:
 *
 * - the key was rotated during the attempt (its CreateDate is not older than the attempt): the slot is
 *   done ("succeeded", final), with an error saying the scripts may not have run. It is not rotated again.
 * - otherwise (the rotation was undone, or a scripts-only attempt): "failed", retried like any failure.
 *
 * A marker whose record lease a live gateway holds is that gateway's work in progress: left alone.
 *
 * The start-up pass runs after the engine's repair; a running gateway also recovers, at each listing,
 * markers another gateway left behind when it died (several gateways on one PostgreSQL vault). Under the
 * record's lease, it checks again that the marker is still there (its owner may have just finished) and
 * that no rotation journal of the record is pending: that one is repaired first, so the marker is judged
 * on the repaired record (a key the repair finishes counts as this attempt's rotation, not a later one).
 */

import { JOURNAL_KIND as ROTATION_JOURNAL_KIND } from "../rotation/journal.js";
import { newLeaseOwner as newLockOwner } from "../vault/lease-owner.js";
import { getFieldValue } from "../vault/record.js";
import type { JournalEntry } from "../vault/store.js";
import { type RotationAttempt, retryDecision, TRIGGERS, toAuditEvent } from "./history-model.js";
import { parseAttempt } from "./history-schema.js";
import { isScriptsOnly, loginOf } from "./records.js";
import { ATTEMPT_JOURNAL_KIND, leaseName, type RunnerDeps, releaseQuietly } from "./runner.js";
import { parseCreateDate } from "./scheduler.js";

export type RecoverDeps = Pick<
  RunnerDeps,
  "store" | "clock" | "logger" | "retry" | "random" | "leaseTtlMs" | "actor"
>;
type Deps = RecoverDeps;

export async function recoverInterrupted(deps: Deps): Promise<RotationAttempt[]> {
  const out: RotationAttempt[] = [];
  for (const j of await deps.store.listJournal({ kind: ATTEMPT_JOURNAL_KIND })) {
    const r = await recoverMarker(deps, j);
    if (r.kind === "recorded") out.push(r.entry);
  }
  return out;
}

/**
 * What became of one attempt marker: recorded as a history entry; "busy": the record's lease is held (its
 * owner is alive, or not certainly dead and its lease not expired); "nothing": the marker is gone (its
 * owner finished), or a rotation journal of the record is still pending (repaired first).
 */
export type MarkerOutcome = { kind: "recorded"; entry: RotationAttempt } | { kind: "busy" | "nothing" };

/** Turn one attempt marker into its history entry, under the record's lease (see MarkerOutcome). */
export async function recoverMarker(deps: Deps, j: JournalEntry): Promise<MarkerOutcome> {
  const { store } = deps;
  const lease = await store.tryLock(leaseName(j.recordUid), newLockOwner("rekey-gateway"), deps.leaseTtlMs);
  if (!lease) return { kind: "busy" };
  try {
    const journal = await store.listJournal({ recordUid: j.recordUid });
    if (!journal.some((e) => e.id === j.id)) return { kind: "nothing" };
    if (journal.some((e) => e.kind === ROTATION_JOURNAL_KIND)) return { kind: "nothing" };
    const state = j.state as {
      trigger?: string;
      attempt?: number;
      slot?: string | null;
      startedAt?: string;
      mode?: string;
    };
    const user = await store.getRecord(j.recordUid);
    const now = new Date(deps.clock.now());
    const startedAt =
      state.startedAt && !Number.isNaN(Date.parse(state.startedAt)) ? state.startedAt : j.createdAt;
    const attempt = Number.isInteger(state.attempt) && (state.attempt ?? 0) >= 1 ? state.attempt! : 1;
    const scriptsOnly = state.mode === "scripts-only" || (user ? isScriptsOnly(user.record) : false);
    const created = user ? parseCreateDate(getFieldValue(user.record, "CreateDate")) : null;
    // CreateDate has whole seconds.
    const rotated = !scriptsOnly && created !== null && created.getTime() >= Date.parse(startedAt) - 1000;
    let final = true;
    let nextAttemptAt: string | null = null;
    if (!rotated) {
      const d = retryDecision(deps.retry, attempt, now, deps.random);
      if (d.retry) {
        final = false;
        nextAttemptAt = d.at.toISOString();
      }
    }
    const entry = parseAttempt({
      id: j.id,
      recordUid: j.recordUid,
      recordTitle: user?.record.title,
      user: user ? loginOf(user.record) || undefined : undefined,
      trigger: (TRIGGERS as readonly string[]).includes(state.trigger ?? "") ? state.trigger : "schedule",
      mode: scriptsOnly ? "scripts-only" : "rotate",
      attempt,
      slot: state.slot ?? null,
      startedAt,
      endedAt: now.toISOString(),
      outcome: rotated ? "succeeded" : "failed",
      keyIds: {
        created: rotated && user ? getFieldValue(user.record, "aws_access_key_id") || null : null,
        deleted: [],
        deactivated: [],
      },
      scripts: [],
      error: {
        kind: "interrupted",
        message: rotated
          ? "the gateway stopped during this attempt (killed or crashed) after the key was rotated: its post-rotation scripts may not have run or finished"
          : "the gateway stopped during this attempt (killed or crashed); the key was not rotated by it",
        hint: "see the gateway's log for why it stopped",
      },
      final,
      nextAttemptAt,
    });
    await store.commit(
      [
        { op: "appendRotationHistory", entry, audit: toAuditEvent(entry, deps.actor) },
        { op: "deleteJournal", id: j.id },
      ],
      { actor: deps.actor },
    );
    deps.logger.warn(
      { recordUid: j.recordUid, attemptId: j.id, outcome: entry.outcome, final },
      "recorded an attempt interrupted by a stop of the gateway",
    );
    return { kind: "recorded", entry };
  } finally {
    await releaseQuietly(lease, deps);
  }
}
