/**
 * The HTTP application (no socket: server.ts serves it, tests call `app.request`). Every route but
 * /healthz and the dashboard's static files (which hold no data) needs a bearer token; /metrics too
 * unless `publicMetrics` (loopback only). Headers: a strict Content-Security-Policy (the dashboard's
 * script and style are files of this module, nothing inline, nothing from elsewhere), no caching, no
 * referrer, no framing.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import type { ListedForStatus } from "../gateway/status.js";
import type { Logger } from "../logger.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { type ApiToken, bearerOf, matchToken } from "./auth.js";
import { dashboardRoutes } from "./dashboard.js";
import type { GatewayHandle } from "./gateway-handle.js";
import { errorBody, onError } from "./http-errors.js";
import { historyRoutes } from "./routes-history.js";
import { opsRoutes } from "./routes-ops.js";
import { recordRoutes } from "./routes-records.js";

export interface ApiDeps {
  store: AsyncVaultStore;
  gateway: GatewayHandle;
  tokens: readonly ApiToken[];
  logger: Logger;
  now: () => Date;
  /** Keys at least this old (days) are shown red and counted overdue. */
  keyAgeLimitDays: number;
  /** /metrics without a token (only ever true on a loopback address: server.ts decides). */
  publicMetrics: boolean;
  /** The store check of /healthz gives up after this long. */
  healthTimeoutMs: number;
  /**
   * The records the status views read (/records, /metrics, /report), a fresh listing each call: the
   * gateway gives the listing cache's (cli/listing.ts). Absent: every record is opened.
   */
  listing?: (() => AsyncIterable<ListedForStatus[]>) | undefined;
  /** Token comparison (tests wrap crypto.timingSafeEqual to see that it is used). */
  compare?: (a: Buffer, b: Buffer) => boolean;
}

export type AppEnv = { Variables: { actor: string } };
export type App = OpenAPIHono<AppEnv>;

const PUBLIC = new Set(["/healthz", "/", "/assets/dashboard.js", "/assets/dashboard.css", "/favicon.ico"]);

export function createApp(deps: ApiDeps): App {
  const app: App = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((i) => ({
        path: i.path.map(String).join(".") || "(body)",
        message: i.message,
      }));
      const message = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
      return c.json({ error: { kind: "usage", message, issues } }, 400);
    },
  });
  app.onError(onError(deps.logger));
  app.notFound((c) => c.json(errorBody("not-found", `no route ${c.req.method} ${c.req.path}`), 404));

  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
      referrerPolicy: "no-referrer",
    }),
  );
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    c.header("Cache-Control", "no-store");
    // Method, path and status only: never a header (the token) or a query string.
    deps.logger.debug(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - t0),
      },
      "http request",
    );
  });
  app.use("*", bodyLimit({ maxSize: 16 * 1024 }));
  app.use("*", async (c, next) => {
    const path = c.req.path;
    if (PUBLIC.has(path) || (path === "/metrics" && deps.publicMetrics)) return next();
    const name = matchToken(deps.tokens, bearerOf(c.req.header("Authorization")), deps.compare);
    if (name === undefined) {
      c.header("WWW-Authenticate", 'Bearer realm="rekey"');
      return c.json(
        errorBody("auth", "a valid bearer token is required", "send Authorization: Bearer <token>"),
        401,
      );
    }
    c.set("actor", name);
    return next();
  });

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  opsRoutes(app, deps);
  recordRoutes(app, deps);
  historyRoutes(app, deps);
  dashboardRoutes(app, deps);
  app.doc31("/api/v1/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "rekey gateway API",
      version: "1",
      description: "Status, history, audit and on-demand rotation of the IAM access keys rekey manages.",
    },
    security: [{ bearer: [] }],
  });
  return app;
}
