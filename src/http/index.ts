/**
 * The gateway's HTTP surface: API, dashboard, Prometheus metrics. Loaded only when the gateway is asked to
 * listen (`rekey gateway --listen`): import it lazily, `await import("../http/index.js")`.
 */
export { type ApiDeps, createApp } from "./app.js";
export {
  type AdaptableGateway,
  type GatewayExtras,
  type GatewayHandle,
  type GatewayHandleOptions,
  type GatewayLiveState,
  type GatewayState,
  gatewayHandle,
  type RotateRequest,
} from "./gateway-handle.js";
export { GatewayMetrics, type GatewayMetricsHooks, type ScriptOutcome } from "./metrics.js";
export { type HttpServer, type HttpServerOptions, startHttpServer } from "./server.js";
