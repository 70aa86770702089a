/**
 * Helpers for the sandbox's own tests (imported by *.test.ts only, never by the server): real AWS
 * SDK v3 clients pointed at a sandbox, and an assertion for AWS errors.
 */
import assert from "node:assert/strict";
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { IAMClient } from "@aws-sdk/client-iam";
import { STSClient } from "@aws-sdk/client-sts";
import { HttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import type { SourceData } from "@smithy/types";
import type { Sandbox, SandboxCredentials } from "../sandbox/index.js";

// The SDK warns once per process about Node 20 support ending in 2027; keep test output readable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

export interface Creds extends SandboxCredentials {
  sessionToken?: string;
}

/** An IAM client on the sandbox; `maxAttempts: 1` so SDK retries never hide an error. */
export function iamClient(
  sandbox: Sandbox,
  credentials: Creds = sandbox.root,
  extra: { systemClockOffset?: number } = {},
) {
  // A copy: the SDK marks the credentials object it is given (adds `$source`).
  return new IAMClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { ...credentials },
    maxAttempts: 1,
    ...extra,
  });
}

export function stsClient(
  sandbox: Sandbox,
  credentials: Creds = sandbox.root,
  extra: { systemClockOffset?: number } = {},
) {
  return new STSClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { ...credentials },
    maxAttempts: 1,
    ...extra,
  });
}

/** Awaits `promise`, expecting an AWS error with this `name` and HTTP status; returns it. */
export async function rejectsAws(
  promise: Promise<unknown>,
  name: string,
  status: number,
  message?: string | RegExp,
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    assert.equal(e.$metadata?.httpStatusCode, status, `HTTP status of ${name}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else if (message) assert.match(e.message, message);
    return e as Error & { $metadata: { httpStatusCode?: number } };
  }
  assert.fail(`expected ${name} (${status}), but the call succeeded`);
}

/** A policy document allowing `actions` on `resource`. */
export function allow(actions: string | string[], resource: string | string[] = "*") {
  return { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: resource }] };
}

/** The env without REKEY_SANDBOX_* (tests must not depend on the developer's shell). */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.REKEY_SANDBOX_ROOT_KEY_ID;
  delete env.REKEY_SANDBOX_ROOT_SECRET;
  delete env.REKEY_SANDBOX_ADMIN_TOKEN;
  return env;
}

const bytes = (d: SourceData): Uint8Array | string =>
  typeof d === "string"
    ? d
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** SHA-256 for @smithy/signature-v4 (its Checksum interface) on node:crypto. */
export class Sha256 {
  readonly #secret: Uint8Array | string | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret === undefined ? undefined : bytes(secret);
    this.#hash = this.#secret === undefined ? createHash("sha256") : createHmac("sha256", this.#secret);
  }

  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#secret === undefined ? createHash("sha256") : createHmac("sha256", this.#secret);
  }
}

/**
 * A raw SigV4-signed request to the sandbox (for what the SDK cannot send: unknown actions, GET,
 * presigned URLs). `body` is form-encoded for POST, the query for GET.
 */
export async function signedFetch(
  sandbox: Sandbox,
  opts: {
    credentials?: Creds;
    service?: string;
    method?: "GET" | "POST";
    params: Record<string, string>;
    presign?: boolean;
    signingDate?: Date;
    path?: string;
    /** Sent instead of the signed body (to prove tampering is caught). */
    sendBody?: string;
  },
): Promise<{ status: number; text: string }> {
  const url = new URL(sandbox.endpoint);
  const method = opts.method ?? "POST";
  const form = new URLSearchParams(opts.params).toString();
  const request = new HttpRequest({
    method,
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: opts.path ?? "/",
    headers: {
      host: url.host,
      ...(method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}),
    },
    ...(method === "GET" ? { query: opts.params } : { body: form }),
  });
  const signer = new SignatureV4({
    credentials: opts.credentials ?? sandbox.root,
    region: sandbox.region,
    service: opts.service ?? "iam",
    sha256: Sha256,
  });
  const signingDate = opts.signingDate ?? new Date();
  const signed = opts.presign
    ? await signer.presign(request, { signingDate, expiresIn: 300 })
    : await signer.sign(request, { signingDate });
  const query = new URLSearchParams(signed.query as Record<string, string>).toString();
  const headers = { ...signed.headers };
  delete headers.host;
  const res = await fetch(`${sandbox.endpoint}${signed.path}${query ? `?${query}` : ""}`, {
    method,
    headers,
    ...(method === "POST" ? { body: opts.sendBody ?? form } : {}),
  });
  return { status: res.status, text: await res.text() };
}
