/**
 * `rekey status`: every pamUser record with its key, schedule, last and next rotation and last outcome,
 * computed from the vault alone (the same scheduler the gateway uses, without jitter). Never a secret.
 */

import { graceExpiresAt } from "../rotation/grace.js";
import { FIELD } from "../rotation/index.js";
import { JOURNAL_KIND } from "../rotation/journal.js";
import { duplicateGroups } from "../rotation/same-user.js";
import { readKeyState } from "../rotation/settings.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";
import { lastSucceeded, type RotationAttempt } from "./history-model.js";
import { parseAttempt } from "./history-schema.js";
import { configurationFor, isScriptsOnly, loginOf } from "./records.js";
import { describeSchedule } from "./schedule.js";
import { effectiveSchedule } from "./schedule-field.js";
import { parseCreateDate, planRun } from "./scheduler.js";

export interface UserStatus {
  uid: string;
  title: string;
  /** The IAM user name. */
  user: string;
  keyId: string | null;
  /** The key's CreateDate (ISO 8601), if recorded. */
  keyCreatedAt: string | null;
  keyAgeDays: number | null;
  mode: "rotate" | "scripts-only";
  schedule: string;
  scheduleSource: "record" | "configuration" | "none" | "invalid";
  /** The last successful rotation (history), else the key's CreateDate. */
  lastRotation: string | null;
  /** Next due time (unjittered), or null when on demand only. A past time means due now. */
  nextRotation: string | null;
  /** Other records that manage the same IAM user: none of them is rotated until one is removed. */
  sameUserAs: Array<{ uid: string; title: string }>;
  /**
   * A rotation journal is pending for the record: a rotation was interrupted (crash, kill, second Ctrl-C)
   * or is running right now. `rekey repair` (or the next rotation) finishes or undoes it.
   */
  interrupted: { journalId: string; phase: string; since: string } | null;
  /**
   * Keys replaced by a rotation and not yet deleted (rotation/retire.ts): "held" (an application still used
   * one after the new key existed), "overlap" (kept Active on purpose), "inactive" (deactivated, waiting
   * for its grace or the next rotation). `nextStepAt`: when a gateway or `rekey repair` takes the next step.
   */
  previousKeys: {
    keyIds: string[];
    phase: "held" | "overlap" | "inactive";
    since: string | null;
    nextStepAt: string | null;
  } | null;
  lastOutcome: {
    outcome: RotationAttempt["outcome"];
    at: string;
    trigger: RotationAttempt["trigger"];
    attempt: number;
    final: boolean;
    error: string | null;
    nextAttemptAt: string | null;
  } | null;
}

export async function computeStatus(store: AsyncVaultStore, now: Date = new Date()): Promise<UserStatus[]> {
  const records = await store.listRecords(); // one listing (one KSM request on a Keeper vault)
  const configurations = records.filter((r) => r.record.type === "pamAwsConfiguration");
  const sameUser = new Map<string, Array<{ uid: string; title: string }>>();
  for (const group of duplicateGroups(records)) {
    for (const r of group) {
      sameUser.set(
        r.uid,
        group.filter((o) => o.uid !== r.uid).map((o) => ({ uid: o.uid, title: o.record.title })),
      );
    }
  }
  const journals = new Map<string, { journalId: string; phase: string; since: string }>();
  for (const j of await store.listJournal({ kind: JOURNAL_KIND })) {
    if (journals.has(j.recordUid)) continue;
    const phase = typeof j.state.phase === "string" ? j.state.phase : "unknown";
    journals.set(j.recordUid, { journalId: j.id, phase, since: j.createdAt });
  }
  const byRecord = new Map<string, RotationAttempt[]>();
  for (const raw of await store.listRotationHistory()) {
    let e: RotationAttempt;
    try {
      e = parseAttempt(raw);
    } catch {
      continue;
    }
    const list = byRecord.get(e.recordUid) ?? [];
    list.push(e);
    byRecord.set(e.recordUid, list);
  }
  return records
    .filter((s) => s.record.type === "pamUser")
    .map((s) => {
      const r = s.record;
      const history = byRecord.get(s.uid) ?? [];
      const keyCreated = parseCreateDate(getFieldValue(r, FIELD.createDate));
      let schedule = "";
      let scheduleSource: UserStatus["scheduleSource"];
      let nextRotation: string | null = null;
      try {
        const eff = effectiveSchedule(r, configurationFor(r, configurations)?.record);
        schedule = describeSchedule(eff.schedule);
        scheduleSource = eff.source;
        const run = planRun(
          { uid: s.uid, schedule: eff.schedule, keyCreatedAt: keyCreated, history, firstSeenAt: now },
          { now, startedAt: now, maxJitterMs: 0 },
        );
        nextRotation = run ? run.at.toISOString() : null;
      } catch (err) {
        schedule = (err as Error).message;
        scheduleSource = "invalid";
      }
      const last = history.reduce<RotationAttempt | undefined>(
        (a, e) => (!a || Date.parse(e.startedAt) >= Date.parse(a.startedAt) ? e : a),
        undefined,
      );
      const success = lastSucceeded(history);
      return {
        uid: s.uid,
        title: r.title,
        user: loginOf(r),
        keyId: readKeyState(r).currentKeyId ?? null,
        keyCreatedAt: keyCreated ? keyCreated.toISOString() : null,
        keyAgeDays: keyCreated ? Math.floor((now.getTime() - keyCreated.getTime()) / 86_400_000) : null,
        mode: isScriptsOnly(r) ? "scripts-only" : "rotate",
        schedule,
        scheduleSource,
        lastRotation: success?.endedAt ?? (keyCreated ? keyCreated.toISOString() : null),
        nextRotation,
        sameUserAs: sameUser.get(s.uid) ?? [],
        interrupted: journals.get(s.uid) ?? null,
        previousKeys: previousKeysOf(r),
        lastOutcome: last
          ? {
              outcome: last.outcome,
              at: last.endedAt ?? last.startedAt,
              trigger: last.trigger,
              attempt: last.attempt,
              final: last.final,
              error: last.error?.message ?? last.heldReason ?? null,
              nextAttemptAt: last.nextAttemptAt,
            }
          : null,
      };
    });
}

/** "due now" as `rekey status` shows it: the next rotation is at or before now (also `rotate --due`). */
export function dueNow(row: Pick<UserStatus, "nextRotation">, now: Date): boolean {
  return row.nextRotation !== null && Date.parse(row.nextRotation) <= now.getTime();
}

function previousKeysOf(r: KeeperRecord): UserStatus["previousKeys"] {
  const st = readKeyState(r);
  if (st.previousKeyIds.length === 0) return null;
  const next = graceExpiresAt(r);
  const phase = st.previousHeldAt ? "held" : st.previousDeactivatedAt ? "inactive" : "overlap";
  const since = st.previousHeldAt ?? st.previousDeactivatedAt ?? st.previousSince;
  return {
    keyIds: st.previousKeyIds,
    phase,
    since: since ? since.toISOString() : null,
    nextStepAt: next ? next.toISOString() : null,
  };
}

/** "3d", "5h", "12m", "40s": a short age for tables. */
export function shortAge(fromIso: string | null, now: Date): string {
  if (!fromIso) return "";
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(fromIso)) / 1000));
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h`;
  if (s >= 60) return `${Math.floor(s / 60)}m`;
  return `${s}s`;
}
