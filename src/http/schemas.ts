/**
 * The API's zod schemas: they validate requests, shape responses (unknown properties are stripped, so a
 * field added to a model later never reaches a client by accident) and generate the OpenAPI document.
 */
import { z } from "@hono/zod-openapi";
import { OUTCOMES, TRIGGERS } from "../gateway/history-model.js";
import { rotationAttemptSchema } from "../gateway/history-schema.js";

export const ErrorSchema = z
  .object({
    error: z.object({
      kind: z.string().openapi({ example: "not-found" }),
      message: z.string(),
      hint: z.string().optional(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

/** Record UIDs: Keeper's 22-character base64url, or the local vault's; nothing else reaches the store. */
export const RecordUid = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "a record UID (letters, digits, _ and -)")
  .openapi({ example: "Wc1yuOlRnrHVpDPx2V1SGg" });

export const UidParams = z.object({
  uid: RecordUid.openapi({ param: { name: "uid", in: "path" } }),
});

const iso = z.string().openapi({ format: "date-time" });

export const ATTENTION = ["failed", "held", "interrupted", "overdue", "due"] as const;

export const RecordSchema = z
  .object({
    uid: z.string(),
    title: z.string(),
    user: z.string().openapi({ description: "The IAM user name." }),
    keyId: z.string().nullable(),
    keyCreatedAt: iso.nullable(),
    keyAgeDays: z.number().int().nullable(),
    mode: z.enum(["rotate", "scripts-only"]),
    schedule: z.string(),
    scheduleSource: z.enum(["record", "configuration", "none", "invalid"]),
    lastRotation: iso.nullable(),
    nextRotation: iso.nullable(),
    sameUserAs: z.array(z.object({ uid: z.string(), title: z.string() })),
    interrupted: z.object({ journalId: z.string(), phase: z.string(), since: iso }).nullable(),
    previousKeys: z
      .object({
        keyIds: z.array(z.string()),
        phase: z.enum(["held", "overlap", "inactive"]),
        since: iso.nullable(),
        nextStepAt: iso.nullable(),
      })
      .nullable(),
    lastOutcome: z
      .object({
        outcome: z.enum(OUTCOMES),
        at: iso,
        trigger: z.enum(TRIGGERS),
        attempt: z.number().int(),
        final: z.boolean(),
        error: z.string().nullable(),
        nextAttemptAt: iso.nullable(),
      })
      .nullable(),
    attention: z
      .enum(ATTENTION)
      .nullable()
      .openapi({ description: "Why the record needs a look (most urgent first), or null." }),
  })
  .openapi("Record");
export type RecordView = z.infer<typeof RecordSchema>;

export const RecordsResponse = z
  .object({
    now: iso,
    keyAgeLimitDays: z.number(),
    records: z.array(RecordSchema),
  })
  .openapi("Records");

export const RotateBody = z
  .object({ reason: z.string().max(500).optional().openapi({ description: "Kept in the audit log." }) })
  .strict()
  .openapi("RotateRequest");

export const RotateAccepted = z
  .object({
    recordUid: z.string(),
    queued: z.literal(true),
    attemptId: z.string().nullable().openapi({ description: "null when the gateway does not tell it." }),
    requestedBy: z.string(),
  })
  .openapi("RotateAccepted");

const limit = (max: number, dflt: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(dflt)
    .openapi({ param: { name: "limit", in: "query" } });

export const AttemptsQuery = z.object({
  record: RecordUid.optional().openapi({ param: { name: "record", in: "query" } }),
  limit: limit(500, 50),
});

export const AttemptSchema = rotationAttemptSchema();
export const AttemptsResponse = z.object({ attempts: z.array(AttemptSchema) }).openapi("Attempts");

export const AuditQuery = z.object({
  record: RecordUid.optional().openapi({ param: { name: "record", in: "query" } }),
  limit: limit(1000, 100),
});

export const AuditEntrySchema = z
  .object({
    seq: z.number().int(),
    at: iso,
    action: z.string(),
    recordUid: z.string().nullable(),
    actor: z.string(),
    details: z.record(z.string(), z.unknown()),
    hash: z.string(),
  })
  .openapi("AuditEntry");
export const AuditResponse = z.object({ entries: z.array(AuditEntrySchema) }).openapi("Audit");

export const GatewayStateSchema = z
  .object({
    startedAt: iso,
    lastTickAt: iso.nullable(),
    vaultReachable: z.boolean().nullable(),
    running: z.number().int(),
    queued: z.number().int(),
    runningRecords: z.array(z.string()).nullable(),
  })
  .openapi("GatewayState");

export const HealthResponse = z
  .object({
    status: z.enum(["ok", "unavailable"]),
    store: z.object({ reachable: z.boolean(), ms: z.number(), error: z.string().optional() }),
    gateway: GatewayStateSchema,
  })
  .openapi("Health");

export const ReportQuery = z.object({
  maxAgeDays: z.coerce
    .number()
    .int()
    .min(1)
    .max(3650)
    .default(90)
    .openapi({ param: { name: "maxAgeDays", in: "query" } }),
});

const ReportKeySchema = z.object({
  accessKeyId: z.string(),
  status: z.enum(["Active", "Inactive"]),
  createDate: iso,
  ageDays: z.number().int(),
  lastUsed: z.union([
    z.object({ date: iso, service: z.string(), region: z.string() }),
    z.null(),
    z.literal("denied"),
  ]),
  cis114: z.enum(["violation", "ok", "inactive"]),
  unused: z.boolean(),
});

export const ReportResponse = z
  .object({
    source: z.literal("vault").openapi({
      description:
        "Built from the vault alone (no IAM call): the managed records' current keys. `rekey report` reads IAM for every user and key.",
    }),
    note: z.string(),
    report: z.object({
      generatedAt: iso,
      account: z.string(),
      maxAgeDays: z.number(),
      unusedDays: z.number(),
      summary: z.object({
        users: z.number().int(),
        managedUsers: z.number().int(),
        keys: z.number().int(),
        activeKeys: z.number().int(),
        violations: z.number().int(),
        unusedKeys: z.number().int(),
        usersNotReadable: z.number().int(),
      }),
      users: z.array(
        z.object({
          userName: z.string(),
          userId: z.string(),
          arn: z.string(),
          path: z.string(),
          managed: z.boolean(),
          managedBy: z.array(z.object({ uid: z.string(), title: z.string(), note: z.string().optional() })),
          keys: z.union([z.array(ReportKeySchema), z.literal("denied")]),
        }),
      ),
    }),
  })
  .openapi("Report");
