/**
 * Pick the admin credentials: try each candidate source in order; the first that can list the target
 * user's keys wins (the seed accepts the default chain only after such a test; we hold every source to
 * it, so a stale key in a record falls through to the next source instead of failing mid-rotation).
 * A source that fails for a credential reason (unknown key, bad signature, access denied, no
 * credentials) is noted and the next is tried; any other failure (user not found, endpoint down)
 * stops at once. If none works, one error lists every source and why.
 */

import { RekeyError } from "../../errors.js";
import type { RotationLogger } from "../../rotation/types.js";
import { openCredentials } from "./credentials.js";
import type { ResolvedEndpoints } from "./endpoints.js";
import { AwsCallError } from "./errors.js";
import type { AwsPacer } from "./pacing.js";
import type { IamKeyPort, IamUser, KeyMeta } from "./port.js";
import type { RetryPolicy } from "./retry.js";
import type { AwsRetry } from "./sdk-port.js";
import { createSdkIamPort } from "./sdk-port.js";
import type { CredentialCandidate, SourceKind } from "./sources.js";

export interface CredentialSourceInfo {
  kind: SourceKind;
  /** e.g. `attached record "admin" (UID ...): access key AKIA...`. Never a secret. */
  description: string;
  /** The access key id of the source (for AssumeRole, the key that signed it). */
  keyId: string | undefined;
  recordUid: string | undefined;
}

export interface ResolvedAdmin {
  port: IamKeyPort;
  source: CredentialSourceInfo;
  /** The target user's keys, as listed by the successful test. */
  keys: KeyMeta[];
  /** Sources tried before this one, and why they failed. */
  skipped: string[];
  /**
   * With `prefetchUser`: iam:GetUser on the target user, asked with these credentials alongside the
   * ListAccessKeys test (its outcome, failures included, is this promise's).
   */
  user?: Promise<IamUser | "denied"> | undefined;
}

export interface ResolveAdminOptions {
  userName: string;
  endpoints: ResolvedEndpoints;
  retry?: RetryPolicy | undefined;
  requestTimeoutMs?: number | undefined;
  logger: RotationLogger;
  onWait?: (() => void) | undefined;
  onRetry?: ((r: AwsRetry) => void) | undefined;
  onCall?: ((action: string) => void) | undefined;
  pace?: AwsPacer | undefined;
  wrapPort?: ((port: IamKeyPort) => IamKeyPort) | undefined;
  /**
   * Also send iam:GetUser (the engine's UserId check) with each candidate, at the same time as its
   * ListAccessKeys test, instead of one round trip after it: a read, like the test. A candidate that fails
   * the test drops its answer.
   */
  prefetchUser?: boolean | undefined;
}

function isCredentialFailure(err: unknown): boolean {
  if (err instanceof AwsCallError) {
    return err.kind === "auth";
  }
  return err instanceof RekeyError && err.kind === "auth";
}

function reason(err: unknown): string {
  if (err instanceof RekeyError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export async function resolveAdminCredentials(
  candidates: CredentialCandidate[],
  opts: ResolveAdminOptions,
): Promise<ResolvedAdmin> {
  const tried: string[] = [];
  for (const c of candidates) {
    if (!c.spec) {
      tried.push(`${c.label}: ${c.problem ?? "not usable"}`);
      continue;
    }
    let opened: Awaited<ReturnType<typeof openCredentials>>;
    try {
      opened = await openCredentials(c.spec, {
        endpoints: opts.endpoints,
        retry: opts.retry,
        requestTimeoutMs: opts.requestTimeoutMs,
        logger: opts.logger,
      });
    } catch (err) {
      // A role that is missing, not assumable, or a bad session name: this source is not usable.
      const skippable = err instanceof RekeyError && ["auth", "not-found", "usage"].includes(err.kind);
      if (!skippable) throw err;
      tried.push(`${c.label}: ${reason(err)}`);
      continue;
    }
    let port: IamKeyPort | undefined;
    try {
      const description = `${c.label}: ${opened.via}`;
      const sdkPort = createSdkIamPort({
        endpoints: opts.endpoints,
        credentials: opened.credentials,
        principal: description,
        retry: opts.retry,
        requestTimeoutMs: opts.requestTimeoutMs,
        logger: opts.logger,
        onWait: opts.onWait,
        onRetry: opts.onRetry,
        onCall: opts.onCall,
        pace: opts.pace,
      });
      port = opts.wrapPort ? opts.wrapPort(sdkPort) : sdkPort;
      const listed = port.listKeys(opts.userName);
      const user = opts.prefetchUser ? port.getUser(opts.userName) : undefined;
      // Awaited by the engine only if this candidate wins; never an unhandled rejection otherwise.
      user?.catch(() => undefined);
      const keys = await listed;
      opts.logger.info(
        { source: c.kind, recordUid: c.recordUid, keyId: opened.keyId },
        `admin credentials: ${description}`,
      );
      return {
        port,
        keys,
        skipped: tried,
        source: { kind: c.kind, description, keyId: opened.keyId, recordUid: c.recordUid },
        ...(user ? { user } : {}),
      };
    } catch (err) {
      port?.close();
      if (!isCredentialFailure(err)) throw err;
      opts.logger.debug(
        { source: c.kind, recordUid: c.recordUid, reason: reason(err) },
        "credential source not usable",
      );
      tried.push(`${c.label}: ${reason(err)}`);
    }
  }
  throw new RekeyError(
    "auth",
    `no usable AWS admin credentials to rotate IAM user "${opts.userName}"; tried:\n${tried.map((t) => `  - ${t}`).join("\n")}`,
    {
      hint:
        "attach a credential record (rotation_credentials field or --credentials) with aws_access_key_id/aws_secret_access_key " +
        "(and role_arn to assume a role), or set accessKeyId/accessSecretKey on the PAM configuration; " +
        "the identity needs the policy printed by `rekey policy`",
      details: { tried },
    },
  );
}
