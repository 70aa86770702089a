/**
 * The entities of the sandbox's IAM world (accounts, users, access keys, policies, roles, STS
 * sessions), IAM's quotas, ARN builders and the AWS managed policies the sandbox knows.
 */
import { type PolicyDocument, type PolicyKind, parsePolicy } from "./policy-eval.js";

/** IAM's quotas, from the IAM and STS quotas page. A third key is the classic rotation failure. */
export const ACCESS_KEYS_PER_USER = 2;
export const MANAGED_POLICIES_PER_ENTITY = 10;
export const INLINE_USER_POLICY_MAX = 2048;
export const INLINE_ROLE_POLICY_MAX = 10240;
export const MANAGED_POLICY_MAX = 6144;

export type KeyStatus = "Active" | "Inactive";

export interface KeyUsage {
  date: number;
  service: string;
  region: string;
}

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  status: KeyStatus;
  createDate: number;
  /** Requests signed with the key are refused until then: the propagation-delay knob. */
  usableAfter: number;
  accountId: string;
  /** null for the account root's keys. */
  userName: string | null;
  lastUsed?: KeyUsage;
}

export interface StoredPolicy {
  text: string;
  doc: PolicyDocument;
}

export interface User {
  userName: string;
  path: string;
  userId: string;
  arn: string;
  createDate: number;
  accessKeys: AccessKey[];
  inlinePolicies: Map<string, StoredPolicy>;
  attachedPolicies: string[];
}

export interface ManagedPolicy {
  policyName: string;
  path: string;
  policyId: string;
  arn: string;
  description?: string;
  createDate: number;
  updateDate: number;
  policy: StoredPolicy;
}

export interface Role {
  roleName: string;
  path: string;
  roleId: string;
  arn: string;
  createDate: number;
  description?: string;
  maxSessionDuration: number;
  trustPolicy: StoredPolicy;
  inlinePolicies: Map<string, StoredPolicy>;
  attachedPolicies: string[];
  lastUsed?: { date: number; region: string };
}

export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: number;
  accountId: string;
  roleName: string;
  sessionName: string;
  sessionPolicy?: StoredPolicy;
  /** Assumed by a role session (role chaining): AWS caps these at one hour. */
  chained: boolean;
}

export interface Account {
  accountId: string;
  createDate: number;
  rootKeys: AccessKey[];
  /** Keyed by lowercased name: IAM names are unique case-insensitively. */
  users: Map<string, User>;
  roles: Map<string, Role>;
  /** Customer managed policies, keyed by ARN. */
  policies: Map<string, ManagedPolicy>;
}

function awsManaged(name: string, statements: unknown[]): ManagedPolicy {
  const text = JSON.stringify({ Version: "2012-10-17", Statement: statements });
  return {
    policyName: name,
    path: "/",
    policyId: `ANPA${name
      .toUpperCase()
      .replace(/[^A-Z]/g, "")
      .padEnd(17, "A")
      .slice(0, 17)}`,
    arn: `arn:aws:iam::aws:policy/${name}`,
    createDate: Date.UTC(2015, 1, 6, 18, 39, 46),
    updateDate: Date.UTC(2015, 1, 6, 18, 39, 46),
    policy: { text, doc: parsePolicy(text, "identity") },
  };
}

/** The AWS managed policies the sandbox knows (attachable by ARN, like in every real account). */
export const AWS_MANAGED_POLICIES: ReadonlyMap<string, ManagedPolicy> = new Map(
  [
    awsManaged("AdministratorAccess", [{ Effect: "Allow", Action: "*", Resource: "*" }]),
    awsManaged("IAMFullAccess", [
      { Effect: "Allow", Action: ["iam:*", "organizations:List*"], Resource: "*" },
    ]),
    awsManaged("IAMReadOnlyAccess", [
      { Effect: "Allow", Action: ["iam:GenerateCredentialReport", "iam:Get*", "iam:List*"], Resource: "*" },
    ]),
  ].map((p) => [p.arn, p]),
);

export const userArn = (accountId: string, path: string, name: string) =>
  `arn:aws:iam::${accountId}:user${path}${name}`;
export const roleArn = (accountId: string, path: string, name: string) =>
  `arn:aws:iam::${accountId}:role${path}${name}`;
export const policyArn = (accountId: string, path: string, name: string) =>
  `arn:aws:iam::${accountId}:policy${path}${name}`;

export function storePolicy(text: string, kind: PolicyKind): StoredPolicy {
  return { text, doc: parsePolicy(text, kind) };
}

export interface NewKeyOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  status?: KeyStatus;
  createDate?: number;
  usableAfter?: number;
  lastUsed?: KeyUsage;
}
