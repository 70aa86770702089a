/** IAM actions on policies (inline and managed) and roles. */
import type { ActionContext, ActionHandler } from "./action-context.js";
import type { ResourceRef } from "./authorize.js";
import { malformedPolicyDocument, noSuchEntity } from "./errors.js";
import { userRef } from "./iam-user-actions.js";
import { policyXml, roleXml } from "./iam-xml.js";
import { type Account, policyArn, type Role, roleArn, type User } from "./model.js";
import { ParamReader, paginate, RULES } from "./params.js";
import { type PolicyDocument, parsePolicy } from "./policy-eval.js";
import { el, encodePolicyDocument, escapeXml, members, node } from "./query-protocol.js";
import type { SandboxState } from "./state.js";

function roleRef(state: SandboxState, account: Account, name: string): ResourceRef {
  const role = state.findRole(account, name);
  return { arn: role?.arn ?? roleArn(account.accountId, "/", name), label: `role ${name}` };
}

/** The named user, after authorizing `action` on it. */
function authorizedUser(ctx: ActionContext, name: string, action: string): User {
  ctx.authorize(action, userRef(ctx.state, ctx.principal.account, name));
  return ctx.state.getUser(ctx.principal.account, name);
}

function authorizedRole(ctx: ActionContext, name: string, action: string): Role {
  ctx.authorize(action, roleRef(ctx.state, ctx.principal.account, name));
  return ctx.state.getRole(ctx.principal.account, name);
}

/** IAM refuses a trust policy naming a user or role that does not exist (in the accounts we know). */
function checkTrustPrincipals(state: SandboxState, doc: PolicyDocument): void {
  for (const stmt of doc.statements) {
    for (const p of stmt.principal?.aws ?? []) {
      const m = /^arn:aws:iam::(\d{12}):(user|role)\/(?:.*\/)?([^/]+)$/.exec(p);
      const account = m && state.accounts.get(m[1]!);
      if (!m || !account) continue;
      const exists = m[2] === "user" ? state.findUser(account, m[3]!) : state.findRole(account, m[3]!);
      if (!exists) throw malformedPolicyDocument(`Invalid principal in policy: "AWS":"${p}"`);
    }
  }
}

const putUserPolicy: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const userName = r.string("UserName", { ...RULES.userName, required: true });
  const policyName = r.string("PolicyName", { ...RULES.policyName, required: true });
  const doc = r.string("PolicyDocument", { ...RULES.policyDocument, required: true });
  r.done();
  ctx.state.putInlinePolicy(authorizedUser(ctx, userName, "iam:PutUserPolicy"), policyName, doc);
  return undefined;
};

const getUserPolicy: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const userName = r.string("UserName", { ...RULES.userName, required: true });
  const policyName = r.string("PolicyName", { ...RULES.policyName, required: true });
  r.done();
  const user = authorizedUser(ctx, userName, "iam:GetUserPolicy");
  const policy = user.inlinePolicies.get(policyName);
  if (!policy) throw noSuchEntity(`The user policy with name ${policyName} cannot be found.`);
  return (
    el("UserName", user.userName) +
    el("PolicyName", policyName) +
    el("PolicyDocument", encodePolicyDocument(policy.text))
  );
};

const deleteUserPolicy: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const userName = r.string("UserName", { ...RULES.userName, required: true });
  const policyName = r.string("PolicyName", { ...RULES.policyName, required: true });
  r.done();
  ctx.state.deleteInlinePolicy(authorizedUser(ctx, userName, "iam:DeleteUserPolicy"), policyName);
  return undefined;
};

const listUserPolicies: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const userName = r.string("UserName", { ...RULES.userName, required: true });
  const marker = r.string("Marker", RULES.marker);
  const maxItems = r.int("MaxItems", { min: 1, max: 1000 });
  r.done();
  const user = authorizedUser(ctx, userName, "iam:ListUserPolicies");
  const page = paginate([...user.inlinePolicies.keys()], marker, maxItems);
  return (
    members("PolicyNames", page.page, escapeXml) +
    el("IsTruncated", page.isTruncated) +
    el("Marker", page.marker)
  );
};

const createPolicy: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const name = r.string("PolicyName", { ...RULES.policyName, required: true });
  const doc = r.string("PolicyDocument", { ...RULES.policyDocument, required: true });
  const path = r.string("Path", RULES.path) ?? "/";
  const description = r.string("Description", RULES.description);
  r.done();
  const account = ctx.principal.account;
  ctx.authorize("iam:CreatePolicy", {
    arn: policyArn(account.accountId, path, name),
    label: `policy ${name}`,
  });
  const policy = ctx.state.createPolicy(account, name, doc, {
    path,
    ...(description !== undefined ? { description } : {}),
  });
  return node("Policy", policyXml(policy, 0));
};

const getPolicy: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const arn = r.string("PolicyArn", { ...RULES.arn, required: true });
  r.done();
  ctx.authorize("iam:GetPolicy", { arn, label: `policy ${arn}` });
  const policy = ctx.state.resolvePolicy(ctx.principal.account, arn);
  return node("Policy", policyXml(policy, ctx.state.attachmentCount(arn)));
};

function attachParams(ctx: ActionContext, owner: "UserName" | "RoleName") {
  const r = new ParamReader(ctx.params);
  const name = r.string(owner, {
    ...(owner === "UserName" ? RULES.userName : RULES.roleName),
    required: true,
  });
  const arn = r.string("PolicyArn", { ...RULES.arn, required: true });
  r.done();
  return { name, arn };
}

const attachUserPolicy: ActionHandler = (ctx) => {
  const { name, arn } = attachParams(ctx, "UserName");
  ctx.state.attachPolicy(ctx.principal.account, authorizedUser(ctx, name, "iam:AttachUserPolicy"), arn);
  return undefined;
};

const detachUserPolicy: ActionHandler = (ctx) => {
  const { name, arn } = attachParams(ctx, "UserName");
  ctx.state.detachPolicy(authorizedUser(ctx, name, "iam:DetachUserPolicy"), arn);
  return undefined;
};

const listAttachedUserPolicies: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const userName = r.string("UserName", { ...RULES.userName, required: true });
  const marker = r.string("Marker", RULES.marker);
  const maxItems = r.int("MaxItems", { min: 1, max: 1000 });
  r.done();
  const user = authorizedUser(ctx, userName, "iam:ListAttachedUserPolicies");
  const account = ctx.principal.account;
  const page = paginate(user.attachedPolicies, marker, maxItems);
  const render = (arn: string) =>
    el("PolicyName", ctx.state.resolvePolicy(account, arn).policyName) + el("PolicyArn", arn);
  return (
    members("AttachedPolicies", page.page, render) +
    el("IsTruncated", page.isTruncated) +
    el("Marker", page.marker)
  );
};

const createRole: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const name = r.string("RoleName", { ...RULES.roleName, required: true });
  const trust = r.string("AssumeRolePolicyDocument", { ...RULES.policyDocument, required: true });
  const path = r.string("Path", RULES.path) ?? "/";
  const description = r.string("Description", RULES.description);
  const maxSessionDuration = r.int("MaxSessionDuration", { min: 3600, max: 43200 });
  r.done();
  const account = ctx.principal.account;
  ctx.authorize("iam:CreateRole", { arn: roleArn(account.accountId, path, name), label: `role ${name}` });
  checkTrustPrincipals(ctx.state, parsePolicy(trust, "trust"));
  const role = ctx.state.createRole(account, name, trust, {
    path,
    ...(description !== undefined ? { description } : {}),
    ...(maxSessionDuration !== undefined ? { maxSessionDuration } : {}),
  });
  return node("Role", roleXml(role, false));
};

const getRole: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const name = r.string("RoleName", { ...RULES.roleName, required: true });
  r.done();
  return node("Role", roleXml(authorizedRole(ctx, name, "iam:GetRole"), true));
};

const putRolePolicy: ActionHandler = (ctx) => {
  const r = new ParamReader(ctx.params);
  const roleName = r.string("RoleName", { ...RULES.roleName, required: true });
  const policyName = r.string("PolicyName", { ...RULES.policyName, required: true });
  const doc = r.string("PolicyDocument", { ...RULES.policyDocument, required: true });
  r.done();
  ctx.state.putInlinePolicy(authorizedRole(ctx, roleName, "iam:PutRolePolicy"), policyName, doc);
  return undefined;
};

const attachRolePolicy: ActionHandler = (ctx) => {
  const { name, arn } = attachParams(ctx, "RoleName");
  ctx.state.attachPolicy(ctx.principal.account, authorizedRole(ctx, name, "iam:AttachRolePolicy"), arn);
  return undefined;
};

export const policyActions: Record<string, ActionHandler> = {
  PutUserPolicy: putUserPolicy,
  GetUserPolicy: getUserPolicy,
  DeleteUserPolicy: deleteUserPolicy,
  ListUserPolicies: listUserPolicies,
  CreatePolicy: createPolicy,
  GetPolicy: getPolicy,
  AttachUserPolicy: attachUserPolicy,
  DetachUserPolicy: detachUserPolicy,
  ListAttachedUserPolicies: listAttachedUserPolicies,
  CreateRole: createRole,
  GetRole: getRole,
  PutRolePolicy: putRolePolicy,
  AttachRolePolicy: attachRolePolicy,
};
