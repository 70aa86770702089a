/**
 * The HTTP front of the sandbox: one node:http handler for IAM and STS (routed by the service of the
 * SigV4 credential scope) and the admin endpoint under /__admin/.
 *
 * Per AWS request: read the body → faults (drop, latency, 500, black hole) → authenticate (SigV4) →
 * throttle (token bucket per account and service) → post-action faults of mutating IAM actions (late action,
 * act-then-fail) → action (validate, authorize, act) → XML. Most faults come first so that they hit
 * any request, as real outages do; throttling comes after authentication because AWS throttles per
 * account; the post-action faults need an action that can take effect. IAM and STS have separate
 * buckets, as AWS's quotas are per service: a client verifying keys through STS does not use up IAM's.
 * Every authenticated request is counted by caller key and service (accepted or throttled): `traffic`,
 * the server's own figures for benchmarks.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ActionContext, ActionHandler } from "./action-context.js";
import { authenticate } from "./auth.js";
import { authorize, requestContext } from "./authorize.js";
import {
  AwsError,
  internalFailure,
  invalidAction,
  missingAction,
  missingAuthenticationToken,
  serviceFailure,
  signatureDoesNotMatch,
  throttling,
} from "./errors.js";
import { drawAfterAction } from "./faults.js";
import { iamActions, MUTATING_IAM_ACTIONS } from "./iam-actions.js";
import type { KnobStore } from "./knobs.js";
import { API_VERSIONS, parseParams, renderError, renderResult, type Service } from "./query-protocol.js";
import type { IdFactory, Rng } from "./random.js";
import { headerMap, parseAuthorizationHeader, parsePresignedQuery, type SignatureClaim } from "./sigv4.js";
import type { SandboxState } from "./state.js";
import { stsActions } from "./sts-actions.js";
import { type Bucket, effectiveBurst, newBucket, takeToken } from "./token-bucket.js";

const MAX_BODY_BYTES = 1024 * 1024;

const ACTIONS: Record<Service, Readonly<Record<string, ActionHandler>>> = {
  iam: iamActions,
  sts: stsActions,
};

export interface RequestParts {
  rawPath: string;
  rawQuery: string;
  body: Buffer;
}

export interface HandlerDeps {
  state: SandboxState;
  knobs: KnobStore;
  ids: IdFactory;
  /** The PRNG of fault draws (a getter: `randomSeed` may replace it). */
  faultRng: () => Rng;
  admin: (req: IncomingMessage, res: ServerResponse, parts: RequestParts) => Promise<void>;
  log: (line: string) => void;
}

/** A body over MAX_BODY_BYTES: refused before authentication (which needs the whole body) with 413. */
class BodyTooLarge extends Error {}

/**
 * The body, up to MAX_BODY_BYTES. Every request is read whole before it is authenticated (SigV4 signs
 * the body), so this cap is what an unauthenticated client can make the sandbox hold per connection.
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        chunks.length = 0;
        req.resume(); // drain what is still coming, keeping none of it
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sendXml(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, {
    "content-type": "text/xml",
    "content-length": Buffer.byteLength(xml),
    "x-amzn-requestid": requestId,
  });
  res.end(xml);
}

/** Requests an access key made to one service: served (past throttling) and throttled. */
export interface TrafficCount {
  accepted: number;
  throttled: number;
}

/** Per access key id, per service. */
export type Traffic = Record<string, Partial<Record<Service, TrafficCount>>>;

export interface RequestHandler {
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** The requests counted since start (a copy). */
  traffic(): Traffic;
  /** Cancels the late actions still pending (the server is closing). */
  close(): void;
}

export function createRequestHandler(deps: HandlerDeps): RequestHandler {
  const { state, knobs, ids, log } = deps;
  /** Keyed `account service`. */
  const buckets = new Map<string, Bucket>();
  const counts = new Map<string, TrafficCount>();
  const count = (accessKeyId: string, svc: Service): TrafficCount => {
    const key = `${accessKeyId} ${svc}`;
    let c = counts.get(key);
    if (!c) {
      c = { accepted: 0, throttled: 0 };
      counts.set(key, c);
    }
    return c;
  };
  const pendingLate = new Set<NodeJS.Timeout>();

  /** A late action: applied after the client saw its connection reset; its answer goes nowhere. */
  function applyLater(ctx: ActionContext, handler: ActionHandler, delayMs: number, requestId: string): void {
    const timer = setTimeout(() => {
      pendingLate.delete(timer);
      try {
        handler({ ...ctx, now: state.now() });
      } catch (err) {
        if (!(err instanceof AwsError)) {
          log(
            `rekey sandbox: internal error in late request ${requestId}: ${(err as Error)?.stack ?? String(err)}`,
          );
        }
      }
    }, delayMs);
    pendingLate.add(timer);
  }

  async function handleAws(req: IncomingMessage, res: ServerResponse, parts: RequestParts): Promise<void> {
    const requestId = ids.requestId();
    let service: Service = "iam";
    try {
      const headers = headerMap(req.rawHeaders);
      const query = parts.rawQuery === "" ? undefined : parseParams(parts.rawQuery);
      const authorization = headers.get("authorization");
      let claim: SignatureClaim | undefined;
      let claimError: unknown;
      try {
        claim =
          authorization !== undefined
            ? parseAuthorizationHeader(authorization)
            : query && parsePresignedQuery(query);
      } catch (err) {
        claimError = err;
      }
      if (claim?.service === "sts") service = "sts";

      const k = knobs.current();
      if (k.dropRate > 0 && deps.faultRng()() < k.dropRate) {
        req.socket.destroy();
        return;
      }
      if (k.latencyMs > 0) await sleep(k.latencyMs);
      if (k.errorRate > 0 && deps.faultRng()() < k.errorRate) {
        throw service === "iam" ? serviceFailure() : internalFailure();
      }
      // Read and never answered: the client's own timeout is the only way out.
      if (k.blackHoleRate > 0 && deps.faultRng()() < k.blackHoleRate) return;

      if (claimError !== undefined) throw claimError;
      if (!claim) throw missingAuthenticationToken();
      if (claim.service !== "iam" && claim.service !== "sts") {
        throw signatureDoesNotMatch("Credential should be scoped to correct service: 'iam'.");
      }
      const params =
        req.method === "GET" ? (query ?? parseParams("")) : parseParams(parts.body.toString("utf8"));
      const now = state.now();
      const principal = authenticate(
        {
          method: req.method ?? "POST",
          rawPath: parts.rawPath,
          rawQuery: parts.rawQuery,
          headers,
          body: parts.body,
          claim,
        },
        state,
        now,
      );

      const counted = count(claim.accessKeyId, service);
      if (k.throttleRate > 0) {
        const burst = effectiveBurst(k.throttleRate, k.throttleBurst);
        const id = `${principal.account.accountId} ${service}`;
        let bucket = buckets.get(id);
        if (!bucket) {
          bucket = newBucket(burst, now);
          buckets.set(id, bucket);
        }
        if (!takeToken(bucket, now, k.throttleRate, burst)) {
          counted.throttled++;
          throw throttling();
        }
      }
      counted.accepted++;

      const action = params.get("Action");
      if (!action) throw missingAction();
      const version = params.get("Version");
      const handler = Object.hasOwn(ACTIONS[service], action) ? ACTIONS[service][action] : undefined;
      if (!handler || (version !== null && version !== API_VERSIONS[service])) {
        throw invalidAction(action, version ?? API_VERSIONS[service]);
      }
      const context = requestContext(principal, now, {
        region: claim.region,
        ...(req.socket.remoteAddress !== undefined ? { sourceIp: req.socket.remoteAddress } : {}),
      });
      const ctx: ActionContext = {
        state,
        principal,
        params,
        now,
        region: claim.region,
        knobs: k,
        context,
        authorize: (act, resource) => authorize(state, principal, act, resource, context),
      };
      const fault =
        service === "iam" && MUTATING_IAM_ACTIONS.has(action)
          ? drawAfterAction(k, deps.faultRng())
          : undefined;
      if (fault?.kind === "late") {
        // A reset (RST), not a clean close: the client sees ECONNRESET, as when IAM's front end drops it.
        req.socket.resetAndDestroy();
        applyLater(ctx, handler, fault.delayMs, requestId);
        return;
      }
      if (fault?.kind === "answer-lost") {
        try {
          handler(ctx);
        } catch (err) {
          // Refused (LimitExceeded, NoSuchEntity...): that answer is lost just the same.
          if (!(err instanceof AwsError)) throw err;
        }
        if (fault.how === "drop") {
          req.socket.destroy();
          return;
        }
        throw serviceFailure();
      }
      sendXml(res, 200, renderResult(service, action, handler(ctx), requestId), requestId);
    } catch (err) {
      if (err instanceof AwsError) {
        sendXml(res, err.status, renderError(service, err, requestId), requestId);
        return;
      }
      log(`rekey sandbox: internal error in request ${requestId}: ${(err as Error)?.stack ?? String(err)}`);
      const failure = service === "iam" ? serviceFailure() : internalFailure();
      sendXml(res, failure.status, renderError(service, failure, requestId), requestId);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? "" : url.slice(q + 1);
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        if (!res.headersSent) {
          res.writeHead(413, { "content-type": "text/plain", connection: "close" });
          res.end(`request body larger than ${MAX_BODY_BYTES} bytes\n`);
        }
        return;
      }
      if (!res.headersSent && !req.socket.destroyed && err instanceof AwsError) {
        sendXml(res, err.status, renderError("iam", err, ids.requestId()), "");
      }
      return;
    }
    const parts = { rawPath, rawQuery, body };
    if (rawPath === "/__admin" || rawPath.startsWith("/__admin/")) return deps.admin(req, res, parts);
    return handleAws(req, res, parts);
  }

  return {
    traffic() {
      const out: Traffic = {};
      for (const [key, c] of counts) {
        const [id, svc] = key.split(" ") as [string, Service];
        out[id] = { ...out[id], [svc]: { ...c } };
      }
      return out;
    },
    listener: (req, res) => {
      handle(req, res).catch((err: unknown) => {
        log(`rekey sandbox: unhandled error: ${(err as Error)?.stack ?? String(err)}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    },
    close() {
      for (const timer of pendingLate) clearTimeout(timer);
      pendingLate.clear();
    },
  };
}
