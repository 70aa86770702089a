/**
 * The least-privilege IAM policy for rekey's admin credentials (pure; `rekey policy` prints it).
 * The seed's three actions are enough for create-then-delete and delete-then-create;
 * graceful adds iam:UpdateAccessKey (deactivate), and iam:GetUser enables the UserId check
 * (detects a deleted and re-created user). sts:GetCallerIdentity needs no permission.
 */

import type { Partition } from "../aws/endpoints.js";
import { usageError } from "../errors.js";
import type { Strategy } from "./settings.js";

export interface PolicyOptions {
  strategy?: Strategy | undefined;
  /** 12-digit AWS account id; any account ("*") when absent. */
  account?: string | undefined;
  partition?: Partition | undefined;
  /** Include iam:GetUser for the UserId check (default true). */
  checkUserId?: boolean | undefined;
}

export interface IamPolicyDocument {
  Version: "2012-10-17";
  Statement: Array<{ Sid: string; Effect: "Allow"; Action: string[]; Resource: string }>;
}

export function policyFor(opts: PolicyOptions = {}): IamPolicyDocument {
  const { strategy = "create-then-delete", account, partition = "aws", checkUserId = true } = opts;
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw usageError(
      `"${account}" is not an AWS account id`,
      "an account id is 12 digits, e.g. 123456789012",
    );
  }
  const actions = ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:DeleteAccessKey"];
  if (strategy === "graceful") actions.push("iam:UpdateAccessKey");
  if (checkUserId) actions.push("iam:GetUser");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RekeyRotateAccessKeys",
        Effect: "Allow",
        Action: actions,
        Resource: `arn:${partition}:iam::${account ?? "*"}:user/*`,
      },
    ],
  };
}

/** The policy as `rekey policy` prints it. */
export function policyJson(opts: PolicyOptions = {}): string {
  return `${JSON.stringify(policyFor(opts), null, 2)}\n`;
}
