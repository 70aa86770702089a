/**
 * The least-privilege IAM policy for rekey's admin credentials (pure; `rekey policy` prints it).
 * The seed's three actions are the base; a strategy adds what its entry in strategy-table.ts lists
 * (graceful: iam:UpdateAccessKey), and adoption, which deactivates the keys it found, adds
 * iam:UpdateAccessKey too (ADOPTION_IAM_ACTIONS); iam:GetUser
 * enables the UserId check (detects a deleted and re-created user); iam:GetAccessKeyLastUsed lets rekey
 * hold an old key an application still uses (retire.ts); `rekey discover` needs iam:ListUsers (its own
 * statement: it is not scoped to a user). sts:GetCallerIdentity needs no permission.
 */

import { usageError } from "../../errors.js";
import { DEFAULT_STRATEGY, type Strategy } from "../../rotation/settings.js";
import { strategyIamActions } from "../../rotation/strategy-table.js";
import type { Partition } from "./endpoints.js";

/** The seed's actions: every strategy creates, lists and deletes keys. */
const BASE_ACTIONS = ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:DeleteAccessKey"] as const;

export interface PolicyOptions {
  strategy?: Strategy | undefined;
  /** 12-digit AWS account id; any account ("*") when absent. */
  account?: string | undefined;
  partition?: Partition | undefined;
  /** Include iam:GetUser for the UserId check (default true). */
  checkUserId?: boolean | undefined;
  /** Include iam:GetAccessKeyLastUsed: hold an old key still in use (default true). */
  checkLastUse?: boolean | undefined;
  /** Adopted records (adopt_existing_keys): deactivate the keys found (iam:UpdateAccessKey). */
  adopt?: boolean | undefined;
  /** `rekey discover`: iam:ListUsers on the account. */
  discover?: boolean | undefined;
}

export interface IamPolicyDocument {
  Version: "2012-10-17";
  Statement: Array<{ Sid: string; Effect: "Allow"; Action: string[]; Resource: string }>;
}

export function policyFor(opts: PolicyOptions = {}): IamPolicyDocument {
  const {
    strategy = DEFAULT_STRATEGY,
    account,
    partition = "aws",
    checkUserId = true,
    checkLastUse = true,
  } = opts;
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw usageError(
      `"${account}" is not an AWS account id`,
      "an account id is 12 digits, e.g. 123456789012",
    );
  }
  const actions = [
    ...new Set<string>([...BASE_ACTIONS, ...strategyIamActions(strategy, opts.adopt === true)]),
  ];
  if (checkUserId) actions.push("iam:GetUser");
  if (checkLastUse) actions.push("iam:GetAccessKeyLastUsed");
  const statements: IamPolicyDocument["Statement"] = [
    {
      Sid: "RekeyRotateAccessKeys",
      Effect: "Allow",
      Action: actions,
      Resource: `arn:${partition}:iam::${account ?? "*"}:user/*`,
    },
  ];
  if (opts.discover) {
    statements.push({
      Sid: "RekeyDiscoverUsers",
      Effect: "Allow",
      Action: ["iam:ListUsers"],
      Resource: `arn:${partition}:iam::${account ?? "*"}:user/*`,
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** The policy as `rekey policy` prints it. */
export function policyJson(opts: PolicyOptions = {}): string {
  return `${JSON.stringify(policyFor(opts), null, 2)}\n`;
}
