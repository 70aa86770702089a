/** GET /api/v1/attempts, GET /api/v1/audit: newest first. */
import { createRoute } from "@hono/zod-openapi";
import { notFound } from "../errors.js";
import type { RotationAttempt } from "../gateway/history-model.js";
import { parseAttempt } from "../gateway/history-schema.js";
import type { ApiDeps, App } from "./app.js";
import { AttemptsQuery, AttemptsResponse, AuditQuery, AuditResponse, ErrorSchema } from "./schemas.js";

const json = <T>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

const attempts = createRoute({
  method: "get",
  path: "/api/v1/attempts",
  summary: "Rotation history (every attempt, newest first), of one record or all",
  request: { query: AttemptsQuery },
  responses: {
    200: json(AttemptsResponse, "Newest first"),
    400: json(ErrorSchema, "Bad query"),
    404: json(ErrorSchema, "No such record"),
  },
});

const audit = createRoute({
  method: "get",
  path: "/api/v1/audit",
  summary: "The audit log (newest first), of one record or all",
  request: { query: AuditQuery },
  responses: {
    200: json(AuditResponse, "Newest first"),
    400: json(ErrorSchema, "Bad query"),
    404: json(ErrorSchema, "No such record"),
  },
});

export function historyRoutes(app: App, deps: ApiDeps): void {
  /** A record named in a query must exist (a deleted one still has history: it is found there). */
  const known = async (uid: string, hasEntries: boolean) => {
    if (hasEntries || (await deps.store.getRecord(uid))) return;
    throw notFound(`no record ${uid} in the vault`, "list them: GET /api/v1/records");
  };

  app.openapi(attempts, async (c) => {
    const q = c.req.valid("query");
    const raw = await deps.store.listRotationHistory({
      ...(q.record ? { recordUid: q.record } : {}),
      limit: q.limit,
    });
    if (q.record) await known(q.record, raw.length > 0);
    const out: RotationAttempt[] = [];
    for (const e of raw.reverse()) {
      try {
        out.push(parseAttempt(e));
      } catch {
        // An entry of another shape (an older version): not served rather than served unchecked.
      }
    }
    return c.json(AttemptsResponse.parse({ attempts: out }), 200);
  });

  app.openapi(audit, async (c) => {
    const q = c.req.valid("query");
    const entries = await deps.store.listAudit({
      ...(q.record ? { recordUid: q.record } : {}),
      limit: q.limit,
    });
    if (q.record) await known(q.record, entries.length > 0);
    return c.json(AuditResponse.parse({ entries: entries.reverse() }), 200);
  });
}
