/** Every IAM action the sandbox answers, by Query `Action` name. */
import type { ActionHandler } from "./action-context.js";
import { policyActions } from "./iam-policy-actions.js";
import { userActions } from "./iam-user-actions.js";

export const iamActions: Readonly<Record<string, ActionHandler>> = { ...userActions, ...policyActions };
