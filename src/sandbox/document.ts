/**
 * The sandbox's JSON document: the format of `--seed FILE`, of `POST /__admin/seed`, of
 * `GET /__admin/state` and of the `--state FILE` it persists to. One format, so a state file is also
 * a valid seed. Validation uses zod, imported lazily so that `rekey sandbox` without files starts
 * without it.
 */
import type { z } from "zod";
import { RekeyError } from "../errors.js";
import type { KeyStatus } from "./model.js";

/** A policy as JSON text or as the parsed object. */
export type PolicyJson = string | object;

export interface KeyDocument {
  /** Generated (AKIA…) when omitted. */
  accessKeyId?: string;
  /** Generated when omitted; left out of snapshots taken without secrets. */
  secretAccessKey?: string;
  status?: KeyStatus;
  createDate?: string;
  lastUsed?: { date: string; service: string; region: string };
}

export interface UserDocument {
  name: string;
  path?: string;
  userId?: string;
  createDate?: string;
  keys?: KeyDocument[];
  inlinePolicies?: Record<string, PolicyJson>;
  /** Policy ARNs, or names of customer managed policies of the same account. */
  attachedPolicies?: string[];
}

export interface ManagedPolicyDocument {
  name: string;
  document: PolicyJson;
  path?: string;
  policyId?: string;
  description?: string;
  createDate?: string;
}

export interface RoleDocument {
  name: string;
  trustPolicy: PolicyJson;
  path?: string;
  roleId?: string;
  description?: string;
  createDate?: string;
  maxSessionDuration?: number;
  inlinePolicies?: Record<string, PolicyJson>;
  attachedPolicies?: string[];
}

export interface SessionDocument {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
  accountId: string;
  roleName: string;
  sessionName: string;
  sessionPolicy?: PolicyJson;
  chained?: boolean;
}

export interface AccountDocument {
  accountId: string;
  createDate?: string;
  /** The account root's access keys (at most 2). */
  rootKeys?: KeyDocument[];
  policies?: ManagedPolicyDocument[];
  users?: UserDocument[];
  roles?: RoleDocument[];
}

export interface SandboxDocument {
  version?: 1;
  accounts?: AccountDocument[];
  /** Shorthand: entities of the default account. */
  policies?: ManagedPolicyDocument[];
  users?: UserDocument[];
  roles?: RoleDocument[];
  sessions?: SessionDocument[];
}

async function documentSchema() {
  const { z } = await import("zod");
  const name = z.string().regex(/^[\w+=,.@-]{1,64}$/, "must match [\\w+=,.@-]{1,64}");
  const path = z.string().regex(/^\/([\u0021-\u007e]*\/)?$/, "must start and end with /");
  const date = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 date");
  const policy = z.union([z.string(), z.record(z.string(), z.unknown())]);
  const policies = z.record(z.string(), policy);
  const key = z.strictObject({
    accessKeyId: z
      .string()
      .regex(/^[A-Z0-9]{16,128}$/, "must be 16-128 uppercase letters and digits")
      .optional(),
    secretAccessKey: z.string().min(1).optional(),
    status: z.enum(["Active", "Inactive"]).optional(),
    createDate: date.optional(),
    lastUsed: z.strictObject({ date, service: z.string(), region: z.string() }).optional(),
  });
  const user = z.strictObject({
    name,
    path: path.optional(),
    userId: z.string().optional(),
    createDate: date.optional(),
    keys: z.array(key).max(2).optional(),
    inlinePolicies: policies.optional(),
    attachedPolicies: z.array(z.string()).optional(),
  });
  const managed = z.strictObject({
    name,
    document: policy,
    path: path.optional(),
    policyId: z.string().optional(),
    description: z.string().optional(),
    createDate: date.optional(),
  });
  const role = z.strictObject({
    name,
    trustPolicy: policy,
    path: path.optional(),
    roleId: z.string().optional(),
    description: z.string().optional(),
    createDate: date.optional(),
    maxSessionDuration: z.number().int().min(3600).max(43200).optional(),
    inlinePolicies: policies.optional(),
    attachedPolicies: z.array(z.string()).optional(),
  });
  const account = z.strictObject({
    accountId: z.string().regex(/^\d{12}$/, "must be 12 digits"),
    createDate: date.optional(),
    rootKeys: z.array(key).max(2).optional(),
    policies: z.array(managed).optional(),
    users: z.array(user).optional(),
    roles: z.array(role).optional(),
  });
  const session = z.strictObject({
    accessKeyId: z.string(),
    secretAccessKey: z.string(),
    sessionToken: z.string(),
    expiration: date,
    accountId: z.string(),
    roleName: z.string(),
    sessionName: z.string(),
    sessionPolicy: policy.optional(),
    chained: z.boolean().optional(),
  });
  return z.strictObject({
    version: z.literal(1).optional(),
    accounts: z.array(account).optional(),
    policies: z.array(managed).optional(),
    users: z.array(user).optional(),
    roles: z.array(role).optional(),
    sessions: z.array(session).optional(),
  });
}

let schema: Promise<z.ZodType<SandboxDocument>> | undefined;

/** Validates a parsed JSON value as a sandbox document; `source` names it in the error. */
export async function parseDocument(value: unknown, source: string): Promise<SandboxDocument> {
  schema ??= documentSchema();
  const result = (await schema).safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);
  throw new RekeyError(
    "usage",
    `${source} is not a valid sandbox document: ${problems.slice(0, 5).join("; ")}`,
    {
      hint: "see the sandbox README section for the seed format (accounts, users, keys, policies, roles)",
    },
  );
}
