/**
 * The rotation strategies, one typed entry each (pure). Everything that differs between strategies is
 * here: how the planner picks the keys to delete or deactivate, whether the new key is verified by
 * default, which IAM actions the admin policy needs beyond the base, what happens to the previous keys
 * after the save, and whether the first rotation may adopt the keys it finds. The rest of the engine asks
 * this table instead of testing a strategy's name, so a new strategy is one entry here (plus its name in
 * settings.ts's STRATEGIES); the compiler refuses a strategy without an entry (`satisfies`).
 *
 * This file imports only types, so the planner, the policy printer and the executor can all use it
 * without an import cycle and without loading anything.
 */
import type { KeyMeta } from "../providers/aws-iam/port.js";
import type { KeyAction, PlanInput, PlanOutcome, RotationPlan } from "./plan.js";
import type { Strategy } from "./settings.js";

/** What planRotation computed before it hands over to the strategy (plan.ts). */
export interface PlanContext {
  /** The user's keys, oldest first. */
  keys: KeyMeta[];
  /** The vault's current key. */
  current: string | undefined;
  /** The record's previous keys (aws_previous_access_key_id). */
  previous: ReadonlySet<string>;
  /** Previous keys IAM shows unused since the last check (PlanInput.releasable). */
  released: ReadonlySet<string>;
  /** How many keys must go before CreateAccessKey for the new key to fit IAM's quota. */
  need: number;
  /** IAM's per-user key quota (plan.ts MAX_KEYS_PER_USER), for messages. */
  maxKeys: number;
  /** The user's keys as refusals list them ("AKIA… (Active, the vault's current key), …"). */
  describeKeys: () => string;
  /** The plan's notes: a strategy appends what the user should know. */
  notes: string[];
  /** The fields every plan shares. */
  base: Pick<RotationPlan, "strategy" | "userName" | "verify" | "notes">;
}

export interface StrategySpec {
  /** One line for help text and messages. */
  description: string;
  /** The steps around CreateAccessKey: which keys go before it, and which after the save. */
  plan: (input: PlanInput, ctx: PlanContext) => PlanOutcome;
  /** Prove the new key works before old keys go, when --verify/--no-verify is not given. */
  verifyByDefault: boolean;
  /** IAM actions the admin policy needs beyond the base (create, list, delete). */
  iamActions: readonly string[];
  /** What happens to the previous keys after the new key is saved ("none": they were deleted before). */
  afterSave: "delete" | "deactivate" | "none";
  /**
   * The old keys are deleted before the new key is created, so a failed verification cannot be undone by
   * deleting the new key: it is saved anyway (with a warning).
   */
  oldKeysGoneBeforeCreate: boolean;
  /**
   * The first rotation of an `adopt_existing_keys` record may keep the keys it finds through the overlap.
   * A strategy that deletes them before the create cannot (unless --force).
   */
  adoptionAllowed: boolean;
}

/** What adopting a user's existing keys needs on top of its strategy: deactivating them (retire.ts). */
export const ADOPTION_IAM_ACTIONS: readonly string[] = ["iam:UpdateAccessKey"];

export const STRATEGY_TABLE = {
  "create-then-delete": {
    description:
      "create the new key, save it, then delete the old key (needs room for a second key; the default)",
    plan: planCreateThenDelete,
    verifyByDefault: false,
    iamActions: [],
    afterSave: "delete",
    oldKeysGoneBeforeCreate: false,
    adoptionAllowed: true,
  },
  "delete-then-create": {
    description:
      "delete every key, then create and save the new one (the seed's delete_all_keys_before_rotating=True)",
    plan: planDeleteThenCreate,
    verifyByDefault: false,
    iamActions: [],
    afterSave: "none",
    oldKeysGoneBeforeCreate: true,
    adoptionAllowed: false,
  },
  graceful: {
    description:
      "create the new key, save it, then deactivate the old key (deleted at the next rotation or after old_key_grace)",
    plan: planGraceful,
    verifyByDefault: true,
    iamActions: ["iam:UpdateAccessKey"],
    afterSave: "deactivate",
    oldKeysGoneBeforeCreate: false,
    adoptionAllowed: true,
  },
} as const satisfies Record<Strategy, StrategySpec>;

/** The strategy's entry, typed as the general spec. */
export function strategySpec(strategy: Strategy): StrategySpec {
  return STRATEGY_TABLE[strategy];
}

/** Whether the new key is verified when neither --verify nor --no-verify is given. */
export function verifyByDefault(strategy: Strategy): boolean {
  return strategySpec(strategy).verifyByDefault;
}

/**
 * How the previous keys' Active life ends once the new key is saved (retire.ts): deactivated (then the
 * grace, then deleted) for a strategy that deactivates and for adopted keys, deleted otherwise.
 */
export function retireModeOf(strategy: Strategy, adopting: boolean): "delete" | "deactivate" {
  return adopting || strategySpec(strategy).afterSave === "deactivate" ? "deactivate" : "delete";
}

/** Whether the first rotation may adopt the keys it finds (`adopt_existing_keys`) without --force. */
export function adoptionAllowed(strategy: Strategy): boolean {
  return strategySpec(strategy).adoptionAllowed;
}

/** Whether a failed verification must still save the new key, because the old keys are already gone. */
export function oldKeysGoneBeforeCreate(strategy: Strategy): boolean {
  return strategySpec(strategy).oldKeysGoneBeforeCreate;
}

/** The IAM actions a strategy needs beyond the base, plus adoption's when `adopt`; each once, in order. */
export function strategyIamActions(strategy: Strategy, adopt = false): string[] {
  return [...new Set([...strategySpec(strategy).iamActions, ...(adopt ? ADOPTION_IAM_ACTIONS : [])])];
}

/** The strategies for help text: "create-then-delete: …" one per line. */
export function describeStrategies(): string[] {
  return (Object.keys(STRATEGY_TABLE) as Strategy[]).map((s) => `${s}: ${STRATEGY_TABLE[s].description}`);
}

function planDeleteThenCreate(_input: PlanInput, ctx: PlanContext): PlanOutcome {
  return {
    ok: true,
    plan: {
      ...ctx.base,
      deleteBefore: ctx.keys.map((k) => ({
        keyId: k.accessKeyId,
        reason: "delete-then-create deletes every key before creating the new one",
      })),
      deleteAfter: [],
      deactivateAfter: [],
    },
  };
}

function planCreateThenDelete(input: PlanInput, ctx: PlanContext): PlanOutcome {
  const { keys, current, released, need, notes } = ctx;
  const disposable = keys.filter(
    (k) => k.accessKeyId !== current && (k.status === "Inactive" || released.has(k.accessKeyId)),
  );
  if (disposable.length < need) {
    return {
      ok: false,
      reason:
        `IAM user "${input.userName}" already has ${keys.length} access keys ` +
        `(${ctx.describeKeys()}) and AWS allows at most ${ctx.maxKeys} per user, ` +
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
      : `inactive and not the vault's current key: deleted first to make room (IAM allows ${ctx.maxKeys} keys per user)`,
  }));
  for (const d of deleteBefore) notes.push(`deleted inactive key ${d.keyId} first: ${d.reason}`);
  const gone = new Set(deleteBefore.map((d) => d.keyId));
  return {
    ok: true,
    plan: {
      ...ctx.base,
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

function planGraceful(input: PlanInput, ctx: PlanContext): PlanOutcome {
  const { keys, current, previous, released, need, notes } = ctx;
  // "An inactive previous key is deleted at the next rotation": always, room needed or not.
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
          `(${ctx.describeKeys()}) and AWS allows at most ${ctx.maxKeys} per user; ` +
          "the graceful strategy never deletes a key that rekey neither created nor knows, so nothing was changed",
        hint: "delete the key the user no longer needs yourself, or run again with --force to let rekey delete it",
      };
    }
    // Forced: inactive keys first, then the oldest (`keys` is oldest first and sort is stable).
    const forced = [...others].sort((a, b) => (a.status === b.status ? 0 : a.status === "Inactive" ? -1 : 1));
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
      ...ctx.base,
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
