/** GET /healthz, GET /metrics, GET /api/v1/report. */
import { createRoute } from "@hono/zod-openapi";
import type { ApiDeps, App } from "./app.js";
import { VAULT_REPORT_NOTE, vaultReport } from "./report-from-vault.js";
import { ErrorSchema, HealthResponse, ReportQuery, ReportResponse } from "./schemas.js";
import { statusRows } from "./status-rows.js";

const json = <T>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

const health = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Liveness and the gateway's state (no token)",
  security: [],
  responses: {
    200: json(HealthResponse, "The store answered"),
    503: json(
      HealthResponse,
      "The vault or store did not answer in time, or the gateway says it is unreachable",
    ),
  },
});

const report = createRoute({
  method: "get",
  path: "/api/v1/report",
  summary: "The compliance report (CIS 1.14) of the managed keys, from the vault",
  request: { query: ReportQuery },
  responses: { 200: json(ReportResponse, "The report"), 400: json(ErrorSchema, "Bad query") },
});

/** One cheap store call (the audit log's last entry), bounded by a timeout. */
async function probeStore(deps: ApiDeps): Promise<{ reachable: boolean; ms: number; error?: string }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      deps.store.listAudit({ limit: 1 }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${deps.healthTimeoutMs} ms`)),
          deps.healthTimeoutMs,
        );
      }),
    ]);
    return { reachable: true, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { reachable: false, ms: Math.round(performance.now() - t0), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function opsRoutes(app: App, deps: ApiDeps): void {
  app.openapi(health, async (c) => {
    const store = await probeStore(deps);
    const gateway = deps.gateway.state();
    const ok = store.reachable && gateway.vaultReachable !== false;
    return c.json(
      { status: ok ? ("ok" as const) : ("unavailable" as const), store, gateway },
      ok ? 200 : 503,
    );
  });

  app.get("/metrics", async (c) => {
    const now = deps.now();
    const m = deps.gateway.metrics;
    const state = deps.gateway.state();
    const store = await probeStore(deps);
    m.observeGateway({ ...state, vaultReachable: store.reachable && state.vaultReachable !== false });
    if (store.reachable) m.observeRecords(await statusRows(deps, now), now, deps.keyAgeLimitDays);
    const { contentType, body } = await m.text();
    return c.body(body, 200, { "Content-Type": contentType });
  });

  app.openapi(report, async (c) => {
    const { maxAgeDays } = c.req.valid("query");
    const now = deps.now();
    const rows = await statusRows(deps, now);
    return c.json(
      { source: "vault" as const, note: VAULT_REPORT_NOTE, report: vaultReport(rows, now, maxAgeDays) },
      200,
    );
  });
}
