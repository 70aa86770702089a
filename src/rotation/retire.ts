/**
 * The retirement of previous keys (pure): when a key the vault no longer holds may be deactivated or
 * deleted, and when it must be held because an application still uses it.
 *
 * After a rotation saves the new key, the keys it replaces are "previous keys". Each goes, in order:
 * Active for the overlap (`old_key_overlap`, default 0; adoption 7d) → deactivated (graceful, adoption)
 * or deleted (create-then-delete) → Inactive for the grace (`old_key_grace`) → deleted. Before each step
 * rekey asks IAM when the key was last used (GetAccessKeyLastUsed): a use at or after `since` (the new
 * key's creation, then the time of the last check that found a use) means an application has not moved:
 * the key is **held** (kept, or re-activated if it was deactivated), and checked again after
 * `old_key_recheck` (default 1h). IAM reports last use to the minute, and may show it late, so a use in the
 * minute of `since` counts as a use (holding is the safe side).
 *
 * The record keeps one state for all its previous keys (they were replaced together):
 * `aws_previous_access_key_id`, `aws_previous_key_since`, `aws_previous_key_active_until`,
 * `aws_previous_key_held_at`, `aws_previous_key_deactivated_at`, `aws_previous_key_retire`.
 */
import type { KeyLastUsed, KeyMeta } from "../providers/aws-iam/port.js";
import type { RecordKeyState } from "./settings.js";

/** What IAM said about a key's last use: a time, never used (null), or the admin may not ask ("denied"). */
export type LastUse = KeyLastUsed | null | "denied";

/** IAM reports last use to the minute. */
export const DEFAULT_LAST_USE_RESOLUTION_MS = 60_000;

/**
 * True when `lastUse` shows a use at or after `since`, at the precision IAM reports (a use in the same
 * minute counts: holding is the safe side).
 */
export function usedSince(
  lastUse: LastUse,
  since: Date,
  resolutionMs: number = DEFAULT_LAST_USE_RESOLUTION_MS,
): boolean {
  if (lastUse === null || lastUse === "denied") return false;
  const floor = Math.floor(since.getTime() / resolutionMs) * resolutionMs;
  return lastUse.date.getTime() >= floor;
}

export function describeLastUse(lastUse: LastUse): string {
  if (lastUse === null) return "never used";
  if (lastUse === "denied") return "last use unknown (iam:GetAccessKeyLastUsed not allowed)";
  return `last used ${lastUse.date.toISOString()} (${lastUse.service}, ${lastUse.region})`;
}

export interface RetireSettings {
  graceMs: number | undefined;
  recheckMs: number;
  /** Default DEFAULT_LAST_USE_RESOLUTION_MS. */
  resolutionMs?: number | undefined;
}

export type RetireAction =
  | { kind: "deactivate"; keyId: string; reason: string }
  | { kind: "delete"; keyId: string; reason: string }
  | { kind: "reactivate"; keyId: string; reason: string };

export interface RetireDecision {
  /** Keys whose last use must be known before deciding (ask IAM, then decide again with them). */
  needLastUse: string[];
  actions: RetireAction[];
  /** Previous keys still in use: kept (a use at or after `since`). */
  held: Array<{ keyId: string; lastUse: LastUse }>;
  /** The record's previous-key state after the actions. */
  state: Pick<
    RecordKeyState,
    "previousKeyIds" | "previousSince" | "previousActiveUntil" | "previousHeldAt" | "previousDeactivatedAt"
  >;
  /** When something is due next (undefined: nothing waits on a clock). */
  nextAt: Date | undefined;
}

/**
 * The next retirement step of a record's previous keys at `now`, given IAM's listing and (once asked for)
 * their last use. Keys IAM no longer lists are forgotten. Never touches the vault's current key.
 */
export function decideRetirement(input: {
  keys: KeyMeta[];
  state: RecordKeyState;
  settings: RetireSettings;
  lastUse: ReadonlyMap<string, LastUse>;
  now: Date;
  /** --force: delete what is due without asking about last use. */
  force?: boolean | undefined;
}): RetireDecision {
  const { state, settings, now } = input;
  const t = now.getTime();
  const byId = new Map(input.keys.map((k) => [k.accessKeyId, k]));
  const previous = state.previousKeyIds.filter((id) => byId.has(id) && id !== state.currentKeyId);
  const since = state.previousSince ?? state.previousHeldAt ?? state.previousDeactivatedAt ?? now;
  const out: RetireDecision = {
    needLastUse: [],
    actions: [],
    held: [],
    state: {
      previousKeyIds: previous,
      previousSince: state.previousSince,
      previousActiveUntil: state.previousActiveUntil,
      previousHeldAt: state.previousHeldAt,
      previousDeactivatedAt: state.previousDeactivatedAt,
    },
    nextAt: undefined,
  };
  if (previous.length === 0) {
    out.state = {
      previousKeyIds: [],
      previousSince: undefined,
      previousActiveUntil: undefined,
      previousHeldAt: undefined,
      previousDeactivatedAt: undefined,
    };
    return out;
  }
  const later = (at: number) => {
    if (!out.nextAt || at < out.nextAt.getTime()) out.nextAt = new Date(at);
  };
  // An Active key rekey had deactivated was re-activated by someone: left alone (never retired again
  // without --force: only the next rotation, forced, may delete it).
  const active = state.previousDeactivatedAt
    ? []
    : previous.filter((id) => byId.get(id)!.status === "Active");
  const inactive = previous.filter((id) => byId.get(id)!.status === "Inactive");

  // Step 1, Active keys: wait for the overlap's end and the recheck time, then ask, then act or hold.
  const overlapEnd = state.previousActiveUntil?.getTime() ?? 0;
  const recheckAt = state.previousHeldAt ? state.previousHeldAt.getTime() + settings.recheckMs : 0;
  const activeDueAt = Math.max(overlapEnd, recheckAt);
  if (active.length > 0) {
    if (t < activeDueAt && !input.force) later(activeDueAt);
    else if (!input.force && active.some((id) => !input.lastUse.has(id))) out.needLastUse.push(...active);
    else {
      const inUse = input.force
        ? []
        : active.filter((id) => usedSince(input.lastUse.get(id)!, since, settings.resolutionMs));
      if (inUse.length > 0) {
        // One state for all previous keys: if one is still in use, all wait.
        for (const id of active) out.held.push({ keyId: id, lastUse: input.lastUse.get(id) ?? null });
        out.state.previousHeldAt = now;
        out.state.previousSince = now;
        later(t + settings.recheckMs);
      } else {
        const deactivate = state.previousRetire !== "delete";
        for (const id of active) {
          out.actions.push(
            deactivate
              ? {
                  kind: "deactivate",
                  keyId: id,
                  reason: "previous key: its overlap is over and it is no longer used",
                }
              : {
                  kind: "delete",
                  keyId: id,
                  reason: "previous key: no longer used since the new key was saved",
                },
          );
        }
        out.state.previousHeldAt = undefined;
        out.state.previousActiveUntil = undefined;
        if (deactivate) {
          out.state.previousDeactivatedAt = now;
          out.state.previousSince = now;
          if (settings.graceMs !== undefined) later(t + settings.graceMs);
        } else out.state.previousKeyIds = previous.filter((id) => !active.includes(id));
      }
    }
  }

  // Step 2, Inactive keys past their grace: ask (a use after deactivation shown late by IAM means an
  // application was cut off: re-activate and hold), else delete.
  if (inactive.length > 0 && settings.graceMs !== undefined && state.previousDeactivatedAt) {
    const graceEnd = state.previousDeactivatedAt.getTime() + settings.graceMs;
    if (t < graceEnd && !input.force) later(graceEnd);
    else if (!input.force && inactive.some((id) => !input.lastUse.has(id))) out.needLastUse.push(...inactive);
    else {
      const inUse = input.force
        ? []
        : inactive.filter((id) => usedSince(input.lastUse.get(id)!, since, settings.resolutionMs));
      if (inUse.length > 0) {
        for (const id of inactive) {
          out.actions.push({
            kind: "reactivate",
            keyId: id,
            reason: "previous key used after it was deactivated: an application still needs it",
          });
          out.held.push({ keyId: id, lastUse: input.lastUse.get(id) ?? null });
        }
        out.state.previousHeldAt = now;
        out.state.previousSince = now;
        out.state.previousDeactivatedAt = undefined;
        later(t + settings.recheckMs);
      } else {
        for (const id of inactive) {
          out.actions.push({ kind: "delete", keyId: id, reason: "previous key past its old_key_grace" });
        }
        out.state.previousKeyIds = out.state.previousKeyIds.filter((id) => !inactive.includes(id));
      }
    }
  }
  if (out.needLastUse.length > 0) {
    out.actions = [];
    out.held = [];
    out.nextAt = undefined;
  }
  if (out.state.previousKeyIds.length === 0) {
    out.state = {
      previousKeyIds: [],
      previousSince: undefined,
      previousActiveUntil: undefined,
      previousHeldAt: undefined,
      previousDeactivatedAt: undefined,
    };
  }
  return out;
}

/**
 * When the record's previous keys next need attention, from the record alone (no AWS call): the end of
 * the overlap, the recheck of a held key, or the end of the grace. Undefined when nothing waits on a clock
 * (no previous keys, or graceful without `old_key_grace`: deleted at the next rotation).
 */
export function retirementDueAt(state: RecordKeyState, settings: RetireSettings): Date | undefined {
  if (state.previousKeyIds.length === 0) return undefined;
  if (state.previousHeldAt) return new Date(state.previousHeldAt.getTime() + settings.recheckMs);
  if (state.previousActiveUntil && !state.previousDeactivatedAt) return state.previousActiveUntil;
  if (state.previousDeactivatedAt && settings.graceMs !== undefined)
    return new Date(state.previousDeactivatedAt.getTime() + settings.graceMs);
  return undefined;
}
