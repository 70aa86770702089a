/**
 * The AWS Query protocol, both directions: form-encoded parameters in, XML out. The response and
 * error envelopes are the ones IAM and STS send (checked against the AWS SDK v3 deserializers,
 * which read `<XResponse><XResult>…</XResult>` and `<ErrorResponse><Error>…</Error>`).
 */
import type { AwsError } from "./errors.js";

export type Service = "iam" | "sts";

export const API_VERSIONS: Record<Service, string> = { iam: "2010-05-08", sts: "2011-06-15" };

export const NAMESPACES: Record<Service, string> = {
  iam: "https://iam.amazonaws.com/doc/2010-05-08/",
  sts: "https://sts.amazonaws.com/doc/2011-06-15/",
};

export type Params = URLSearchParams;

/** Form body (POST) or query string (GET) to parameters; `+` and %-escapes decoded. */
export function parseParams(text: string): Params {
  return new URLSearchParams(text);
}

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

/** `<name>value</name>`, or nothing when the value is absent (AWS omits absent members). */
export function el(name: string, value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null) return "";
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<name>inner</name>` where inner is already XML. */
export function node(name: string, inner: string): string {
  return `<${name}>${inner}</${name}>`;
}

/** A Query-protocol list: `<name><member>…</member>…</name>`. */
export function members<T>(name: string, items: readonly T[], render: (item: T) => string): string {
  let inner = "";
  for (const item of items) inner += `<member>${render(item)}</member>`;
  return `<${name}>${inner}</${name}>`;
}

/** AWS timestamps in Query responses: ISO 8601, UTC, whole seconds ("2024-05-01T10:00:00Z"). */
export function isoDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** IAM returns policy documents URL-encoded (RFC 3986), e.g. in GetRole's AssumeRolePolicyDocument. */
export function encodePolicyDocument(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The success envelope; `result` is the inner XML of `<ActionResult>` or undefined for no output. */
export function renderResult(
  service: Service,
  action: string,
  result: string | undefined,
  requestId: string,
): string {
  const body = result === undefined ? "" : `<${action}Result>${result}</${action}Result>`;
  return (
    `<${action}Response xmlns="${NAMESPACES[service]}">${body}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

export function renderError(service: Service, err: AwsError, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${NAMESPACES[service]}"><Error><Type>${err.type}</Type>` +
    `${el("Code", err.code)}${el("Message", err.message)}</Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
