/**
 * Admin credential specs → SDK credentials. The rotation engine decides *which* source (records,
 * PAM configuration, default chain); this file only knows how to turn one into usable credentials.
 * AssumeRole is signed with the key found beside the role ARN, not with ambient credentials (the
 * seed's bug).
 */
import { RekeyError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { proxyConfigured } from "../../proxy.js";
import type { Secret } from "../../secret.js";
import type { ResolvedEndpoints } from "./endpoints.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, withRequestTimeout } from "./request-timeout.js";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
import { type AwsCredentialsInput, callAws, httpOptions } from "./sdk-port.js";

export type AdminCredentialSpec =
  | { kind: "static"; accessKeyId: string; secret: Secret; sessionToken?: Secret | undefined }
  | {
      kind: "assume-role";
      roleArn: string;
      externalId?: string | undefined;
      sessionName?: string | undefined;
      /** The key that signs sts:AssumeRole. */
      accessKeyId: string;
      secret: Secret;
      /**
       * Seed compatibility (`seed_assume_role_ambient`): sign sts:AssumeRole with the machine's ambient
       * credentials (the default chain, read from this env) as the seed's script does, not with the key above.
       */
      ambientEnv?: Record<string, string | undefined> | undefined;
    }
  | { kind: "default-chain"; env: Record<string, string | undefined> };

export interface OpenedCredentials {
  credentials: AwsCredentialsInput;
  /** The access key id in use (for logs), when known. */
  keyId?: string | undefined;
  /** e.g. "assumed arn:aws:iam::1:role/r", "environment variables", "shared config / instance role". */
  via: string;
}

export interface OpenOptions {
  endpoints: ResolvedEndpoints;
  retry?: RetryPolicy | undefined;
  requestTimeoutMs?: number | undefined;
  logger?: Logger | undefined;
}

const SESSION_NAME_RE = /^[\w+=,.@-]{2,64}$/;

export async function openCredentials(
  spec: AdminCredentialSpec,
  opts: OpenOptions,
): Promise<OpenedCredentials> {
  switch (spec.kind) {
    case "static":
      return {
        credentials: {
          accessKeyId: spec.accessKeyId,
          secretAccessKey: spec.secret.reveal(),
          ...(spec.sessionToken ? { sessionToken: spec.sessionToken.reveal() } : {}),
        },
        keyId: spec.accessKeyId,
        via: `access key ${spec.accessKeyId}`,
      };
    case "assume-role":
      return assumeRole(spec, opts);
    case "default-chain":
      return defaultChain(spec.env, opts);
  }
}

async function assumeRole(
  spec: Extract<AdminCredentialSpec, { kind: "assume-role" }>,
  opts: OpenOptions,
): Promise<OpenedCredentials> {
  const sessionName = spec.sessionName ?? "rekey-rotation";
  if (!SESSION_NAME_RE.test(sessionName)) {
    throw new RekeyError("usage", `role_session_name "${sessionName}" is not a valid session name`, {
      hint: "use 2-64 characters from letters, digits and + = , . @ _ -",
    });
  }
  const ambient = spec.ambientEnv ? await defaultChain(spec.ambientEnv, opts) : undefined;
  const signer = ambient ? `ambient credentials (${ambient.via})` : `key ${spec.accessKeyId}`;
  const { stsClient, AssumeRoleCommand } = await import("./sts.js");
  const sts = stsClient(
    opts.endpoints,
    ambient?.credentials ?? { accessKeyId: spec.accessKeyId, secretAccessKey: spec.secret.reveal() },
    opts.requestTimeoutMs,
  );
  try {
    const out = await callAws(
      (abortSignal) =>
        sts.send(
          new AssumeRoleCommand({
            RoleArn: spec.roleArn,
            RoleSessionName: sessionName,
            ...(spec.externalId ? { ExternalId: spec.externalId } : {}),
            DurationSeconds: 3600,
          }),
          { abortSignal },
        ),
      { action: "sts:AssumeRole", principal: signer, endpoint: opts.endpoints.sts },
      {
        idempotent: true,
        retry: opts.retry ?? DEFAULT_RETRY,
        requestTimeoutMs: opts.requestTimeoutMs,
        logger: opts.logger,
      },
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) {
      throw new RekeyError("aws", `sts:AssumeRole on ${spec.roleArn} answered without credentials`);
    }
    return {
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        ...(c.Expiration ? { expiration: c.Expiration } : {}),
      },
      keyId: ambient ? ambient.keyId : spec.accessKeyId,
      via: `role ${spec.roleArn} assumed with ${ambient ? signer : `access key ${spec.accessKeyId}`}${spec.externalId ? " and an external id" : ""}`,
    };
  } finally {
    sts.destroy();
  }
}

/**
 * The SDK's default chain. Its first link (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) is read from
 * the `env` we were given, so callers and tests control it; the other links (shared config and SSO
 * profiles, credential_process, web identity, ECS, EC2 instance role) come from
 * `fromNodeProviderChain`, loaded only when needed.
 */
async function defaultChain(
  env: Record<string, string | undefined>,
  opts: OpenOptions,
): Promise<OpenedCredentials> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && !env.AWS_PROFILE) {
    return {
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      },
      keyId: env.AWS_ACCESS_KEY_ID,
      via: `environment variables (access key ${env.AWS_ACCESS_KEY_ID})`,
    };
  }
  const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
  const provider = fromNodeProviderChain({
    ...(env.AWS_PROFILE ? { profile: env.AWS_PROFILE } : {}),
    // Off EC2 the instance metadata service does not answer: do not wait long for it.
    timeout: 1000,
    maxRetries: 0,
    // The STS and SSO clients the chain makes (role profiles, web identity, SSO) go through HTTPS_PROXY like
    // ours; the instance and container metadata services are link-local and are always reached directly.
    ...(proxyConfigured() ? { clientConfig: { requestHandler: httpOptions(opts.requestTimeoutMs) } } : {}),
  });
  let keyId: string;
  try {
    // The chain may call SSO, STS or a credential_process: bounded like any AWS request.
    keyId = (await withRequestTimeout(() => provider(), opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS))
      .accessKeyId;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new RekeyError("auth", `the AWS default credential chain found no credentials: ${message}`, {
      details: { awsCode: "CredentialsProviderError" },
    });
  }
  opts.logger?.debug({ keyId }, "default credential chain resolved");
  return {
    credentials: provider,
    keyId,
    via: `${env.AWS_PROFILE ? `profile ${env.AWS_PROFILE}` : "shared config, SSO, container or instance role"} (access key ${keyId})`,
  };
}
