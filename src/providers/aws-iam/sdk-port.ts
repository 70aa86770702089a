/**
 * The IAM key port over the AWS SDK v3. Clients are built with maxAttempts 1 and explicit endpoints:
 * retries are ours (`retry.ts`, aware of CreateAccessKey's non-idempotence) and endpoints come from
 * `endpoints.ts` (so the caller's `env`, not `process.env`, decides overrides). Every request goes
 * through `callAws`, which gives each attempt a deadline (`request-timeout.ts`) and, given a pacer
 * (`pacing.ts`), waits for its turn before each attempt, retries included.
 */
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  type IAMClientConfig,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import { RekeyError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { Secret } from "../../secret.js";
import type { ResolvedEndpoints } from "./endpoints.js";
import { type AwsCallError, type CallContext, describeFailure, isThrottling, mapAwsError } from "./errors.js";
import { httpOptions } from "./http-options.js";
import { type AwsPacer, type PaceOutcome, serviceOf } from "./pacing.js";
import type {
  CallerIdentity,
  IamKeyPort,
  IamUser,
  KeyCredentials,
  KeyMeta,
  KeyStatus,
  NewKey,
  ProbeOptions,
} from "./port.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, withRequestTimeout } from "./request-timeout.js";
import { DEFAULT_RETRY, RetryGaveUp, type RetryPolicy, withRetry } from "./retry.js";

export { httpOptions } from "./http-options.js";

export type AwsCredentialsInput = NonNullable<IAMClientConfig["credentials"]>;

export interface SdkPortOptions {
  endpoints: ResolvedEndpoints;
  /** The admin credentials (static, assumed-role or a provider). */
  credentials: AwsCredentialsInput;
  /** For messages: e.g. `attached record "admin" (key AKIA...)`. Never a secret. */
  principal: string;
  retry?: RetryPolicy | undefined;
  /** Deadline of each request (each attempt), default DEFAULT_REQUEST_TIMEOUT_MS (10 s). */
  requestTimeoutMs?: number | undefined;
  logger?: Logger | undefined;
  /** Called while waiting between retries (the engine renews its lease there). */
  onWait?: (() => void) | undefined;
  /** Told of each retried AWS call, with why (the gateway's limiter slows an account IAM throttles). */
  onRetry?: ((r: AwsRetry) => void) | undefined;
  /** Told of each AWS call (once per call, retries aside): metrics. */
  onCall?: ((action: string) => void) | undefined;
  /** Paces every attempt (the gateway's per-account pacer); none: requests go at once. */
  pace?: AwsPacer | undefined;
}

/** A retried AWS call: what failed and whether it was throttling (never a secret). */
export interface AwsRetry {
  action: string;
  code: string;
  httpStatus: number | undefined;
  throttled: boolean;
}

/**
 * Run one SDK call with our retry policy, each attempt with a deadline (`fn` must hand the signal to
 * the SDK: `client.send(command, { abortSignal })`); failures come out mapped (AwsCallError).
 */
export async function callAws<T>(
  fn: (abortSignal: AbortSignal) => Promise<T>,
  callCtx: CallContext,
  opts: {
    idempotent: boolean;
    retry: RetryPolicy;
    requestTimeoutMs?: number | undefined;
    logger?: Logger | undefined;
    onWait?: (() => void) | undefined;
    onRetry?: ((r: AwsRetry) => void) | undefined;
    onCall?: ((action: string) => void) | undefined;
    pace?: AwsPacer | undefined;
  },
): Promise<T> {
  opts.onCall?.(callCtx.action);
  const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const ctx: CallContext = { ...callCtx, timeoutMs };
  const pace = opts.pace;
  const service = serviceOf(callCtx.action);
  // The deadline starts once the pacer lets the request go: waiting for a turn is not the request's time.
  const attempt = pace
    ? async () => {
        const ticket = await pace.take(service);
        try {
          const out = await withRequestTimeout(fn, timeoutMs);
          ticket.done("served");
          return out;
        } catch (err) {
          ticket.done(paceOutcome(err));
          throw err;
        }
      }
    : () => withRequestTimeout(fn, timeoutMs);
  try {
    return await withRetry(attempt, {
      policy: opts.retry,
      idempotent: opts.idempotent,
      onRetry: ({ attempt, delayMs, failure }) => {
        opts.logger?.debug(
          { action: ctx.action, attempt, delayMs, awsCode: failure.code, httpStatus: failure.httpStatus },
          "retrying AWS call",
        );
        opts.onRetry?.({
          action: ctx.action,
          code: failure.code,
          httpStatus: failure.httpStatus,
          throttled: isThrottling(failure),
        });
        opts.onWait?.();
      },
    });
  } catch (err) {
    // Not an AWS failure (e.g. the lease was lost while waiting to retry): pass it on as it is.
    if (err instanceof RekeyError) throw err;
    if (err instanceof RetryGaveUp) {
      throw mapAwsError(err.last, { ...ctx, attempts: err.attempts, outcomeUnknown: err.outcomeUnknown });
    }
    throw mapAwsError(err, ctx);
  }
}

/** Throttled; an AWS answer of any other kind (it used the quota); or no answer (a network failure). */
function paceOutcome(err: unknown): PaceOutcome {
  const f = describeFailure(err);
  if (isThrottling(f)) return "throttled";
  return f.httpStatus !== undefined ? "served" : "lost";
}

/**
 * One sts:GetCallerIdentity made with `credentials` (the admin's, opened by credentials.ts): who they are.
 * Needs no permission, so it proves only that the credentials authenticate.
 */
export async function callerIdentity(
  endpoints: ResolvedEndpoints,
  credentials: AwsCredentialsInput,
  opts: {
    principal: string;
    retry?: RetryPolicy | undefined;
    requestTimeoutMs?: number | undefined;
    logger?: Logger | undefined;
  },
): Promise<CallerIdentity> {
  const { stsClient, GetCallerIdentityCommand } = await import("./sts.js");
  const sts = stsClient(endpoints, credentials, opts.requestTimeoutMs);
  try {
    const out = await callAws(
      (abortSignal) => sts.send(new GetCallerIdentityCommand({}), { abortSignal }),
      { action: "sts:GetCallerIdentity", principal: opts.principal, endpoint: endpoints.sts },
      {
        idempotent: true,
        retry: opts.retry ?? DEFAULT_RETRY,
        requestTimeoutMs: opts.requestTimeoutMs,
        logger: opts.logger,
      },
    );
    return { arn: out.Arn ?? "", account: out.Account ?? "", userId: out.UserId ?? "" };
  } finally {
    sts.destroy();
  }
}

const isStatus = (s: unknown): s is KeyStatus => s === "Active" || s === "Inactive";

export function createSdkIamPort(opts: SdkPortOptions): IamKeyPort {
  const { endpoints, principal, logger } = opts;
  const retry = opts.retry ?? DEFAULT_RETRY;
  const iam = new IAMClient({
    region: endpoints.iamRegion,
    endpoint: endpoints.iam,
    credentials: opts.credentials,
    maxAttempts: 1,
    requestHandler: httpOptions(opts.requestTimeoutMs),
  });
  const probes: STSClient[] = [];
  const base = {
    retry,
    requestTimeoutMs: opts.requestTimeoutMs,
    logger,
    onWait: opts.onWait,
    onRetry: opts.onRetry,
    onCall: opts.onCall,
    pace: opts.pace,
  };
  const ctx = (action: string, userName?: string, keyId?: string): CallContext => ({
    action,
    userName,
    keyId,
    principal,
    endpoint: action.startsWith("sts:") ? endpoints.sts : endpoints.iam,
  });

  return {
    endpoints,
    principal,

    async getUser(userName): Promise<IamUser | "denied"> {
      try {
        const out = await callAws(
          (abortSignal) => iam.send(new GetUserCommand({ UserName: userName }), { abortSignal }),
          ctx("iam:GetUser", userName),
          {
            ...base,
            idempotent: true,
          },
        );
        const u = out.User;
        if (!u?.UserId || !u.Arn) throw new Error("GetUser answered without UserId/Arn");
        return { userName: u.UserName ?? userName, userId: u.UserId, arn: u.Arn };
      } catch (err) {
        if (
          (err as AwsCallError).code === "AccessDenied" ||
          (err as AwsCallError).code === "AccessDeniedException"
        )
          return "denied";
        throw err;
      }
    },

    async listKeys(userName): Promise<KeyMeta[]> {
      const keys: KeyMeta[] = [];
      let marker: string | undefined;
      do {
        const out = await callAws(
          (abortSignal) =>
            iam.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker }), { abortSignal }),
          ctx("iam:ListAccessKeys", userName),
          { ...base, idempotent: true },
        );
        for (const k of out.AccessKeyMetadata ?? []) {
          if (!k.AccessKeyId) continue;
          keys.push({
            accessKeyId: k.AccessKeyId,
            status: isStatus(k.Status) ? k.Status : "Inactive",
            createDate: k.CreateDate ?? new Date(0),
          });
        }
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
      return keys;
    },

    async createKey(userName): Promise<NewKey> {
      const out = await callAws(
        (abortSignal) => iam.send(new CreateAccessKeyCommand({ UserName: userName }), { abortSignal }),
        ctx("iam:CreateAccessKey", userName),
        { ...base, idempotent: false },
      );
      const k = out.AccessKey;
      if (!k?.AccessKeyId || !k.SecretAccessKey) {
        throw mapAwsError(
          new Error("CreateAccessKey answered without a key"),
          ctx("iam:CreateAccessKey", userName),
        );
      }
      return {
        accessKeyId: k.AccessKeyId,
        secret: new Secret(k.SecretAccessKey),
        status: isStatus(k.Status) ? k.Status : "Active",
        createDate: k.CreateDate ?? new Date(),
      };
    },

    async updateKey(userName, keyId, status) {
      try {
        await callAws(
          (abortSignal) =>
            iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keyId, Status: status }), {
              abortSignal,
            }),
          ctx("iam:UpdateAccessKey", userName, keyId),
          { ...base, idempotent: true },
        );
        return "updated";
      } catch (err) {
        if (isKeyNotFound(err)) return "absent";
        throw err;
      }
    },

    async deleteKey(userName, keyId) {
      try {
        await callAws(
          (abortSignal) =>
            iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: keyId }), { abortSignal }),
          ctx("iam:DeleteAccessKey", userName, keyId),
          { ...base, idempotent: true },
        );
        return "deleted";
      } catch (err) {
        if (isKeyNotFound(err)) return "absent";
        throw err;
      }
    },

    async lastUsed(userName, keyId) {
      try {
        const out = await callAws(
          (abortSignal) => iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: keyId }), { abortSignal }),
          ctx("iam:GetAccessKeyLastUsed", userName, keyId),
          { ...base, idempotent: true },
        );
        const u = out.AccessKeyLastUsed;
        if (!u?.LastUsedDate) return null;
        return { date: u.LastUsedDate, service: u.ServiceName ?? "N/A", region: u.Region ?? "N/A" };
      } catch (err) {
        const code = (err as AwsCallError).code;
        if (code === "AccessDenied" || code === "AccessDeniedException") return "denied";
        throw err;
      }
    },

    async whoAmI(creds: KeyCredentials, probe: ProbeOptions = {}): Promise<CallerIdentity> {
      const requestTimeoutMs = probe.requestTimeoutMs ?? opts.requestTimeoutMs;
      const { stsClient, GetCallerIdentityCommand } = await import("./sts.js");
      const sts = stsClient(
        endpoints,
        {
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secret.reveal(),
          ...(creds.sessionToken ? { sessionToken: creds.sessionToken.reveal() } : {}),
        },
        requestTimeoutMs,
      );
      probes.push(sts);
      try {
        const out = await callAws(
          (abortSignal) => sts.send(new GetCallerIdentityCommand({}), { abortSignal }),
          { action: "sts:GetCallerIdentity", principal: `key ${creds.accessKeyId}`, endpoint: endpoints.sts },
          {
            ...base,
            idempotent: true,
            requestTimeoutMs,
            ...(probe.maxAttempts !== undefined
              ? { retry: { ...retry, maxAttempts: probe.maxAttempts } }
              : {}),
          },
        );
        return { arn: out.Arn ?? "", account: out.Account ?? "", userId: out.UserId ?? "" };
      } finally {
        sts.destroy();
        probes.splice(probes.indexOf(sts), 1);
      }
    },

    close() {
      iam.destroy();
      for (const p of probes) p.destroy();
    },
  };
}

/** NoSuchEntity about the key (not the user): the key is already gone. */
function isKeyNotFound(err: unknown): boolean {
  const e = err as AwsCallError;
  return e?.code === "NoSuchEntity" && e.details?.missing === "key";
}
