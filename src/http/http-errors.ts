/**
 * rekey's error kinds as HTTP answers: the one place a RekeyError becomes a status code. Messages and hints
 * are written for users and never hold a secret (errors.ts); anything that is not a RekeyError is an
 * internal error whose text stays in the log.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorKind, RekeyError } from "../errors.js";
import type { Logger } from "../logger.js";

export const HTTP_STATUS: Record<ErrorKind, ContentfulStatusCode> = {
  usage: 400,
  "not-found": 404,
  conflict: 409,
  auth: 401,
  integrity: 500,
  aws: 502,
  delivery: 502,
  interrupted: 503,
  violation: 422,
  internal: 500,
};

export interface ErrorBody {
  error: { kind: string; message: string; hint?: string; issues?: Array<{ path: string; message: string }> };
}

export function errorBody(kind: string, message: string, hint?: string): ErrorBody {
  return { error: { kind, message, ...(hint ? { hint } : {}) } };
}

export function onError(logger: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof RekeyError) {
      const status = HTTP_STATUS[err.kind];
      if (status >= 500) logger.error({ path: c.req.path, kind: err.kind, error: err.message }, "API error");
      return c.json(errorBody(err.kind, err.message, err.hint), status);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return c.json(errorBody(status === 401 ? "auth" : "usage", err.message || "bad request"), status);
    }
    logger.error({ path: c.req.path, error: err.message }, "API internal error");
    return c.json(errorBody("internal", "internal error (see the gateway's log)"), 500);
  };
}
