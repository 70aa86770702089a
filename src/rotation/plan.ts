/**
 * The rotation planner (pure): the user's keys + what the vault knows + the strategy → the ordered
 * steps, or a refusal that changes nothing. Every decision about which key to touch is made here,
 * so it is tested table-driven without I/O.
 *
 * Why the 2-key arithmetic: IAM allows at most 2 access keys per user, inactive ones included, and
 * a third CreateAccessKey fails with LimitExceeded. We never delete "the oldest" blindly (HashiCorp
 * Vault's and Infisical's mistake, which can delete the key clients use): only keys the strategy
 * says are disposable.
 */
import type { KeyMeta } from "../aws/port.js";
import type { Strategy } from "./settings.js";

/** AWS's quota AccessKeysPerUser. If AWS ever raises it, this is the one place to change. */
export const MAX_KEYS_PER_USER = 2;

export interface PlanInput {
  userName: string;
  strategy: Strategy;
  keys: KeyMeta[];
  /** The vault's current key (the record's aws_access_key_id), if any. */
  currentKeyId?: string | undefined;
  /** Keys a graceful rotation deactivated earlier (aws_previous_access_key_id). */
  previousKeyIds?: string[] | undefined;
  /**
   * Previous keys still Active (held or in their overlap) that IAM shows unused since the last check (or
   * --force): deleted before the create, whatever the strategy.
   */
  releasable?: string[] | undefined;
  force?: boolean | undefined;
  /** Prove the new key works before any old key is deleted or deactivated. */
  verify: boolean;
  /**
   * The record was rotated before (it carries, or an earlier version carried, `aws_user_id`): it must
   * then hold a current key that IAM lists.
   */
  rotatedBefore?: boolean | undefined;
  /** The vault's key is missing because an interrupted rotation of this record deleted it (a restart). */
  currentDeletedByUs?: boolean | undefined;
}

export interface KeyAction {
  keyId: string;
  reason: string;
}

export interface RotationPlan {
  strategy: Strategy;
  userName: string;
  /** Deleted before CreateAccessKey (to make room, or all of them for delete-then-create). */
  deleteBefore: KeyAction[];
  verify: boolean;
  /** Deleted after the new key is saved in the vault. */
  deleteAfter: KeyAction[];
  /** Deactivated (graceful) after the new key is saved in the vault. */
  deactivateAfter: KeyAction[];
  /** Things the user should know (said in the result). */
  notes: string[];
}

export type PlanOutcome = { ok: true; plan: RotationPlan } | { ok: false; reason: string; hint: string };

export type PlanStepName = "delete" | "create" | "verify" | "save" | "deactivate";

export interface PlanStep {
  step: PlanStepName;
  keyId?: string;
  reason?: string;
}

const byAge = (a: KeyMeta, b: KeyMeta) =>
  a.createDate.getTime() - b.createDate.getTime() || a.accessKeyId.localeCompare(b.accessKeyId);

function describeKeys(keys: KeyMeta[], currentKeyId: string | undefined, known: Set<string>): string {
  return keys
    .map((k) => {
      const tags: string[] = [k.status];
      if (k.accessKeyId === currentKeyId) tags.push("the vault's current key");
      else if (!known.has(k.accessKeyId)) tags.push("unknown to rekey");
      return `${k.accessKeyId} (${tags.join(", ")})`;
    })
    .join(", ");
}

export function planRotation(input: PlanInput): PlanOutcome {
  const keys = [...input.keys].sort(byAge);
  const current = input.currentKeyId;
  const previous = new Set(input.previousKeyIds ?? []);
  const known = new Set([...(current ? [current] : []), ...previous]);
  const notes: string[] = [];
  const need = Math.max(0, keys.length + 1 - MAX_KEYS_PER_USER);
  const mismatch = vaultKeyMismatch(input, keys);
  if (mismatch && !input.force) {
    return {
      ok: false,
      reason:
        `${mismatch}, so the record may name another IAM user than the one whose key it holds (or the key was ` +
        `deleted outside rekey). IAM user "${input.userName}" has ${keys.length ? describeKeys(keys, current, known) : "no access keys"}; ` +
        `rotating now would ${keys.length ? "delete or deactivate keys the vault does not hold" : "create a key for a user the vault may not mean"}, so nothing was changed`,
      hint:
        `check the record's login ("${input.userName}"); if it is right and those keys may go, run again with --force` +
        (keys.length
          ? ` (it would ${input.strategy === "graceful" ? "deactivate" : "delete"} ${keys.map((k) => k.accessKeyId).join(", ")})`
          : ""),
    };
  }
  if (mismatch) notes.push(`--force: ${mismatch}; going on as asked`);
  const base = { strategy: input.strategy, userName: input.userName, verify: input.verify, notes };

  switch (input.strategy) {
    case "delete-then-create": {
      return {
        ok: true,
        plan: {
          ...base,
          deleteBefore: keys.map((k) => ({
            keyId: k.accessKeyId,
            reason: "delete-then-create deletes every key before creating the new one",
          })),
          deleteAfter: [],
          deactivateAfter: [],
        },
      };
    }

    case "create-then-delete": {
      const released = new Set(input.releasable ?? []);
      const disposable = keys.filter(
        (k) => k.accessKeyId !== current && (k.status === "Inactive" || released.has(k.accessKeyId)),
      );
      if (disposable.length < need) {
        return {
          ok: false,
          reason:
            `IAM user "${input.userName}" already has ${keys.length} access keys ` +
            `(${describeKeys(keys, current, known)}) and AWS allows at most ${MAX_KEYS_PER_USER} per user, ` +
            "so create-then-delete cannot create the new key first; nothing was changed",
          hint:
            "delete a key the user no longer needs, or set delete_all_keys_before_rotating=True " +
            "(deletes every key, then creates one) or rotation_strategy=graceful on the record",
        };
      }
      const first = [
        ...disposable.filter((k) => released.has(k.accessKeyId)),
        ...disposable.filter((k) => !released.has(k.accessKeyId)).slice(0, Math.max(0, need - released.size)),
      ];
      const deleteBefore = first.map((k) => ({
        keyId: k.accessKeyId,
        reason: released.has(k.accessKeyId)
          ? "the previous key, no longer used since the last rotation: retired before creating"
          : `inactive and not the vault's current key: deleted first to make room (IAM allows ${MAX_KEYS_PER_USER} keys per user)`,
      }));
      for (const d of deleteBefore) notes.push(`deleted inactive key ${d.keyId} first: ${d.reason}`);
      const gone = new Set(deleteBefore.map((d) => d.keyId));
      return {
        ok: true,
        plan: {
          ...base,
          deleteBefore,
          deleteAfter: keys
            .filter((k) => !gone.has(k.accessKeyId))
            .map((k) => ({
              keyId: k.accessKeyId,
              reason:
                k.accessKeyId === current
                  ? "the vault's previous key: replaced by the new key"
                  : "create-then-delete keeps only the new key",
            })),
          deactivateAfter: [],
        },
      };
    }

    case "graceful": {
      // "An inactive previous key is deleted at the next rotation": always, room needed or not.
      const released = new Set(input.releasable ?? []);
      const deleteBefore: KeyAction[] = keys
        .filter(
          (k) =>
            k.accessKeyId !== current &&
            previous.has(k.accessKeyId) &&
            (k.status === "Inactive" || released.has(k.accessKeyId)),
        )
        .map((k) => ({
          keyId: k.accessKeyId,
          reason:
            k.status === "Inactive"
              ? "the previous key, deactivated by the last graceful rotation"
              : "the previous key, no longer used since the last rotation: retired before creating",
        }));
      let missing = need - deleteBefore.length;
      if (missing > 0) {
        const taken = new Set(deleteBefore.map((d) => d.keyId));
        const others = keys.filter((k) => !taken.has(k.accessKeyId) && k.accessKeyId !== current);
        if (!input.force || others.length < missing) {
          return {
            ok: false,
            reason:
              `IAM user "${input.userName}" already has ${keys.length} access keys ` +
              `(${describeKeys(keys, current, known)}) and AWS allows at most ${MAX_KEYS_PER_USER} per user; ` +
              "the graceful strategy never deletes a key that rekey neither created nor knows, so nothing was changed",
            hint: "delete the key the user no longer needs yourself, or run again with --force to let rekey delete it",
          };
        }
        // Forced: inactive keys first, then the oldest.
        const forced = [...others].sort((a, b) =>
          a.status === b.status ? byAge(a, b) : a.status === "Inactive" ? -1 : 1,
        );
        for (const k of forced.slice(0, missing)) {
          deleteBefore.push({
            keyId: k.accessKeyId,
            reason: "--force: deleted to make room although rekey does not know it",
          });
          missing--;
        }
      }
      for (const d of deleteBefore) notes.push(`deleted ${d.keyId} before creating: ${d.reason}`);
      const gone = new Set(deleteBefore.map((d) => d.keyId));
      const remaining = keys.filter((k) => !gone.has(k.accessKeyId));
      for (const k of remaining) {
        if (k.status === "Inactive")
          notes.push(`left inactive key ${k.accessKeyId} alone: rekey does not know it`);
      }
      return {
        ok: true,
        plan: {
          ...base,
          deleteBefore,
          deleteAfter: [],
          deactivateAfter: remaining
            .filter((k) => k.status === "Active")
            .map((k) => ({
              keyId: k.accessKeyId,
              reason:
                k.accessKeyId === current
                  ? "the vault's previous key: deactivated, deleted at the next rotation or after old_key_grace"
                  : "an active key rekey did not know: deactivated (not deleted), deleted at the next rotation",
            })),
        },
      };
    }
  }
}

/**
 * Why the vault's key does not match the user's keys, or undefined when it does. A key that is not the
 * vault's is never deleted or deactivated by default (architecture invariant 6): a record pointed at
 * another IAM user (say, the admin) would otherwise delete that user's keys.
 */
function vaultKeyMismatch(input: PlanInput, keys: KeyMeta[]): string | undefined {
  const current = input.currentKeyId;
  if (input.currentDeletedByUs) return undefined;
  if (current && !keys.some((k) => k.accessKeyId === current))
    return `the vault's current key ${current} is not among the IAM user's keys`;
  if (!current && input.rotatedBefore)
    return "the record was rotated before (it has, or had, aws_user_id) but holds no current key";
  return undefined;
}

/** The plan as the ordered list of steps the executor runs. */
export function planSteps(plan: RotationPlan): PlanStep[] {
  return [
    ...plan.deleteBefore.map((d): PlanStep => ({ step: "delete", keyId: d.keyId, reason: d.reason })),
    { step: "create" },
    ...(plan.verify ? [{ step: "verify" } as PlanStep] : []),
    { step: "save" },
    ...plan.deleteAfter.map((d): PlanStep => ({ step: "delete", keyId: d.keyId, reason: d.reason })),
    ...plan.deactivateAfter.map((d): PlanStep => ({ step: "deactivate", keyId: d.keyId, reason: d.reason })),
  ];
}

export interface GraceInput {
  keys: KeyMeta[];
  currentKeyId?: string | undefined;
  previousKeyIds: string[];
  deactivatedAt: Date | undefined;
  graceMs: number | undefined;
  now: Date;
}

/**
 * Graceful's previous keys whose grace has passed (deleted by `repair` between rotations): inactive,
 * not the current key, recorded as previous, and deactivated at least `graceMs` ago.
 */
export function expiredPreviousKeys(input: GraceInput): KeyAction[] {
  if (input.graceMs === undefined || !input.deactivatedAt) return [];
  if (input.now.getTime() < input.deactivatedAt.getTime() + input.graceMs) return [];
  const previous = new Set(input.previousKeyIds);
  return input.keys
    .filter(
      (k) => previous.has(k.accessKeyId) && k.accessKeyId !== input.currentKeyId && k.status === "Inactive",
    )
    .map((k) => ({ keyId: k.accessKeyId, reason: "previous key past its old_key_grace" }));
}
