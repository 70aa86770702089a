/**
 * AWS SDK errors → rekey errors. Every message names the action and its subject (user, key id) and
 * says what to do. The SDK error is not kept as `cause`: its `$response` may carry request headers,
 * so only its code, HTTP status and request id travel on (in `details`).
 */
import { type ErrorKind, RekeyError } from "../../errors.js";
import { seconds } from "./request-timeout.js";

/** The facts we use from any error the SDK (or the network) throws. */
export interface AwsFailure {
  /** The wire error code ("AccessDenied", "NoSuchEntity", "Throttling"...) or a network code. */
  code: string;
  message: string;
  httpStatus?: number | undefined;
  requestId?: string | undefined;
  /** True when no HTTP answer came back (connection refused/reset, timeout). */
  network: boolean;
  /** A network failure that is a timeout: no answer came back in time. */
  timedOut: boolean;
}

const THROTTLING = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "SlowDown",
  "PriorRequestNotComplete",
  "EC2ThrottledException",
]);

/** Codes that mean the request never reached a server that could have acted on it. */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ConnectTimeout",
]);

/**
 * The SDK handler's connectionTimeout (a TimeoutError like the others, told apart only by its
 * message): the socket never connected, so the request was never sent.
 */
const CONNECT_TIMEOUT = /did not establish a connection/;

/** Network codes that mean "no answer in time" (ours, the SDK handler's, the socket's). */
const TIMED_OUT = new Set(["TimeoutError", "ETIMEDOUT", "RequestTimeout", "RequestTimeoutException"]);

const NETWORK = new Set([
  ...NOT_SENT,
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "NetworkingError",
  "socket hang up",
  "UND_ERR_SOCKET",
]);

export function describeFailure(err: unknown): AwsFailure {
  const e = (err ?? {}) as Record<string, unknown> & {
    $metadata?: { httpStatusCode?: number; requestId?: string };
  };
  const status = e.$metadata?.httpStatusCode;
  const rawCode =
    (typeof e.Code === "string" && e.Code) ||
    (typeof e.code === "string" && e.code) ||
    (typeof e.name === "string" && e.name) ||
    "Unknown";
  const message = typeof e.message === "string" ? e.message : String(err);
  // Modelled IAM errors are named "NoSuchEntityException" while the wire code is "NoSuchEntity".
  const code =
    status === undefined && CONNECT_TIMEOUT.test(message)
      ? "ConnectTimeout"
      : typeof e.Code === "string"
        ? rawCode
        : rawCode.replace(/Exception$/, "");
  const network =
    status === undefined &&
    (NETWORK.has(code) || NETWORK.has(rawCode) || /socket hang up|ECONNRESET|ETIMEDOUT/.test(message));
  const timedOut = network && TIMED_OUT.has(code);
  return { code, message, httpStatus: status, requestId: e.$metadata?.requestId, network, timedOut };
}

/** Codes that only ever mean a request time too far from the server's clock. */
const CLOCK_SKEW_CODES = new Set(["RequestExpired", "RequestInTheFuture", "RequestTimeTooSkewed"]);
/**
 * AWS's own words when the clock is off, as IAM and STS answer them (SignatureDoesNotMatch,
 * "Signature expired: 20240101T000000Z is now earlier than 20240101T001500Z (20240101T003000Z - 15
 * min.)" or "Signature not yet current: ...") and JSON services (InvalidSignatureException).
 */
const CLOCK_SKEW_MESSAGE = /Signature expired|Signature not yet current|time(?:stamp)? too skewed/i;

/**
 * The request was refused because this machine's clock is more than 15 minutes from AWS's: not a
 * wrong secret, although IAM answers it with SignatureDoesNotMatch.
 */
export function isClockSkew(f: AwsFailure): boolean {
  if (CLOCK_SKEW_CODES.has(f.code)) return true;
  const signature =
    f.code === "SignatureDoesNotMatch" ||
    f.code === "InvalidSignature" ||
    f.code === "InvalidSignatureException";
  return signature && CLOCK_SKEW_MESSAGE.test(f.message);
}

export function isThrottling(f: AwsFailure): boolean {
  return THROTTLING.has(f.code) || f.httpStatus === 429;
}

export function isServerError(f: AwsFailure): boolean {
  return (
    (f.httpStatus !== undefined && f.httpStatus >= 500) ||
    f.code === "ServiceFailure" ||
    f.code === "InternalFailure" ||
    f.code === "ServiceUnavailable"
  );
}

export function isNetworkError(f: AwsFailure): boolean {
  return f.network;
}

/** The request certainly did not reach AWS (safe to retry even a non-idempotent call). */
export function certainlyNotSent(f: AwsFailure): boolean {
  return f.network && NOT_SENT.has(f.code);
}

/** Codes that mean "these credentials cannot be used" (try the next credential source). */
const CREDENTIAL_CODES = new Set([
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "UnrecognizedClientException",
  "UnrecognizedClient",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidAccessKeyId",
  "IncompleteSignature",
  "AuthFailure",
  "CredentialsProviderError",
  "AccessDenied",
  "AccessDeniedException",
]);

export function isCredentialProblem(f: AwsFailure): boolean {
  return CREDENTIAL_CODES.has(f.code) && !isClockSkew(f);
}

/** A failed AWS call, mapped. `code` is AWS's code; `action` is e.g. "iam:CreateAccessKey". */
export class AwsCallError extends RekeyError {
  readonly code: string;
  readonly action: string;
  /** A CreateAccessKey that may or may not have happened (network error or 5xx after sending). */
  readonly outcomeUnknown: boolean;

  constructor(
    kind: ErrorKind,
    message: string,
    opts: { hint?: string; code: string; action: string; failure?: AwsFailure; outcomeUnknown?: boolean },
  ) {
    super(kind, message, {
      hint: opts.hint,
      details: {
        awsCode: opts.code,
        action: opts.action,
        ...(opts.failure?.httpStatus === undefined ? {} : { httpStatus: opts.failure.httpStatus }),
        ...(opts.failure?.requestId ? { requestId: opts.failure.requestId } : {}),
      },
    });
    this.name = "AwsCallError";
    this.code = opts.code;
    this.action = opts.action;
    this.outcomeUnknown = opts.outcomeUnknown ?? false;
  }
}

export interface CallContext {
  /** "iam:ListAccessKeys" */
  action: string;
  userName?: string | undefined;
  keyId?: string | undefined;
  /** Who made the call, for auth errors: "attached record \"admin\" (key AKIA...)". */
  principal?: string | undefined;
  /** Where the call went (endpoint URL), for network errors. */
  endpoint?: string | undefined;
  /** The per-request deadline, for "no answer within N s". */
  timeoutMs?: number | undefined;
  attempts?: number | undefined;
  /** The call was not idempotent and failed after it may have taken effect. */
  outcomeUnknown?: boolean | undefined;
}

const POLICY_HINT = "grant it to the admin credentials: `rekey policy` prints the least-privilege IAM policy";

/** Map any error from an AWS call to a rekey error that names the action, its subject and the fix. */
export function mapAwsError(err: unknown, ctx: CallContext): AwsCallError {
  if (err instanceof AwsCallError) return err;
  const f = describeFailure(err);
  const subject = ctx.keyId
    ? `access key ${ctx.keyId} of IAM user "${ctx.userName}"`
    : ctx.userName
      ? `IAM user "${ctx.userName}"`
      : "";
  const on = subject ? ` on ${subject}` : "";
  const by = ctx.principal ? ` (credentials: ${ctx.principal})` : "";
  const mk = (kind: ErrorKind, message: string, hint?: string, missing?: "key" | "user") => {
    const e = new AwsCallError(kind, message, {
      hint,
      code: f.code,
      action: ctx.action,
      failure: f,
      outcomeUnknown: ctx.outcomeUnknown ?? false,
    });
    if (missing && e.details) e.details.missing = missing;
    return e;
  };

  // Before the switch: IAM says SignatureDoesNotMatch, but the secret may well be right.
  if (isClockSkew(f)) {
    const e = mk(
      "aws",
      `AWS refused ${ctx.action}${on}${by}: this machine's clock differs from AWS's by more than 15 minutes (AWS said: ${f.code}: ${f.message})`,
      "fix the time (NTP) on this machine, e.g. `timedatectl set-ntp true` on Linux, then run again",
    );
    if (e.details) e.details.clockSkew = true;
    return e;
  }
  switch (f.code) {
    case "AccessDenied":
    case "AccessDeniedException":
    case "UnauthorizedOperation":
      return mk("auth", `AWS denied ${ctx.action}${on}${by}: ${f.message}`, POLICY_HINT);
    case "NoSuchEntity":
      if (ctx.keyId && /access ?key/i.test(f.message)) {
        return mk("not-found", `${subject} not found`, "list the user's keys: rekey rotate --dry-run", "key");
      }
      return mk(
        "not-found",
        ctx.userName ? `IAM user "${ctx.userName}" not found` : `not found: ${f.message}`,
        "check the record's login field (the IAM user name), or create the user in IAM",
        "user",
      );
    case "LimitExceeded":
      return mk(
        "conflict",
        `AWS refused ${ctx.action}${on}: ${f.message} (an IAM user may have at most 2 access keys, active or inactive)`,
        "delete a key the user no longer needs, or set delete_all_keys_before_rotating=True or rotation_strategy=graceful on the record",
      );
    case "InvalidClientTokenId":
    case "UnrecognizedClient":
    case "UnrecognizedClientException":
    case "InvalidAccessKeyId":
      return mk(
        "auth",
        `AWS does not recognize the access key id of the credentials used for ${ctx.action}${by}`,
        "the admin key was deleted, deactivated or mistyped: update the credential record",
      );
    case "SignatureDoesNotMatch":
    case "IncompleteSignature":
      return mk(
        "auth",
        `AWS rejected the signature of ${ctx.action}${by}: the secret key does not match the access key id`,
        "update the secret access key in the credential record",
      );
    case "ExpiredToken":
    case "ExpiredTokenException":
      return mk(
        "auth",
        `the session token of the credentials used for ${ctx.action} has expired${by}`,
        "refresh the credentials (for example `aws sso login`)",
      );
    case "CredentialsProviderError":
      return mk("auth", `no AWS credentials found for ${ctx.action}: ${f.message}`);
    default:
      break;
  }
  const tries = ctx.attempts && ctx.attempts > 1 ? ` after ${ctx.attempts} attempts` : "";
  if (isThrottling(f)) {
    return mk(
      "aws",
      `AWS kept throttling ${ctx.action}${on}${tries} (${f.code})`,
      "retry later, or rotate fewer users at once in this account",
    );
  }
  const where = ctx.endpoint ? ` from ${ctx.endpoint}` : "";
  const within = ctx.timeoutMs === undefined ? "in time" : `within ${seconds(ctx.timeoutMs)} s`;
  if (f.timedOut && ctx.outcomeUnknown) {
    return mk(
      "aws",
      `${ctx.action}${on}: no answer ${within}${where}; its outcome is unknown`,
      "run the same command again: rekey checks the user's keys before doing anything else",
    );
  }
  if (f.timedOut) {
    return mk(
      "aws",
      `${ctx.action}${on}: no answer ${within}${where}${tries}`,
      "check the network, the region and any --endpoint-url / AWS_ENDPOINT_URL setting; if AWS is only slow, raise the request timeout",
    );
  }
  if (ctx.outcomeUnknown) {
    return mk(
      "aws",
      `${ctx.action}${on} failed in a way that leaves its outcome unknown (${f.code})`,
      "run the same command again: rekey checks the user's keys before doing anything else",
    );
  }
  if (f.network) {
    return mk(
      "aws",
      `could not reach AWS for ${ctx.action}${on}${ctx.endpoint ? ` at ${ctx.endpoint}` : ""}${tries}: ${f.code}`,
      "check the network, the region and any --endpoint-url / AWS_ENDPOINT_URL setting",
    );
  }
  if (isServerError(f)) {
    return mk("aws", `AWS failed ${ctx.action}${on}${tries}: ${f.code}: ${f.message}`, "retry later");
  }
  return mk("aws", `AWS refused ${ctx.action}${on}: ${f.code}: ${f.message}`);
}
