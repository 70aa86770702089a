/**
 * The zod schema of a rotation history entry (history-model.ts): for entries read back from storage and for
 * the HTTP API's documentation. Apart from history-model.ts so that `rekey rotate RECORD`, which builds its
 * entry with attemptEntry and reads no history, loads no zod at all.
 */
import { z } from "zod";
import { OUTCOMES, TRIGGERS } from "./history-model.js";

/**
 * The schemas, built on first use: building them is a few ms of a cold start, which a command that parses no
 * entry does not pay.
 */
function buildSchemas() {
  const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "an ISO 8601 date");
  /** One post-rotation script's run, as Keeper's Gateway keeps it (plus exit code and timing). */
  const scriptResult = z.object({
    /** `<owner record uid>#<position>`, or the script file's name. */
    name: z.string(),
    /** The script file's UID (rotationScripts fileRef). */
    fileRef: z.string().optional(),
    /** The record the script is attached to. */
    ownerUid: z.string().optional(),
    command: z.string(),
    exitCode: z.number().int().nullable(),
    success: z.boolean(),
    timedOut: z.boolean().default(false),
    /** Redacted, capped. */
    stdout: z.string(),
    stderr: z.string(),
    durationMs: z.number().nonnegative().optional(),
  });
  const rotationAttempt = z.object({
    /** Unique per attempt. */
    id: z.string().min(1),
    recordUid: z.string().min(1),
    recordTitle: z.string().optional(),
    /** The IAM user name. */
    user: z.string().optional(),
    trigger: z.enum(TRIGGERS),
    /** "rotate": the engine then scripts; "scripts-only": the seed's NOOP mode. */
    mode: z.enum(["rotate", "scripts-only"]).default("rotate"),
    /** 1 for the slot's first try, 2 for its first retry... */
    attempt: z.number().int().min(1),
    /** The slot this attempt serves (the due time before jitter), if scheduled. */
    slot: isoDate.nullable().default(null),
    startedAt: isoDate,
    /** null while running (an entry left so by a crash is not final). */
    endedAt: isoDate.nullable(),
    outcome: z.enum(OUTCOMES),
    keyIds: z.object({
      created: z.string().nullable(),
      deleted: z.array(z.string()),
      deactivated: z.array(z.string()),
    }),
    scripts: z.array(scriptResult).default([]),
    /** What went wrong (a RekeyError's message, kind and hint: never secrets). */
    error: z
      .object({ message: z.string(), kind: z.string().optional(), hint: z.string().optional() })
      .nullable()
      .default(null),
    /** Why it was skipped (lock held elsewhere, no longer managed...). */
    skippedReason: z.string().optional(),
    /** For "held": which old key is still in use, and its last use. */
    heldReason: z.string().optional(),
    /** This attempt settled its slot: succeeded, or failed for the last time. */
    final: z.boolean(),
    /** For a failed, non-final attempt: when the retry is due. */
    nextAttemptAt: isoDate.nullable().default(null),
  });
  return { scriptResult, rotationAttempt };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;

/** The schema of a history entry (what the HTTP API documents). */
export function rotationAttemptSchema(): ReturnType<typeof buildSchemas>["rotationAttempt"] {
  schemas ??= buildSchemas();
  return schemas.rotationAttempt;
}

export type ScriptResult = z.output<ReturnType<typeof buildSchemas>["scriptResult"]>;
export type RotationAttempt = z.output<ReturnType<typeof buildSchemas>["rotationAttempt"]>;
export type RotationAttemptInput = z.input<ReturnType<typeof buildSchemas>["rotationAttempt"]>;

/** Validate an entry read from storage (throws a ZodError naming the bad property). */
export function parseAttempt(value: unknown): RotationAttempt {
  return rotationAttemptSchema().parse(value);
}
