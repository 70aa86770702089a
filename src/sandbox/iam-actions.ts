/** Every IAM action the sandbox answers, by Query `Action` name. */
import type { ActionHandler } from "./action-context.js";
import { policyActions } from "./iam-policy-actions.js";
import { userActions } from "./iam-user-actions.js";

export const iamActions: Readonly<Record<string, ActionHandler>> = { ...userActions, ...policyActions };

/**
 * The IAM actions that change state: the ones the post-action faults (act-then-fail, late action)
 * hit, because losing the answer of a read loses nothing. Every other action is a Get or a List
 * (iam-actions.test.ts holds this list to that).
 */
export const MUTATING_IAM_ACTIONS: ReadonlySet<string> = new Set([
  "CreateUser",
  "DeleteUser",
  "CreateAccessKey",
  "UpdateAccessKey",
  "DeleteAccessKey",
  "PutUserPolicy",
  "DeleteUserPolicy",
  "CreatePolicy",
  "AttachUserPolicy",
  "DetachUserPolicy",
  "CreateRole",
  "PutRolePolicy",
  "AttachRolePolicy",
]);
