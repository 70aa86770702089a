/**
 * `startHttpServer`: the API, dashboard and metrics on a socket (Hono on Node's http or https server).
 *
 * Exposure: a loopback address always; another address only with TLS (`tls.cert` and `tls.key`, PEM
 * files) or `allowInsecure` (listen.ts). `/metrics` is public only when asked (`publicMetrics`) AND the
 * address is loopback. Tokens are loaded and checked before the socket opens; none is ever logged.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { usageError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import type { Secret } from "../secret.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { type ApiDeps, createApp } from "./app.js";
import { loadTokens } from "./auth.js";
import type { GatewayHandle } from "./gateway-handle.js";
import { checkExposure, parseListen, urlOf } from "./listen.js";

export interface HttpServerOptions {
  store: AsyncVaultStore;
  gateway: GatewayHandle;
  /** "HOST:PORT"; port 0 picks a free one (see `url`). */
  listen: string;
  /** One token (named "api"), e.g. REKEY_API_TOKEN. */
  token?: string | Secret | undefined;
  /** Named tokens: the name is the audit log's actor. */
  tokens?: Record<string, string | Secret> | undefined;
  /** A file of NAME:TOKEN lines (or one bare token). */
  tokenFile?: string | undefined;
  /** PEM files: serve HTTPS. */
  tls?: { cert: string; key: string } | undefined;
  /** Plain HTTP on a non-loopback address (tokens in clear text on the network): only behind a TLS proxy. */
  allowInsecure?: boolean | undefined;
  /** /metrics without a token; honoured on a loopback address only. */
  publicMetrics?: boolean | undefined;
  /** Keys at least this old (days) show red and count as overdue (default 90, CIS 1.14). */
  keyAgeLimitDays?: number | undefined;
  /** /healthz's store check timeout (default 2000 ms). */
  healthTimeoutMs?: number | undefined;
  /** The records the status views read (ApiDeps.listing); absent: every record is opened. */
  listing?: ApiDeps["listing"];
  logger?: Logger | undefined;
  now?: (() => Date) | undefined;
}

export interface HttpServer {
  /** e.g. "http://127.0.0.1:39123" (the real port when 0 was asked). */
  url: string;
  close(): Promise<void>;
}

/**
 * @example
 * const http = await startHttpServer({ store, gateway: gatewayHandle(gw, { metrics }), listen: "127.0.0.1:8080", token: env.REKEY_API_TOKEN });
 * logger.info({ url: http.url }, "API listening");
 */
export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const logger = o.logger ?? silentLogger;
  const addr = parseListen(o.listen);
  checkExposure(addr, { tls: !!o.tls, allowInsecure: o.allowInsecure === true });
  const tokens = loadTokens(o, logger);
  if (o.publicMetrics && !addr.loopback)
    logger.warn({ host: addr.host }, "publicMetrics is ignored off loopback: /metrics needs a token");
  const app = createApp({
    store: o.store,
    gateway: o.gateway,
    tokens,
    logger,
    now: o.now ?? (() => new Date()),
    keyAgeLimitDays: o.keyAgeLimitDays ?? 90,
    publicMetrics: o.publicMetrics === true && addr.loopback,
    healthTimeoutMs: o.healthTimeoutMs ?? 2000,
    listing: o.listing,
  });
  const tls = o.tls ? readTls(o.tls) : undefined;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: addr.host,
        port: addr.port,
        ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
      },
      () => resolve(s),
    );
    s.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        usageError(
          `cannot listen on ${o.listen}: ${err.code ?? err.message}`,
          err.code === "EADDRINUSE" ? "another process uses that port: pick another" : "check the address",
        ),
      ),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const url = urlOf(addr.host, port, !!tls);
  logger.info({ url, tls: !!tls, tokens: tokens.map((t) => t.name) }, "HTTP API listening");
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections (a dashboard's browser) would hold close() open.
        if ("closeAllConnections" in server) server.closeAllConnections();
      }),
  };
}

function readTls(t: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw usageError(
        `cannot read the TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        "give PEM files this user may read",
      );
    }
  };
  return { cert: read("certificate", t.cert), key: read("key", t.key) };
}
