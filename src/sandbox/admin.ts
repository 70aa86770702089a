/**
 * The admin endpoint (JSON over HTTP), for tests and demos driving a running sandbox:
 *
 *   GET  /__admin/state[?secrets=true]  the state as a sandbox document
 *   GET  /__admin/knobs                 current knobs
 *   POST /__admin/knobs                 change knobs: {"throttleRate": 5, …}; answers the new knobs
 *   POST /__admin/seed                  add a sandbox document; answers the keys it created
 *   POST /__admin/reset                 forget every user, role, policy and session
 *
 * Every route requires the admin token (header `x-rekey-admin-token: TOKEN` or
 * `authorization: Bearer TOKEN`, compared in constant time) or a SigV4 signature made with an
 * account root's access key.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { RekeyError } from "../errors.js";
import { parseJsonSafely } from "../json.js";
import { authenticate } from "./auth.js";
import { parseDocument, type SandboxDocument } from "./document.js";
import { AwsError } from "./errors.js";
import type { KnobStore, Knobs } from "./knobs.js";
import type { RequestParts } from "./server.js";
import { headerMap, parseAuthorizationHeader } from "./sigv4.js";
import { type SeededKey, snapshotState } from "./snapshot.js";
import type { SandboxState } from "./state.js";

export interface AdminDeps {
  state: SandboxState;
  knobs: KnobStore;
  adminToken: string;
  seed: (doc: SandboxDocument) => SeededKey[];
}

function tokenMatches(expected: string, provided: string): boolean {
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(provided).digest();
  return timingSafeEqual(a, b);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Throws unless the request carries the admin token or a valid root signature. */
function checkAccess(req: IncomingMessage, parts: RequestParts, deps: AdminDeps): void {
  const headers = headerMap(req.rawHeaders);
  const authorization = headers.get("authorization");
  const bearer = authorization?.startsWith("Bearer ") ? authorization.slice(7) : undefined;
  const token = headers.get("x-rekey-admin-token") ?? bearer;
  if (token !== undefined) {
    if (tokenMatches(deps.adminToken, token)) return;
    throw new AdminError(401, "the admin token is wrong");
  }
  if (authorization?.startsWith("AWS4-")) {
    const claim = parseAuthorizationHeader(authorization);
    const principal = authenticate(
      {
        method: req.method ?? "GET",
        rawPath: parts.rawPath,
        rawQuery: parts.rawQuery,
        headers,
        body: parts.body,
        claim,
      },
      deps.state,
      deps.state.now(),
    );
    if (principal.kind === "root") return;
    throw new AdminError(
      403,
      `${principal.arn} is not an account root; the admin endpoint needs root credentials`,
    );
  }
  throw new AdminError(
    401,
    "the admin endpoint needs the admin token (header x-rekey-admin-token) or a request signed with root credentials",
  );
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return parseJsonSafely(body.toString("utf8"), "request body");
  } catch (err) {
    throw new AdminError(400, (err as Error).message);
  }
}

export function createAdminHandler(deps: AdminDeps) {
  return async (req: IncomingMessage, res: ServerResponse, parts: RequestParts): Promise<void> => {
    try {
      checkAccess(req, parts, deps);
      const route = `${req.method} ${parts.rawPath.replace(/\/+$/, "")}`;
      switch (route) {
        case "GET /__admin/state": {
          const secrets = new URLSearchParams(parts.rawQuery).get("secrets") === "true";
          return sendJson(res, 200, snapshotState(deps.state, { secrets }));
        }
        case "GET /__admin/knobs":
          return sendJson(res, 200, deps.knobs.get());
        case "POST /__admin/knobs":
          return sendJson(res, 200, deps.knobs.set(parseJson(parts.body) as Partial<Knobs>));
        case "POST /__admin/seed": {
          const doc = await parseDocument(parseJson(parts.body), "the seed document");
          return sendJson(res, 200, { created: deps.seed(doc) });
        }
        case "POST /__admin/reset":
          deps.state.reset();
          return sendJson(res, 200, { reset: true });
        default:
          throw new AdminError(
            404,
            `no admin route ${route}; routes: GET state, GET/POST knobs, POST seed, POST reset`,
          );
      }
    } catch (err) {
      if (err instanceof AdminError) return sendJson(res, err.status, { error: err.message });
      if (err instanceof RekeyError) return sendJson(res, 400, { error: err.message, hint: err.hint });
      if (err instanceof AwsError)
        return sendJson(res, err.status, { error: err.code, message: err.message });
      throw err;
    }
  };
}
