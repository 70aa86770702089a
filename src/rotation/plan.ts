/**
 * The rotation planner (pure): the user's keys + what the vault knows + the strategy → the ordered
 * steps, or a refusal that changes nothing. Every decision about which key to touch is made here and
 * in the strategies' plans (strategy-table.ts), so it is tested table-driven without I/O.
 *
 * Why the 2-key arithmetic: IAM allows at most 2 access keys per user, inactive ones included, and
 * a third CreateAccessKey fails with LimitExceeded. We never delete "the oldest" blindly (HashiCorp
 * Vault's and Infisical's mistake, which can delete the key clients use): only keys the strategy
 * says are disposable.
 *
 * What is common to every strategy (the 2-key arithmetic, the vault-key mismatch check) is here; each
 * strategy's own choice of keys is its `plan` in strategy-table.ts.
 */
import type { KeyMeta } from "../providers/aws-iam/port.js";
import type { Strategy } from "./settings.js";
import { retireModeOf, strategySpec } from "./strategy-table.js";

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
          ? ` (it would ${retireModeOf(input.strategy, false)} ${keys.map((k) => k.accessKeyId).join(", ")})`
          : ""),
    };
  }
  if (mismatch) notes.push(`--force: ${mismatch}; going on as asked`);
  return strategySpec(input.strategy).plan(input, {
    keys,
    current,
    previous,
    released: new Set(input.releasable ?? []),
    need,
    maxKeys: MAX_KEYS_PER_USER,
    describeKeys: () => describeKeys(keys, current, known),
    notes,
    base: { strategy: input.strategy, userName: input.userName, verify: input.verify, notes },
  });
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
