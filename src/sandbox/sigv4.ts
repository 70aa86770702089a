/**
 * Server-side AWS Signature Version 4: parse what the client claims (Authorization header or a
 * presigned query string), rebuild the canonical request from the bytes received, and recompute the
 * signature with node:crypto. Pure functions, no I/O; the caller supplies the secret.
 *
 * Invariant: the comparison of signatures is constant-time (timingSafeEqual over equal lengths),
 * and nothing here logs or returns the secret or the signing key.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { incompleteSignature, signatureDoesNotMatch } from "./errors.js";

export const ALGORITHM = "AWS4-HMAC-SHA256";

/** What the client claims: key id, scope, which headers it signed and the signature. */
export interface SignatureClaim {
  source: "header" | "query";
  accessKeyId: string;
  /** YYYYMMDD from the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** Presigned requests only: X-Amz-Date and X-Amz-Expires from the query string. */
  amzDate?: string;
  expiresSeconds?: number;
  securityToken?: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iam/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorizationHeader(value: string): SignatureClaim {
  const space = value.indexOf(" ");
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw incompleteSignature(`Unsupported AWS 'algorithm': '${algorithm}'`);
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ["Credential", "Signature", "SignedHeaders"].filter((k) => !fields.get(k));
  if (missing.length > 0) {
    throw incompleteSignature(
      `${missing.map((k) => `Authorization header requires '${k}' parameter.`).join(" ")} Authorization=${value}`,
    );
  }
  return {
    source: "header",
    ...parseCredential(fields.get("Credential")!),
    signedHeaders: fields.get("SignedHeaders")!.split(";"),
    signature: fields.get("Signature")!,
  };
}

/** Parses the X-Amz-* parameters of a presigned URL; undefined when the query carries no signature. */
export function parsePresignedQuery(query: URLSearchParams): SignatureClaim | undefined {
  if (query.get("X-Amz-Algorithm") === null && query.get("X-Amz-Signature") === null) return undefined;
  const required = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
  ];
  const missing = required.filter((k) => !query.get(k));
  if (missing.length > 0) {
    throw incompleteSignature(
      `AWS query-string parameters must include ${missing.map((k) => `'${k}'`).join(", ")}.`,
    );
  }
  if (query.get("X-Amz-Algorithm") !== ALGORITHM) {
    throw incompleteSignature(`Unsupported AWS 'algorithm': '${query.get("X-Amz-Algorithm")}'`);
  }
  const expires = query.get("X-Amz-Expires");
  const token = query.get("X-Amz-Security-Token");
  return {
    source: "query",
    ...parseCredential(query.get("X-Amz-Credential")!),
    signedHeaders: query.get("X-Amz-SignedHeaders")!.split(";"),
    signature: query.get("X-Amz-Signature")!,
    amzDate: query.get("X-Amz-Date")!,
    ...(expires !== null ? { expiresSeconds: Number(expires) } : {}),
    ...(token !== null ? { securityToken: token } : {}),
  };
}

function parseCredential(
  credential: string,
): Pick<SignatureClaim, "accessKeyId" | "scopeDate" | "region" | "service"> {
  const parts = credential.split("/");
  if (parts.length !== 5 || !parts[0]) {
    throw incompleteSignature(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  if (parts[4] !== "aws4_request") {
    throw signatureDoesNotMatch(
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${parts[4]}'.`,
    );
  }
  return {
    accessKeyId: parts[0],
    scopeDate: parts[1] ?? "",
    region: parts[2] ?? "",
    service: parts[3] ?? "",
  };
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent plus !'()*). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The canonical URI of a non-S3 request: dot-segments removed, and each segment of the path as
 * received encoded once more (AWS's "double encoding": the client encoded once on the wire).
 */
export function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const seg of rawPath.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") segments.pop();
    else segments.push(uriEncode(seg));
  }
  const trailing = segments.length > 0 && rawPath.endsWith("/") ? "/" : "";
  return `/${segments.join("/")}${trailing}`;
}

/** Sorted, re-encoded query string; the presigned signature itself is left out. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === "") return "";
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = safeDecode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
    if (key === "X-Amz-Signature") continue;
    const value = eq < 0 ? "" : safeDecode(part.slice(eq + 1).replace(/\+/g, " "));
    pairs.push([uriEncode(key), uriEncode(value)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** Header names lowercased, repeated headers joined with ",", values trimmed with inner runs of blanks collapsed. */
export function headerMap(rawHeaders: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!.replace(/[\r\n]/g, " ")
      .replace(/[ \t]+/g, " ")
      .trim();
    const prev = map.get(name);
    map.set(name, prev === undefined ? value : `${prev},${value}`);
  }
  return map;
}

export interface CanonicalRequestInput {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Map<string, string>;
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(input: CanonicalRequestInput): string {
  let headerLines = "";
  for (const name of input.signedHeaders) headerLines += `${name}:${input.headers.get(name) ?? ""}\n`;
  return [
    input.method,
    canonicalPath(input.rawPath),
    canonicalQuery(input.rawQuery),
    headerLines,
    input.signedHeaders.join(";"),
    input.payloadHash,
  ].join("\n");
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

export function credentialScope(claim: Pick<SignatureClaim, "scopeDate" | "region" | "service">): string {
  return `${claim.scopeDate}/${claim.region}/${claim.service}/aws4_request`;
}

const signingKeys = new Map<string, Buffer>();
const SIGNING_KEY_CACHE_LIMIT = 1024;

/** kSigning = HMAC chain over date, region, service, "aws4_request"; cached per (secret, scope). */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secret}\u0000${date}\u0000${region}\u0000${service}`;
  const hit = signingKeys.get(cacheKey);
  if (hit) return hit;
  const kDate = createHmac("sha256", `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac("sha256", kDate).update(region).digest();
  const kService = createHmac("sha256", kRegion).update(service).digest();
  const key = createHmac("sha256", kService).update("aws4_request").digest();
  if (signingKeys.size >= SIGNING_KEY_CACHE_LIMIT) signingKeys.clear();
  signingKeys.set(cacheKey, key);
  return key;
}

export function computeSignature(
  secret: string,
  claim: SignatureClaim,
  amzDate: string,
  canonical: string,
): string {
  const key = signingKey(secret, claim.scopeDate, claim.region, claim.service);
  return createHmac("sha256", key)
    .update(stringToSign(amzDate, credentialScope(claim), canonical))
    .digest("hex");
}

/** Constant-time comparison of two hex signatures. */
export function signaturesEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(provided, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** "20240101T000000Z" to epoch ms; NaN when malformed. */
export function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/**
 * The request time: X-Amz-Date (header or presigned query) or else the HTTP Date header, as AWS
 * accepts either. Throws IncompleteSignature when neither is usable.
 */
export function requestDate(
  claim: SignatureClaim,
  headers: Map<string, string>,
): { amzDate: string; ms: number } {
  const amz = claim.amzDate ?? headers.get("x-amz-date");
  if (amz !== undefined) {
    const ms = parseAmzDate(amz);
    if (!Number.isNaN(ms)) return { amzDate: amz, ms };
  }
  const http = headers.get("date");
  if (amz === undefined && http !== undefined) {
    const ms = Date.parse(http);
    if (!Number.isNaN(ms)) return { amzDate: formatAmzDate(ms), ms };
  }
  throw incompleteSignature(
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
  );
}

export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/**
 * AWS refuses a signature more than 15 minutes away from its clock, with SignatureDoesNotMatch and
 * these exact messages (the SDKs recognise them and correct their clock offset).
 */
export function checkClockSkew(requestMs: number, nowMs: number, amzDate: string): void {
  if (requestMs < nowMs - MAX_CLOCK_SKEW_MS) {
    throw signatureDoesNotMatch(
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(nowMs - MAX_CLOCK_SKEW_MS)} ` +
        `(${formatAmzDate(nowMs)} - 15 min.)`,
    );
  }
  if (requestMs > nowMs + MAX_CLOCK_SKEW_MS) {
    throw signatureDoesNotMatch(
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(nowMs + MAX_CLOCK_SKEW_MS)} ` +
        `(${formatAmzDate(nowMs)} + 15 min.)`,
    );
  }
}
