/**
 * The IAM key port over the AWS SDK v3. Clients are built with maxAttempts 1 and explicit endpoints:
 * retries are ours (`retry.ts`, aware of CreateAccessKey's non-idempotence) and endpoints come from
 * `endpoints.ts` (so the caller's `env`, not `process.env`, decides overrides).
 */
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  IAMClient,
  type IAMClientConfig,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import type { ResolvedEndpoints } from "./endpoints.js";
import { type AwsCallError, type CallContext, mapAwsError } from "./errors.js";
import type {
  CallerIdentity,
  IamKeyPort,
  IamUser,
  KeyCredentials,
  KeyMeta,
  KeyStatus,
  NewKey,
} from "./port.js";
import { DEFAULT_RETRY, RetryGaveUp, type RetryPolicy, withRetry } from "./retry.js";

export type AwsCredentialsInput = NonNullable<IAMClientConfig["credentials"]>;

export interface AwsLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SdkPortOptions {
  endpoints: ResolvedEndpoints;
  /** The admin credentials (static, assumed-role or a provider). */
  credentials: AwsCredentialsInput;
  /** For messages: e.g. `attached record "admin" (key AKIA...)`. Never a secret. */
  principal: string;
  retry?: RetryPolicy | undefined;
  requestTimeoutMs?: number | undefined;
  logger?: AwsLogger | undefined;
  /** Called while waiting between retries (the engine renews its lease there). */
  onWait?: (() => void) | undefined;
}

export function httpOptions(requestTimeoutMs = 15_000) {
  return { connectionTimeout: Math.min(5_000, requestTimeoutMs), requestTimeout: requestTimeoutMs };
}

export function stsClient(
  endpoints: ResolvedEndpoints,
  credentials: AwsCredentialsInput,
  requestTimeoutMs?: number,
): STSClient {
  return new STSClient({
    region: endpoints.region,
    endpoint: endpoints.sts,
    credentials,
    maxAttempts: 1,
    requestHandler: httpOptions(requestTimeoutMs),
  });
}

/** Run one SDK call with our retry policy; failures come out mapped (AwsCallError). */
export async function callAws<T>(
  fn: () => Promise<T>,
  ctx: CallContext,
  opts: {
    idempotent: boolean;
    retry: RetryPolicy;
    logger?: AwsLogger | undefined;
    onWait?: (() => void) | undefined;
  },
): Promise<T> {
  try {
    return await withRetry(fn, {
      policy: opts.retry,
      idempotent: opts.idempotent,
      onRetry: ({ attempt, delayMs, failure }) => {
        opts.logger?.debug(
          { action: ctx.action, attempt, delayMs, awsCode: failure.code, httpStatus: failure.httpStatus },
          "retrying AWS call",
        );
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
  const base = { retry, logger, onWait: opts.onWait };
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
          () => iam.send(new GetUserCommand({ UserName: userName })),
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
          () => iam.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker })),
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
        () => iam.send(new CreateAccessKeyCommand({ UserName: userName })),
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
          () =>
            iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keyId, Status: status })),
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
          () => iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: keyId })),
          ctx("iam:DeleteAccessKey", userName, keyId),
          { ...base, idempotent: true },
        );
        return "deleted";
      } catch (err) {
        if (isKeyNotFound(err)) return "absent";
        throw err;
      }
    },

    async whoAmI(creds: KeyCredentials): Promise<CallerIdentity> {
      const sts = stsClient(
        endpoints,
        {
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secret.reveal(),
          ...(creds.sessionToken ? { sessionToken: creds.sessionToken.reveal() } : {}),
        },
        opts.requestTimeoutMs,
      );
      probes.push(sts);
      try {
        const out = await callAws(
          () => sts.send(new GetCallerIdentityCommand({})),
          { action: "sts:GetCallerIdentity", principal: `key ${creds.accessKeyId}`, endpoint: endpoints.sts },
          { ...base, idempotent: true },
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
