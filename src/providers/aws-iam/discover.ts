/**
 * What `rekey discover` asks AWS: who the admin credentials are (sts:GetCallerIdentity), the account's IAM
 * users (iam:ListUsers, every page, under a path prefix), and each user's keys with their last use
 * (iam:ListAccessKeys, iam:GetAccessKeyLastUsed, through the IAM key port). Read-only: nothing here
 * changes IAM. Every request goes through `callAws` (our retry policy, a deadline per attempt, errors
 * mapped to AwsCallError naming the action) and the proxy-aware handler, exactly as the key port's.
 */
import { IAMClient, ListUsersCommand } from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { AwsCallError, CallContext } from "./errors.js";
import type { CallerIdentity, KeyLastUsed, KeyMeta } from "./port.js";
import { DEFAULT_RETRY } from "./retry.js";
import { callAws, createSdkIamPort, httpOptions, type SdkPortOptions } from "./sdk-port.js";
import { stsClient } from "./sts.js";

export interface IamUserSummary {
  userName: string;
  /** IAM's stable id (AIDA...): a re-created user keeps its name, not this. */
  userId: string;
  arn: string;
  path: string;
  createDate: Date;
}

export interface DiscoveredKey extends KeyMeta {
  /** null: never used; "denied": the credentials may not call iam:GetAccessKeyLastUsed. */
  lastUsed: KeyLastUsed | null | "denied";
}

export interface DiscoveredUser extends IamUserSummary {
  /** "denied": the credentials may not call iam:ListAccessKeys on this user. */
  keys: DiscoveredKey[] | "denied";
}

export interface AccountDiscovery {
  /** Who the calls are made as, for messages (never a secret). */
  readonly principal: string;
  /** sts:GetCallerIdentity of the admin credentials (needs no permission): the account they act in. */
  callerIdentity(): Promise<CallerIdentity>;
  /** iam:ListUsers, every page; `pathPrefix` as IAM takes it ("/apps/"), default "/" (all users). */
  listUsers(pathPrefix?: string): Promise<IamUserSummary[]>;
  /** The user's keys and each key's last use. */
  describeUser(user: IamUserSummary): Promise<DiscoveredUser>;
  close(): void;
}

const isDenied = (err: unknown) => {
  const code = (err as AwsCallError)?.code;
  return code === "AccessDenied" || code === "AccessDeniedException";
};

/**
 * @example
 * const d = openAccountDiscovery({ endpoints, credentials, principal: "record \"admin\"" });
 * try { const users = await d.listUsers("/apps/"); } finally { d.close(); }
 */
export function openAccountDiscovery(opts: SdkPortOptions): AccountDiscovery {
  const { endpoints, principal } = opts;
  const base = {
    idempotent: true,
    retry: opts.retry ?? DEFAULT_RETRY,
    requestTimeoutMs: opts.requestTimeoutMs,
    logger: opts.logger,
    onWait: opts.onWait,
  };
  const iam = new IAMClient({
    region: endpoints.iamRegion,
    endpoint: endpoints.iam,
    credentials: opts.credentials,
    maxAttempts: 1,
    requestHandler: httpOptions(opts.requestTimeoutMs),
  });
  const sts = stsClient(endpoints, opts.credentials, opts.requestTimeoutMs);
  // The key port already knows ListAccessKeys (paginated) and GetAccessKeyLastUsed ("denied" mapped).
  const port = createSdkIamPort(opts);
  const ctx = (action: string, endpoint: string): CallContext => ({ action, principal, endpoint });

  return {
    principal,

    async callerIdentity() {
      const out = await callAws(
        (abortSignal) => sts.send(new GetCallerIdentityCommand({}), { abortSignal }),
        ctx("sts:GetCallerIdentity", endpoints.sts),
        base,
      );
      return { arn: out.Arn ?? "", account: out.Account ?? "", userId: out.UserId ?? "" };
    },

    async listUsers(pathPrefix = "/") {
      const users: IamUserSummary[] = [];
      let marker: string | undefined;
      do {
        const out = await callAws(
          (abortSignal) =>
            iam.send(new ListUsersCommand({ PathPrefix: pathPrefix, Marker: marker }), { abortSignal }),
          ctx("iam:ListUsers", endpoints.iam),
          base,
        );
        for (const u of out.Users ?? []) {
          if (!u.UserName || !u.UserId) continue;
          users.push({
            userName: u.UserName,
            userId: u.UserId,
            arn: u.Arn ?? "",
            path: u.Path ?? "/",
            createDate: u.CreateDate ?? new Date(0),
          });
        }
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
      return users;
    },

    async describeUser(user) {
      let keys: KeyMeta[];
      try {
        keys = await port.listKeys(user.userName);
      } catch (err) {
        if (isDenied(err)) return { ...user, keys: "denied" };
        throw err;
      }
      const described: DiscoveredKey[] = [];
      for (const k of keys) {
        described.push({ ...k, lastUsed: await port.lastUsed(user.userName, k.accessKeyId) });
      }
      return { ...user, keys: described };
    },

    close() {
      iam.destroy();
      sts.destroy();
      port.close();
    },
  };
}

/**
 * Every user's keys, at most `concurrency` users at a time (IAM throttles bursts; throttling is retried
 * by callAws), in the order given.
 */
export async function describeUsers(
  discovery: AccountDiscovery,
  users: readonly IamUserSummary[],
  concurrency = 4,
): Promise<DiscoveredUser[]> {
  const out: DiscoveredUser[] = new Array(users.length);
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const i = next++;
      out[i] = await discovery.describeUser(users[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, users.length) }, worker));
  return out;
}
