/**
 * The IAM key port: the few calls the rotation engine makes, nothing more. The engine sees only
 * this (and can be tested against any implementation); `sdk-port.ts` implements it with the AWS SDK.
 * Every method throws `AwsCallError` (a RekeyError naming the action and subject) on failure.
 */
import type { Secret } from "../../secret.js";
import type { ResolvedEndpoints } from "./endpoints.js";

export type KeyStatus = "Active" | "Inactive";

export interface KeyMeta {
  accessKeyId: string;
  status: KeyStatus;
  createDate: Date;
}

/** CreateAccessKey's answer: the only time AWS ever shows the secret. */
export interface NewKey extends KeyMeta {
  secret: Secret;
}

export interface KeyLastUsed {
  date: Date;
  /** The service it was last used with ("N/A" when unknown), for messages. */
  service: string;
  region: string;
}

export interface IamUser {
  userName: string;
  /** The stable id (AIDA...): a deleted and re-created user keeps its name but gets a new one. */
  userId: string;
  arn: string;
}

export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

export interface KeyCredentials {
  accessKeyId: string;
  secret: Secret;
  sessionToken?: Secret | undefined;
}

/** Limits for one probe, for a caller that polls (and so retries) by itself. */
export interface ProbeOptions {
  /** Attempts for this call (default: the port's retry policy); 1 when the caller's loop retries. */
  maxAttempts?: number | undefined;
  /** Deadline of each attempt (default: the port's requestTimeoutMs), e.g. the time left to poll. */
  requestTimeoutMs?: number | undefined;
}

export interface IamKeyPort {
  readonly endpoints: ResolvedEndpoints;
  /** Who the calls are made as, for messages: a description and key id, never a secret. */
  readonly principal: string;
  /** iam:GetUser; "denied" when the credentials may not call it (the seed's policy lacks it). */
  getUser(userName: string): Promise<IamUser | "denied">;
  listKeys(userName: string): Promise<KeyMeta[]>;
  /**
   * iam:CreateAccessKey. Throws an `AwsCallError` with `outcomeUnknown` when the call may have
   * created a key we did not see (the caller must list keys before anything else).
   */
  createKey(userName: string): Promise<NewKey>;
  /** iam:UpdateAccessKey; "absent" if the key no longer exists. */
  updateKey(userName: string, keyId: string, status: KeyStatus): Promise<"updated" | "absent">;
  /** iam:DeleteAccessKey; "absent" if it was already gone (idempotent). */
  deleteKey(userName: string, keyId: string): Promise<"deleted" | "absent">;
  /**
   * iam:GetAccessKeyLastUsed: when the key last signed a successful request (IAM reports it to the minute,
   * and may take a while to show a use); null when never used; "denied" when the credentials may not ask.
   */
  lastUsed(userName: string, keyId: string): Promise<KeyLastUsed | null | "denied">;
  /** One sts:GetCallerIdentity made with `creds` (not the admin's): proves a key works. */
  whoAmI(creds: KeyCredentials, probe?: ProbeOptions): Promise<CallerIdentity>;
  /** Free sockets (the process can exit). */
  close(): void;
}
