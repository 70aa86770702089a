/**
 * The fake server's request envelope, as the real server handles it (keeper-protocol.md §5):
 *
 * 1. throttling and injected failures (test knobs) answer first, like a front-end rate limiter would;
 * 2. the body is AES-GCM under the transmission key (handed over raw by the SDK's `queryFunction`, or
 *    recovered from the `TransmissionKey` header with the server's private key over HTTPS);
 * 3. the client is found by `clientId`, and the signature (ECDSA over encryptedKey | body) is checked with the
 *    client's public key (or, when binding, the `publicKey` the request carries);
 * 4. the endpoint runs; a 200 answer is JSON encrypted under the same transmission key, an error is plain
 *    JSON in Keeper's envelope: `{path, additional_info, location, error, message}` (+ `result_code`).
 */
import type { KeeperHttpResponse, SecretManagerOptions } from "@keeper-security/secrets-manager-core";
import { ENDPOINTS } from "./endpoints.js";
import type { FakeClient, FakeKeeper } from "./state.js";
import { eciesDecrypt, fromB64, gcmDecrypt, gcmEncrypt, verifySignature } from "./wire-crypto.js";

export interface WireRequest {
  endpoint: string;
  /** The raw 32-byte transmission key. */
  transmissionKey: Uint8Array;
  /** What the client sent as the TransmissionKey header (ECIES of the key; part of the signed bytes). */
  encryptedKey: Uint8Array;
  body: Uint8Array;
  signature: Uint8Array;
  /** The PublicKeyId header. */
  publicKeyId: number | undefined;
}

/** An error answer: plain JSON, not encrypted. */
export class FakeKeeperError extends Error {
  readonly statusCode: number;
  readonly body: Record<string, unknown> | string;

  constructor(statusCode: number, body: Record<string, unknown> | string) {
    super(typeof body === "string" ? body : String(body.message ?? body.error));
    this.statusCode = statusCode;
    this.body = body;
  }
}

/** Keeper's error envelope (seen in SDK tests and issue reports). */
export function keeperError(
  fake: FakeKeeper,
  endpoint: string,
  statusCode: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
): FakeKeeperError {
  return new FakeKeeperError(statusCode, {
    path: `https://${fake.hostname}/api/rest/sm/v1/${endpoint}, POST`,
    additional_info: "",
    location: "default exception manager - api validation exception",
    error,
    message,
    ...extra,
  });
}

export interface EndpointContext {
  fake: FakeKeeper;
  endpoint: string;
  client: FakeClient;
  /** True when this request carried `publicKey` and bound the client. */
  justBound: boolean;
}

/** An endpoint's answer: a JSON object to encrypt, or undefined for an empty 200. */
export type EndpointResult = Record<string, unknown> | undefined;

export function handleWire(fake: FakeKeeper, req: WireRequest): KeeperHttpResponse {
  let payload: Record<string, unknown> | undefined;
  try {
    const early = knobAnswer(fake, req.endpoint);
    if (early) throw early;
    payload = decryptPayload(fake, req);
    fake.beforeRequest?.(req.endpoint, payload);
    const ctx = authenticate(fake, req, payload);
    const handler = ENDPOINTS[req.endpoint];
    if (!handler) throw keeperError(fake, req.endpoint, 404, "not_found", `unknown endpoint ${req.endpoint}`);
    const result = handler(ctx, payload);
    const lost = fake.knobs.lostResponses.find(
      (x) => x.remaining > 0 && (x.endpoint === undefined || x.endpoint === req.endpoint),
    );
    if (lost) {
      lost.remaining--;
      throw new FakeKeeperError(502, "Bad Gateway");
    }
    log(fake, req.endpoint, payload, 200);
    const data =
      result === undefined
        ? Buffer.alloc(0)
        : gcmEncrypt(req.transmissionKey, Buffer.from(JSON.stringify(result)));
    return { statusCode: 200, headers: { "content-type": "application/octet-stream" }, data };
  } catch (err) {
    if (!(err instanceof FakeKeeperError)) throw err;
    log(fake, req.endpoint, payload, err.statusCode);
    const text = typeof err.body === "string";
    return {
      statusCode: err.statusCode,
      headers: { "content-type": text ? "text/plain" : "application/json" },
      data: Buffer.from(typeof err.body === "string" ? err.body : JSON.stringify(err.body)),
    };
  }
}

function log(
  fake: FakeKeeper,
  endpoint: string,
  payload: Record<string, unknown> | undefined,
  statusCode: number,
) {
  const clientId = typeof payload?.clientId === "string" ? payload.clientId : undefined;
  fake.requests.push({ endpoint, clientId, payload, statusCode });
}

function knobAnswer(fake: FakeKeeper, endpoint: string): FakeKeeperError | undefined {
  const t = fake.knobs.throttle;
  if (t.remaining > 0) {
    t.remaining--;
    return new FakeKeeperError(403, {
      error: "throttled",
      message: "throttled",
      ...(t.retryAfter !== undefined ? { retry_after: t.retryAfter } : {}),
    });
  }
  const f = fake.knobs.failures.find(
    (x) => x.remaining > 0 && (x.endpoint === undefined || x.endpoint === endpoint),
  );
  if (f) {
    f.remaining--;
    return new FakeKeeperError(f.statusCode, f.body);
  }
  return undefined;
}

function decryptPayload(fake: FakeKeeper, req: WireRequest): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(gcmDecrypt(req.transmissionKey, req.body).toString("utf8"));
  } catch {
    throw keeperError(fake, req.endpoint, 400, "bad_request", "unable to decrypt the request payload");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw keeperError(fake, req.endpoint, 400, "bad_request", "the request payload is not a JSON object");
  }
  return json as Record<string, unknown>;
}

function authenticate(fake: FakeKeeper, req: WireRequest, payload: Record<string, unknown>): EndpointContext {
  const denied = (message: string) => keeperError(fake, req.endpoint, 403, "access_denied", message);
  const clientId = payload.clientId;
  const client = typeof clientId === "string" ? fake.clients.get(clientId) : undefined;
  if (!client) throw denied("Unable to validate application access");
  const offered = typeof payload.publicKey === "string" ? fromB64(payload.publicKey) : undefined;
  const binding = offered !== undefined && req.endpoint === "get_secret";
  if (binding && client.publicKey) throw denied("One-Time Token cannot be reused");
  const key = binding ? offered : client.publicKey;
  if (!key) throw denied("the client is not bound: send the one-time token's first request (get_secret)");
  const signed = Buffer.concat([Buffer.from(req.encryptedKey), Buffer.from(req.body)]);
  if (!verifySignature(key, signed, req.signature)) throw denied("Signature is invalid");
  if (binding) {
    if (!client.clientKey) throw denied("Unable to validate application access");
    client.publicKey = Buffer.from(key);
  }
  return { fake, endpoint: req.endpoint, client, justBound: binding };
}

const PATH_RE = /\/api\/rest\/sm\/v1\/([a-z_]+)$/;

/** The endpoint name of a KSM URL (`https://host/api/rest/sm/v1/get_secret` → `get_secret`). */
export function endpointOf(url: string): string {
  const m = PATH_RE.exec(new URL(url).pathname);
  if (!m?.[1]) throw new Error(`fake keeper: not a KSM URL: ${url}`);
  return m[1];
}

/**
 * The SDK's `queryFunction`: the transmission key arrives raw. When the client encrypted it to the fake's own
 * server key (config `serverPublicKey`), the header is checked too, so a config mistake shows up in-process.
 */
export function queryFunctionFor(fake: FakeKeeper): NonNullable<SecretManagerOptions["queryFunction"]> {
  return async (url, transmissionKey, payload) => {
    const endpoint = endpointOf(url);
    if (transmissionKey.publicKeyId === fake.server.keyId) {
      let ok = false;
      try {
        ok = eciesDecrypt(fake.server.keys.privateRaw, transmissionKey.encryptedKey).equals(
          Buffer.from(transmissionKey.key),
        );
      } catch {
        ok = false;
      }
      if (!ok) {
        const body = { error: "key", key_id: fake.server.keyId };
        return { statusCode: 400, headers: {}, data: Buffer.from(JSON.stringify(body)) };
      }
    }
    return handleWire(fake, {
      endpoint,
      transmissionKey: transmissionKey.key,
      encryptedKey: transmissionKey.encryptedKey,
      body: payload.payload,
      signature: payload.signature,
      publicKeyId: transmissionKey.publicKeyId,
    });
  };
}
