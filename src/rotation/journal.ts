/**
 * The rotation journal: a write-ahead record of one rotation, kept in the vault store (encrypted at
 * rest) from before the first AWS change until the end. It is what makes a crash at any point
 * recoverable:
 *
 * - phase "intent": written BEFORE any AWS change; lists the keys the user had (`knownKeyIds`) so a
 *   key that appears later without a stored secret is recognisably an orphan.
 * - phase "created": written right after CreateAccessKey returns, BEFORE anything else: it holds the
 *   new secret, so the secret is durable before any old key is touched.
 * - phase "saved": written in the same commit as the record save (one SQLite transaction; on Keeper right
 *   after the save, which is the commit point); only the deletions and deactivations remain.
 * - `transaction`: set before a save that opens a Keeper rotation transaction, cleared once it is
 *   finalized. A run that finds it set settles the transaction first (finalize if the record holds the new
 *   key, else roll back and save again), and no old key is touched while it is set.
 *
 * In memory the secret is a `Secret`; it is revealed only when the state is handed to the store.
 */
import * as z from "zod/mini";
import { integrityError } from "../errors.js";
import { Secret } from "../secret.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import type { JournalEntry } from "../vault/store.js";
import type { KeyAction } from "./plan.js";
import { STRATEGIES, type Strategy } from "./settings.js";

export const JOURNAL_KIND = "rotation";

export type JournalPhase = "intent" | "created" | "saved";

export interface RotationJournal {
  id: string;
  recordUid: string;
  phase: JournalPhase;
  strategy: Strategy;
  userName: string;
  userId: string | undefined;
  actor: string;
  startedAt: string;
  /** The keys the user had when the intent was written. */
  knownKeyIds: string[];
  /** The vault's key when the rotation began. */
  previousCurrentKeyId: string | undefined;
  deleteBefore: KeyAction[];
  deleteAfter: KeyAction[];
  deactivateAfter: KeyAction[];
  verify: boolean;
  /** Done so far. */
  removed: string[];
  deactivated: string[];
  newKey: { accessKeyId: string; secret: Secret; createDate: string } | undefined;
  /** When the record was saved (graceful's deactivation time). */
  savedAt: string | undefined;
  /** A Keeper rotation transaction may be open on the record (set before the save, cleared once finalized). */
  transaction: boolean;
  /**
   * Keys an earlier, superseded rotation of this record deleted (the vault's key among them): a restart
   * carries this fact until the record holds a working key again, so a failed restart is restarted again
   * instead of being forgotten.
   */
  inheritedRemoved: string[];
  /**
   * When a CreateAccessKey answer was lost (ISO times): a key may have landed that the vault does not hold.
   * Kept until a listing taken after IAM's consistency window has settled it (orphans deleted).
   */
  uncertainCreates: string[];
  /**
   * How the replaced keys retire (retire.ts), set by the engine: the overlap to keep them Active, whether
   * they end deactivated or deleted, and whether to skip the last-use check (--force).
   */
  retirePolicy: { overlapMs: number; mode: "delete" | "deactivate"; force: boolean } | undefined;
  /**
   * Decided right before the save (journaled, so a resumed rotation does not decide again): the replaced
   * keys kept after the save, Active, for the overlap or because an application still uses them.
   */
  retained: RetainedKeys | undefined;
  /** When CreateAccessKey returned (this machine's clock): a later use of an old key is a use after the new one existed. */
  createdSeenAt?: string | undefined;
}

export interface RetainedKeys {
  keyIds: string[];
  mode: "delete" | "deactivate";
  since: string;
  activeUntil?: string | undefined;
  heldAt?: string | undefined;
  /** Why, for the result and status ("still in use: last used ..."). */
  why: string;
}

/**
 * The journal state's schema, built on first use: a rotation that finds no interrupted journal never parses
 * one, and building these zod/mini schemas was ~2 ms of every cold Keeper script start (the bundle initializes
 * this module on its rotation path).
 */
let cachedStateSchema: ReturnType<typeof buildStateSchema> | undefined;

function stateSchema() {
  cachedStateSchema ??= buildStateSchema();
  return cachedStateSchema;
}

function buildStateSchema() {
  const keyAction = z.object({ keyId: z.string(), reason: z.string() });
  return z.object({
    v: z.literal(1),
    phase: z.enum(["intent", "created", "saved"]),
    strategy: z.enum(STRATEGIES),
    userName: z.string().check(z.minLength(1)),
    userId: z.optional(z.string()),
    actor: z.string(),
    startedAt: z.string(),
    knownKeyIds: z.array(z.string()),
    previousCurrentKeyId: z.optional(z.string()),
    deleteBefore: z.array(keyAction),
    deleteAfter: z.array(keyAction),
    deactivateAfter: z.array(keyAction),
    verify: z.boolean(),
    removed: z.array(z.string()),
    deactivated: z.array(z.string()),
    newKey: z.optional(
      z.object({ accessKeyId: z.string(), secret: z.string().check(z.minLength(1)), createDate: z.string() }),
    ),
    savedAt: z.optional(z.string()),
    transaction: z.optional(z.boolean()),
    inheritedRemoved: z.optional(z.array(z.string())),
    uncertainCreates: z.optional(z.array(z.string())),
    createdSeenAt: z.optional(z.string()),
    retirePolicy: z.optional(
      z.object({ overlapMs: z.number(), mode: z.enum(["delete", "deactivate"]), force: z.boolean() }),
    ),
    retained: z.optional(
      z.object({
        keyIds: z.array(z.string()),
        mode: z.enum(["delete", "deactivate"]),
        since: z.string(),
        activeUntil: z.optional(z.string()),
        heldAt: z.optional(z.string()),
        why: z.string(),
      }),
    ),
  });
}

/** The state as the store keeps it (the secret revealed: the store encrypts it). */
export function toState(j: RotationJournal): Record<string, unknown> {
  return {
    v: 1,
    phase: j.phase,
    strategy: j.strategy,
    userName: j.userName,
    ...(j.userId ? { userId: j.userId } : {}),
    actor: j.actor,
    startedAt: j.startedAt,
    knownKeyIds: j.knownKeyIds,
    ...(j.previousCurrentKeyId ? { previousCurrentKeyId: j.previousCurrentKeyId } : {}),
    deleteBefore: j.deleteBefore,
    deleteAfter: j.deleteAfter,
    deactivateAfter: j.deactivateAfter,
    verify: j.verify,
    removed: j.removed,
    deactivated: j.deactivated,
    ...(j.newKey
      ? {
          newKey: {
            accessKeyId: j.newKey.accessKeyId,
            secret: j.newKey.secret.reveal(),
            createDate: j.newKey.createDate,
          },
        }
      : {}),
    ...(j.savedAt ? { savedAt: j.savedAt } : {}),
    ...(j.transaction ? { transaction: true } : {}),
    ...(j.inheritedRemoved.length ? { inheritedRemoved: j.inheritedRemoved } : {}),
    ...(j.uncertainCreates.length ? { uncertainCreates: j.uncertainCreates } : {}),
    ...(j.createdSeenAt ? { createdSeenAt: j.createdSeenAt } : {}),
    ...(j.retirePolicy ? { retirePolicy: j.retirePolicy } : {}),
    ...(j.retained ? { retained: j.retained } : {}),
  };
}

export function fromEntry(entry: JournalEntry): RotationJournal {
  const parsed = stateSchema().safeParse(entry.state);
  if (!parsed.success) {
    // Never echo the state: it may hold a secret.
    throw integrityError(
      `journal entry ${entry.id} of record ${entry.recordUid} is not a rotation rekey understands`,
      "inspect it with rekey audit list; if the rotation is known to be over, remove the entry",
    );
  }
  const s = parsed.data;
  return {
    id: entry.id,
    recordUid: entry.recordUid,
    phase: s.phase,
    strategy: s.strategy,
    userName: s.userName,
    userId: s.userId,
    actor: s.actor,
    startedAt: s.startedAt,
    knownKeyIds: s.knownKeyIds,
    previousCurrentKeyId: s.previousCurrentKeyId,
    deleteBefore: s.deleteBefore,
    deleteAfter: s.deleteAfter,
    deactivateAfter: s.deactivateAfter,
    verify: s.verify,
    removed: s.removed,
    deactivated: s.deactivated,
    newKey: s.newKey
      ? {
          accessKeyId: s.newKey.accessKeyId,
          secret: new Secret(s.newKey.secret),
          createDate: s.newKey.createDate,
        }
      : undefined,
    savedAt: s.savedAt,
    transaction: s.transaction ?? false,
    inheritedRemoved: s.inheritedRemoved ?? [],
    uncertainCreates: s.uncertainCreates ?? [],
    createdSeenAt: s.createdSeenAt,
    retirePolicy: s.retirePolicy,
    retained: s.retained,
  };
}

/** The journal write as a commit op (to go with a record save). */
export function journalOp(j: RotationJournal) {
  return {
    op: "putJournal" as const,
    entry: { id: j.id, recordUid: j.recordUid, kind: JOURNAL_KIND, state: toState(j) },
  };
}

export async function writeJournal(store: AsyncVaultStore, j: RotationJournal): Promise<void> {
  await store.putJournal(journalOp(j).entry);
}

export function pendingJournals(store: AsyncVaultStore, recordUid?: string): Promise<JournalEntry[]> {
  return store.listJournal({ kind: JOURNAL_KIND, ...(recordUid ? { recordUid } : {}) });
}
