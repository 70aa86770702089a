/** GET /api/v1/records, GET /api/v1/records/{uid}, POST /api/v1/records/{uid}/rotate. */
import { createRoute } from "@hono/zod-openapi";
import { notFound } from "../errors.js";
import type { ApiDeps, App } from "./app.js";
import { errorBody } from "./http-errors.js";
import { recordViews } from "./records-view.js";
import {
  ErrorSchema,
  RecordSchema,
  RecordsResponse,
  RotateAccepted,
  RotateBody,
  UidParams,
} from "./schemas.js";
import { statusRows } from "./status-rows.js";

const json = <T>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

const list = createRoute({
  method: "get",
  path: "/api/v1/records",
  summary: "The managed users (pamUser records): key, age, schedule, last and next rotation, last outcome",
  responses: { 200: json(RecordsResponse, "Most urgent first"), 401: json(ErrorSchema, "No or bad token") },
});

const one = createRoute({
  method: "get",
  path: "/api/v1/records/{uid}",
  summary: "One managed user",
  request: { params: UidParams },
  responses: {
    200: json(RecordSchema, "The record's status (never a secret)"),
    400: json(ErrorSchema, "Bad UID"),
    404: json(ErrorSchema, "No such managed record"),
  },
});

const rotate = createRoute({
  method: "post",
  path: "/api/v1/records/{uid}/rotate",
  summary: "Queue a rotation now (trigger manual); audited with the token's name",
  request: {
    params: UidParams,
    body: { content: { "application/json": { schema: RotateBody } }, required: false },
  },
  responses: {
    202: json(RotateAccepted, "Queued"),
    400: json(ErrorSchema, "Bad UID or body"),
    404: json(ErrorSchema, "No such managed record"),
    409: json(ErrorSchema, "Not queued (already running, gateway stopping, vault unreachable)"),
    503: json(ErrorSchema, "This gateway cannot rotate on demand"),
  },
});

const missing = (uid: string) =>
  notFound(`no managed record ${uid} (a pamUser record) in the vault`, "list them: GET /api/v1/records");

export function recordRoutes(app: App, deps: ApiDeps): void {
  const views = async () => {
    const now = deps.now();
    return { now, rows: recordViews(await statusRows(deps, now), now, deps.keyAgeLimitDays) };
  };

  app.openapi(list, async (c) => {
    const { now, rows } = await views();
    return c.json(
      RecordsResponse.parse({ now: now.toISOString(), keyAgeLimitDays: deps.keyAgeLimitDays, records: rows }),
      200,
    );
  });

  app.openapi(one, async (c) => {
    const { uid } = c.req.valid("param");
    const row = (await views()).rows.find((r) => r.uid === uid);
    if (!row) throw missing(uid);
    return c.json(RecordSchema.parse(row), 200);
  });

  app.openapi(rotate, async (c) => {
    const { uid } = c.req.valid("param");
    // An absent body is an empty request; a present one was validated (strict: unknown keys are refused).
    const body = c.req.header("Content-Type") ? c.req.valid("json") : {};
    const actor = c.get("actor");
    const rec = await deps.store.getRecord(uid);
    if (rec?.record.type !== "pamUser") throw missing(uid);
    const rotateNow = deps.gateway.rotateNow;
    if (!rotateNow) {
      return c.json(
        errorBody(
          "unavailable",
          "rotate now is not supported by this gateway",
          "run: rekey gateway --once --rotate RECORD",
        ),
        503,
      );
    }
    // Intent first: a rotation the audit log does not know of must never happen.
    await deps.store.appendAudit({
      action: "api.rotate.request",
      recordUid: uid,
      actor,
      details: { via: "http", ...(body.reason ? { reason: body.reason } : {}) },
    });
    let r: Awaited<ReturnType<typeof rotateNow>>;
    try {
      r = await rotateNow(uid, actor);
    } catch (err) {
      await deps.store.appendAudit({
        action: "api.rotate.refused",
        recordUid: uid,
        actor,
        details: { via: "http", error: (err as Error).message },
      });
      throw err;
    }
    if (!r.queued) {
      await deps.store.appendAudit({
        action: "api.rotate.refused",
        recordUid: uid,
        actor,
        details: { via: "http", reason: r.reason },
      });
      return c.json(
        errorBody("conflict", `record ${uid} was not queued: ${r.reason}`, "try again later"),
        409,
      );
    }
    return c.json({ recordUid: uid, queued: true as const, attemptId: r.attemptId, requestedBy: actor }, 202);
  });
}
